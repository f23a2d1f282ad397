// Credential redaction for URIs shown in logs and errors (CONTRACT §4: `user:password@`
// becomes `-redacted-:-redacted-@`).

// Greedy up to the authority's *last* `@`, as URL parsers split it: a password holding a raw `@`
// (`user:p@ss@host`) must not leave its tail in the log.
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#\\\s]*)@/i;

/** Replace any userinfo part of a URI with `-redacted-:-redacted-`. Non-URIs are returned as is. */
export function redactUri(uri: string): string {
  return uri.replace(USERINFO, (_m, scheme: string) => `${scheme}-redacted-:-redacted-@`);
}

/** Redact every URI with credentials that appears anywhere inside a longer text. */
export function redactText(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\\\s]*)@/gi, (_m, scheme: string) => `${scheme}-redacted-:-redacted-@`);
}
