// manifest.yml as an editable YAML Document: the packager and `dependency add` change a few keys
// and must keep everything else (comments, key order, unknown sections such as `sidecars:`).

import YAML, { Document, isMap, isScalar, isSeq, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { ManifestError } from '../errors.js';

/** A manifest document plus what is needed to print it back in its own layout. */
export interface ManifestDocument {
  file: string;
  doc: Document.Parsed;
  /** Whether block sequences are indented under their key (`key:\n  - x`) in the source. */
  indentSeq: boolean;
  /** The text as read, and as the YAML library prints it unedited: see renderManifestDocument. */
  source: string;
  pristine: string;
}

/**
 * Parse manifest text for editing. The failsafe schema keeps every scalar a string exactly as
 * written (`1.10` stays `1.10`, dates stay text), as libbuildpack reads them.
 */
export function parseManifestDocument(text: string, file: string): ManifestDocument {
  const doc = YAML.parseDocument(text, { schema: 'failsafe', prettyErrors: false });
  if (doc.errors.length > 0) throw new ManifestError(file, undefined, `invalid YAML: ${doc.errors[0].message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new ManifestError(file, undefined, 'the document is not a mapping');
  // A top-level `- ` line means the file writes sequences flush with their key.
  const indentSeq = !/^- /m.test(text) && /^\s+- /m.test(text);
  const m = { file, doc, indentSeq, source: text, pristine: '' };
  m.pristine = print(m);
  return m;
}

function print(m: Pick<ManifestDocument, 'doc' | 'indentSeq'>): string {
  // lineWidth 0: long lines are never folded (URIs and hashes stay on one line)
  return m.doc.toString({ indentSeq: m.indentSeq, lineWidth: 0 });
}

/**
 * Print the document back. The YAML library normalises a little (spaces before a trailing
 * comment, quoting style); so the edit is computed as a line diff between the unedited and the
 * edited print, and applied to the original text: lines the edit did not touch stay byte for byte.
 */
export function renderManifestDocument(m: ManifestDocument): string {
  return applyLineEdit(m.source, m.pristine, print(m));
}

/** Largest diff table tried before falling back to the library's print (memory bound). */
const MAX_DIFF_CELLS = 4_000_000;

/** `after` with `before`'s unchanged lines taken from `original` (same line count as `before`). */
export function applyLineEdit(original: string, before: string, after: string): string {
  const o = original.split('\n');
  const a = before.split('\n');
  const b = after.split('\n');
  if (o.length !== a.length) return after;
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const n = a.length - head - tail;
  const k = b.length - head - tail;
  if ((n + 1) * (k + 1) > MAX_DIFF_CELLS) return after;
  // longest common subsequence of the changed middles
  const lcs = new Uint32Array((n + 1) * (k + 1));
  const at = (i: number, j: number): number => i * (k + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = k - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[head + i] === b[head + j] ? lcs[at(i + 1, j + 1)] + 1 : Math.max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  const out = o.slice(0, head);
  let i = 0;
  let j = 0;
  while (i < n || j < k) {
    if (i < n && j < k && a[head + i] === b[head + j]) {
      out.push(o[head + i]);
      i++;
      j++;
    } else if (j < k && (i === n || lcs[at(i, j + 1)] >= lcs[at(i + 1, j)])) {
      out.push(b[head + j]);
      j++;
    } else {
      i++;
    }
  }
  out.push(...o.slice(o.length - tail));
  return out.join('\n');
}

/** The top-level map (created when the document is empty). */
export function rootMap(m: ManifestDocument): YAMLMap {
  if (!isMap(m.doc.contents)) m.doc.contents = new YAMLMap() as never;
  return m.doc.contents as YAMLMap;
}

/** A top-level sequence, or undefined when absent or empty (`key:` with no value). */
export function topSeq(m: ManifestDocument, key: string): YAMLSeq | undefined {
  const node = rootMap(m).get(key, true);
  if (node === undefined || node === null) return undefined;
  if (isScalar(node) && (node.value === '' || node.value === null)) return undefined;
  if (!isSeq(node)) throw new ManifestError(m.file, key, 'must be a list');
  return node;
}

/** The string value of `key` in a map node; '' when absent or not a scalar. */
export function scalarOf(map: unknown, key: string): string {
  if (!isMap(map)) return '';
  const node = map.get(key, true);
  return isScalar(node) && node.value !== null ? String(node.value) : '';
}

/** The string items of a list `key` in a map node (`[a, b]` or block form); [] when absent. */
export function listOf(map: unknown, key: string): string[] {
  if (!isMap(map)) return [];
  const node = map.get(key, true);
  if (isSeq(node)) return node.items.map((i) => (isScalar(i) ? String(i.value) : '')).filter((s) => s !== '');
  if (isScalar(node) && node.value !== '' && node.value !== null) return [String(node.value)];
  return [];
}

/**
 * A scalar node for `value` that reads back as the same string under the core schema: quoted
 * when a plain scalar would be a number, boolean, null or date (an all-digit version like `80`).
 */
export function stringNode(value: string): Scalar {
  const node = new Scalar(value);
  let plainIsString = false;
  try {
    plainIsString = typeof YAML.parse(value, { version: '1.1' }) === 'string' && typeof YAML.parse(value) === 'string';
  } catch {
    plainIsString = false;
  }
  if (!plainIsString || value === '' || value.trim() !== value) node.type = Scalar.QUOTE_DOUBLE;
  return node;
}
