// The packaged manifest (CONTRACT §5): top-level `stack:`, dependencies filtered to the stack,
// `cf_stacks` dropped, and for cached zips a `file:` per entry — edited on the YAML Document so
// comments and unknown sections (`sidecars:`) survive.

import { isMap, Pair, Scalar } from 'yaml';
import { PackagerError } from '../errors.js';
import { listOf, rootMap, scalarOf, stringNode, topSeq, type ManifestDocument } from './manifest-doc.js';

/** libbuildpack's wording for a manifest that already carries a top-level `stack:`. */
export const ALREADY_PACKAGED = 'Cannot package from already packaged buildpack manifest';

/** Throw when the manifest was already packaged (has a non-empty top-level `stack:`). */
export function assertNotPackaged(m: ManifestDocument): void {
  if (scalarOf(rootMap(m), 'stack') !== '') throw new PackagerError(ALREADY_PACKAGED, 'ALREADY_PACKAGED');
}

/**
 * Indexes (into `dependencies:`) of the entries that go into a zip for `stack`; every entry when
 * `stack` is '' (any stack).
 */
export function dependencyIndexesForStack(m: ManifestDocument, stack: string): number[] {
  const seq = topSeq(m, 'dependencies');
  if (!seq) return [];
  const out: number[] = [];
  seq.items.forEach((item, i) => {
    if (stack === '' || listOf(item, 'cf_stacks').includes(stack)) out.push(i);
  });
  return out;
}

/**
 * Rewrite `m` in place for a zip: keep the entries at `keep`, set `file:` on those in `files`
 * (cached zips), and with a stack add `stack:` and drop each kept entry's `cf_stacks`.
 */
export function rewriteForPackaging(m: ManifestDocument, stack: string, keep: number[], files: Map<number, string> = new Map()): void {
  const root = rootMap(m);
  const seq = topSeq(m, 'dependencies');
  if (seq) {
    const kept = keep.map((i) => seq.items[i]);
    keep.forEach((index, k) => {
      const item = kept[k];
      if (!isMap(item)) return;
      if (stack !== '') item.delete('cf_stacks');
      const file = files.get(index);
      if (file !== undefined) item.set('file', stringNode(file));
    });
    seq.items = kept;
  }
  if (stack !== '') {
    // Put `stack:` right after `language:` so a reader sees both first.
    const pair = new Pair(new Scalar('stack'), stringNode(stack));
    root.delete('stack');
    const at = root.items.findIndex((p) => String((p.key as Scalar | null)?.value ?? p.key) === 'language');
    root.items.splice(at + 1, 0, pair);
  }
}
