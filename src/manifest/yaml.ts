// Safe YAML reading for manifests: every scalar stays a string (as libbuildpack's Go string fields
// read it), empty values become null, and alias bombs, duplicate keys and oversized input are refused.

import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import { ManifestError } from '../errors.js';
import { MAX_MANIFEST_BYTES, tooLarge } from './read.js';

export { MAX_MANIFEST_BYTES, tooLarge } from './read.js';

/** Most alias expansions accepted: legitimate manifests use few or none; bombs use thousands. */
export const MAX_ALIAS_COUNT = 100;

/** The plain scalars YAML's core schema reads as null: libbuildpack gets "" (absent) for these. */
const NULL_PLAIN = new Set(['', '~', 'null', 'Null', 'NULL']);

export interface ReadYamlOptions {
  maxBytes?: number;
  maxAliasCount?: number;
}

/**
 * Parse one YAML document into plain data: strings, null, arrays and objects only.
 * Throws ManifestError(file, keyPath?, reason) for syntax errors, duplicate keys, non-string
 * keys, more than one document, too many aliases or more than `maxBytes` of input.
 */
export function readYaml(text: string, file: string, options: ReadYamlOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new ManifestError(file, undefined, tooLarge(bytes, maxBytes));

  // failsafe: no implicit typing at all, so `1.10` stays "1.10" and dates stay "2018-04-01".
  // uniqueKeys is off because our own walk reports duplicates with their key path.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false, merge: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ManifestError(file, undefined, `invalid YAML at line ${line}, column ${col}: ${firstLine(first.message)}`, { cause: first });
  }
  checkNode(doc.contents as Node | null, '', file);
  try {
    return doc.toJS({ maxAliasCount: options.maxAliasCount ?? MAX_ALIAS_COUNT }) ?? null;
  } catch (e) {
    if (e instanceof ReferenceError) {
      throw new ManifestError(file, undefined, `too many YAML aliases (more than ${options.maxAliasCount ?? MAX_ALIAS_COUNT} expansions): refusing a possible alias bomb`, { cause: e });
    }
    throw new ManifestError(file, undefined, `invalid YAML: ${(e as Error).message}`, { cause: e });
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

/** Walk the AST once: null-out empty plain scalars, check keys are unique strings. */
function checkNode(node: Node | null, path: string, file: string): void {
  if (node === null || isAlias(node)) return;
  if (isScalar(node)) {
    if (node.type === 'PLAIN' && typeof node.source === 'string' && NULL_PLAIN.has(node.source)) node.value = null;
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => checkNode(item as Node | null, `${path}[${i}]`, file));
    return;
  }
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key;
      if (!isScalar(key) || (key.value !== null && typeof key.value !== 'string')) {
        throw new ManifestError(file, path || undefined, 'mapping keys must be plain strings');
      }
      const name = String(key.value ?? '');
      if (name === '<<' && !(key.type === 'QUOTE_DOUBLE' || key.type === 'QUOTE_SINGLE')) {
        checkNode(pair.value as Node | null, path, file);
        continue;
      }
      const childPath = path ? `${path}.${name}` : name;
      if (seen.has(name)) throw new ManifestError(file, childPath, `duplicate key "${name}"`);
      seen.add(name);
      checkNode(pair.value as Node | null, childPath, file);
    }
  }
}
