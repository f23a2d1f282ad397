// Block-style YAML for the small documents supply writes at every staging (launch.yml,
// config.yml): plain data only (maps with string keys, lists, strings, integers, booleans, null).
// Written here, not by the yaml library, because staging never needs that library otherwise:
// loading it and its first stringify cost about 15 ms of every staging (bench/README.md,
// "Where staging's fixed cost goes"), more than the rest of writing the deps dir.
//
// Every reader that matters must get the same data back: the builder's yaml.v2 (YAML 1.1) and
// YAML 1.2 parsers alike. So a string is written plain only when no YAML version can read it as
// anything but that string (it starts with a letter and holds only letters, digits and `_ . / -`,
// and is none of YAML 1.1's booleans or null); every other string is double-quoted with JSON's
// escapes (a subset of YAML's), plus escapes for what JSON leaves raw and YAML may not hold raw:
// DEL and the C1 controls (yaml.v2 refuses them), NEL, LINE and PARAGRAPH SEPARATOR (line breaks
// to YAML 1.1, which would fold them) and the byte-order mark.

/** What emitYaml writes (numbers: integers and plain decimals). */
export type YamlData = string | number | boolean | null | YamlData[] | { [key: string]: YamlData };

const PLAIN = /^[A-Za-z][A-Za-z0-9_./-]*$/;
/** YAML 1.1's boolean and null words (yaml.v2 resolves these), in any case. */
const RESOLVED_WORDS = /^(y|yes|n|no|true|false|on|off|null)$/i;
const RAW_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** A string as a YAML scalar that every YAML reader takes back as exactly this string. */
export function yamlScalar(s: string): string {
  if (PLAIN.test(s) && !RESOLVED_WORDS.test(s)) return s;
  // JSON.stringify escapes `"`, `\`, the C0 controls and lone surrogates, all as YAML does
  return JSON.stringify(s).replace(RAW_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalar(v: YamlData): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'string') return yamlScalar(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    // integers, and decimals YAML 1.1 reads as floats too (a dot, no exponent)
    const text = String(v);
    if (Number.isSafeInteger(v) || (Number.isFinite(v) && /^-?[0-9]+\.[0-9]+$/.test(text))) return text;
    throw new TypeError(`emitYaml: cannot write the number ${text} so that every YAML reader reads it back`);
  }
  if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
  if (typeof v === 'object') return Object.keys(v).length === 0 ? '{}' : undefined;
  throw new TypeError(`emitYaml: cannot write a ${typeof v}`);
}

function lines(v: YamlData, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = scalar(item);
      if (s !== undefined) {
        out.push(`${indent}- ${s}`);
        continue;
      }
      // the item's first line goes after the dash; the rest are indented to line up with it
      const nested: string[] = [];
      lines(item, '', nested);
      out.push(`${indent}- ${nested[0]}`);
      for (const l of nested.slice(1)) out.push(`${indent}  ${l}`);
    }
    return;
  }
  for (const [key, value] of Object.entries(v as Record<string, YamlData>)) {
    if (value === undefined) continue;
    const s = scalar(value);
    if (s !== undefined) out.push(`${indent}${yamlScalar(key)}: ${s}`);
    else {
      out.push(`${indent}${yamlScalar(key)}:`);
      lines(value, `${indent}  `, out);
    }
  }
}

/** The document, ending in a newline. The top level is a map. */
export function emitYaml(doc: { [key: string]: YamlData }): string {
  const out: string[] = [];
  const s = scalar(doc);
  if (s !== undefined) return `${s}\n`;
  lines(doc, '', out);
  return `${out.join('\n')}\n`;
}
