// Proxy selection from the staging environment (CONTRACT §1: HTTP_PROXY / HTTPS_PROXY / NO_PROXY,
// upper or lower case): which proxy, if any, a request to a URL goes through.

/** The proxy URL to use for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: Record<string, string | undefined> = {}): URL | undefined {
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v.trim() !== '');
  if (bypassed(url, pick('NO_PROXY', 'no_proxy') ?? '')) return undefined;
  const raw = url.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy') : url.protocol === 'http:' ? pick('HTTP_PROXY', 'http_proxy') : undefined;
  if (raw === undefined) return undefined;
  // `proxy:3128` without a scheme means plain http, as curl and Go read it.
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim()) ? raw.trim() : `http://${raw.trim()}`);
}

/**
 * NO_PROXY: comma-separated `*`, host names (matching the host and its subdomains, with or without
 * a leading dot), `host:port`, or exact IP addresses. Loopback is proxied unless listed (curl's
 * reading), so a proxy can be exercised against 127.0.0.1.
 */
function bypassed(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*?):(\d+)$/.exec(entry);
    if (m && !entry.startsWith('[') && m[1].split(':').length === 1) {
      entry = m[1];
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}
