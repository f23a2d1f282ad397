// Typed accessors over the plain data readYaml returns (strings, null, arrays, objects). Each
// failure is a ManifestError naming the file and the key path, e.g. `dependencies[2].sha256`.

import { ManifestError } from '../errors.js';

export type Data = Record<string, unknown>;

/** Reads fields of one manifest file; `fail` throws a ManifestError for that file. */
export class FieldReader {
  constructor(readonly file: string) {}

  fail(path: string, reason: string): never {
    throw new ManifestError(this.file, path || undefined, reason);
  }

  /** A mapping, or undefined when the value is absent/empty. */
  optMap(value: unknown, path: string): Data | undefined {
    if (value === null || value === undefined) return undefined;
    if (!isData(value)) this.fail(path, `must be a mapping (key: value), got ${describe(value)}`);
    return value;
  }

  map(value: unknown, path: string): Data {
    const m = this.optMap(value, path);
    if (m === undefined) this.fail(path, 'is required');
    return m;
  }

  /** A list; a key with no value means an empty list (as libbuildpack reads it). */
  list(value: unknown, path: string): unknown[] {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) this.fail(path, `must be a list, got ${describe(value)}`);
    return value;
  }

  /** A scalar string, or undefined when absent/empty. */
  optString(value: unknown, path: string): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(path, `must be a string, got ${describe(value)}`);
    return value;
  }

  /** A non-empty scalar string. */
  string(value: unknown, path: string): string {
    const s = this.optString(value, path);
    if (s === undefined || s === '') this.fail(path, 'is required');
    return s;
  }

  stringList(value: unknown, path: string): string[] {
    return this.list(value, path).map((item, i) => {
      if (typeof item !== 'string') this.fail(`${path}[${i}]`, `must be a string, got ${describe(item)}`);
      return item;
    });
  }

  /** A whole number within [min, max] written as digits; undefined when absent. */
  optInt(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const s = this.optString(value, path);
    if (s === undefined) return undefined;
    const n = parseWholeNumber(s);
    if (n === undefined) this.fail(path, `must be a whole number, got ${JSON.stringify(s)}`);
    if (n < min || n > max) {
      this.fail(path, max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}, got ${n}` : `must be between ${min} and ${max}, got ${n}`);
    }
    return n;
  }

  /** Refuse keys outside `allowed`: a typo in our own sections must not be silently ignored. */
  onlyKeys(m: Data, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(m)) {
      if (!allowed.includes(key)) {
        this.fail(path ? `${path}.${key}` : key, `unknown key (allowed: ${allowed.join(', ')})`);
      }
    }
  }
}

/** Digits only (no sign, no exponent, no leading zeros beyond "0"), within the safe range. */
export function parseWholeNumber(s: string): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function isData(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isData(value)) return 'a mapping';
  if (value === null || value === undefined) return 'nothing';
  return JSON.stringify(value);
}
