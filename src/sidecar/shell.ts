// POSIX shell quoting: every value that comes from a manifest or an app developer is rendered as
// inert data, never as code.

/** Quote `value` as one POSIX shell word: 'it'\''s' style. */
export function shQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A valid environment variable name for the shell. */
export function isShellIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
