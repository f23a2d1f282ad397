// `dependency add|update`: write a dependency entry (and optionally its default version) into
// manifest.yml through the YAML Document, so comments, key order and layout stay as they were.

import { isMap, isScalar, isSeq, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { PackagerError } from '../errors.js';
import { listOf, rootMap, scalarOf, stringNode, type ManifestDocument } from './manifest-doc.js';
import { HEAD_BYTES_KEY, HEAD_SHA256_KEY } from './runtime-table.js';

/** The facts of one entry as the command line gives them. */
export interface DependencyEntry {
  name: string;
  version: string;
  uri: string;
  sha256: string;
  /** Stacks for `cf_stacks`; [] lets the edit choose (see upsertDependency). */
  cf_stacks: string[];
  /** The staging runtime's head (runtime-head.ts), for a `node` entry whose archive has one. */
  head?: { bytes: number; sha256: string };
}

/** Record the entry's head, or remove a head recorded for the archive it had before. */
function setHead(map: YAMLMap, entry: DependencyEntry): void {
  if (entry.head) {
    // a plain scalar: a number to the core schema, the digits to failsafe (this document's)
    const bytes = new Scalar(String(entry.head.bytes));
    bytes.type = 'PLAIN';
    map.set(HEAD_BYTES_KEY, bytes);
    map.set(HEAD_SHA256_KEY, stringNode(entry.head.sha256));
  } else {
    map.delete(HEAD_BYTES_KEY);
    map.delete(HEAD_SHA256_KEY);
  }
}

/** The stack a new entry gets when neither --stack nor an existing entry says otherwise. */
export const DEFAULT_STACK = 'cflinuxfs4';

/** A top-level list, created (block style) when absent, empty (`key:`) or an empty flow list. */
function ensureSeq(m: ManifestDocument, key: string): YAMLSeq {
  const root = rootMap(m);
  const node = root.get(key, true);
  if (isSeq(node)) {
    if (node.items.length === 0) node.flow = false;
    return node;
  }
  if (node !== undefined && !(isScalar(node) && (node.value === '' || node.value === null))) {
    throw new PackagerError(`${m.file}: ${key} must be a list`, 'MANIFEST_INVALID');
  }
  const seq = new YAMLSeq();
  root.set(key, seq);
  return seq;
}

function stackSeq(stacks: string[]): YAMLSeq {
  const seq = new YAMLSeq();
  for (const s of stacks) seq.items.push(stringNode(s));
  return seq;
}

function overlaps(a: string[], b: string[]): boolean {
  return a.some((x) => b.includes(x));
}

/**
 * Add (`mode` 'add') or replace (`mode` 'update') the entry of `entry.name`. Add refuses an
 * existing name+version for the same stacks; update needs exactly one entry of the name for
 * the stacks given (or of the name at all when none are given). Returns the stacks written.
 */
export function upsertDependency(m: ManifestDocument, entry: DependencyEntry, mode: 'add' | 'update'): string[] {
  const seq = ensureSeq(m, 'dependencies');
  const sameName = seq.items.filter((i): i is YAMLMap => isMap(i) && scalarOf(i, 'name') === entry.name);
  const knownStacks = [...new Set(sameName.flatMap((i) => listOf(i, 'cf_stacks')))];

  if (mode === 'add') {
    const stacks = entry.cf_stacks.length > 0 ? entry.cf_stacks : knownStacks.length > 0 ? knownStacks : [DEFAULT_STACK];
    const clash = sameName.find((i) => scalarOf(i, 'version') === entry.version && overlaps(listOf(i, 'cf_stacks'), stacks));
    if (clash) {
      throw new PackagerError(
        `${m.file}: ${entry.name} ${entry.version} is already listed for ${listOf(clash, 'cf_stacks').join(', ')}: use \`dependency update\` to change it`,
        'DEPENDENCY_EXISTS',
      );
    }
    const map = new YAMLMap();
    map.set('name', stringNode(entry.name));
    map.set('version', stringNode(entry.version));
    map.set('uri', stringNode(entry.uri));
    map.set('sha256', stringNode(entry.sha256));
    map.set('cf_stacks', stackSeq(stacks));
    setHead(map, entry);
    // next to the other versions of the same dependency, else at the end
    const last = sameName.length > 0 ? seq.items.lastIndexOf(sameName[sameName.length - 1]) : seq.items.length - 1;
    seq.items.splice(last + 1, 0, map);
    return stacks;
  }

  const candidates = entry.cf_stacks.length > 0 ? sameName.filter((i) => overlaps(listOf(i, 'cf_stacks'), entry.cf_stacks)) : sameName;
  const forStacks = entry.cf_stacks.length > 0 ? ` for ${entry.cf_stacks.join(', ')}` : '';
  if (candidates.length === 0) {
    throw new PackagerError(`${m.file}: no ${entry.name} entry${forStacks} to update: use \`dependency add\``, 'DEPENDENCY_MISSING');
  }
  if (candidates.length > 1) {
    const listed = candidates.map((i) => `${scalarOf(i, 'version')} (${listOf(i, 'cf_stacks').join(', ') || 'no stacks'})`).join(', ');
    throw new PackagerError(`${m.file}: ${candidates.length} ${entry.name} entries${forStacks} could be updated (${listed}): pick one with --stack`, 'DEPENDENCY_AMBIGUOUS');
  }
  const target = candidates[0];
  target.set('version', stringNode(entry.version));
  target.set('uri', stringNode(entry.uri));
  target.set('sha256', stringNode(entry.sha256));
  if (entry.cf_stacks.length > 0) target.set('cf_stacks', stackSeq(entry.cf_stacks));
  setHead(target, entry);
  // provenance of the old version would now be wrong
  target.delete('source');
  target.delete('source_sha256');
  return listOf(target, 'cf_stacks');
}

/** Make `version` the default of `name` (`default_versions`), replacing its existing entry. */
export function setDefaultVersion(m: ManifestDocument, name: string, version: string): void {
  const seq = ensureSeq(m, 'default_versions');
  const existing = seq.items.filter((i): i is YAMLMap => isMap(i) && scalarOf(i, 'name') === name);
  if (existing.length > 0) {
    existing[0].set('version', stringNode(version));
    // libbuildpack wants exactly one default per name
    seq.items = seq.items.filter((i) => !existing.slice(1).includes(i as YAMLMap));
    return;
  }
  const map = new YAMLMap();
  map.set('name', stringNode(name));
  map.set('version', stringNode(version));
  seq.items.push(map);
}
