// The supply bundle's files: dist/supply.cjs and dist/supply-lazy.cjs, the packages it loads only
// on its slower paths (a download, a zip, a manifest to parse), which scripts/build.mjs splits off
// so that node parses 130 KB, not 410 KB, at every staging. The two travel together: the packager
// adds the second wherever include_files names the first, and `init` copies both.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PackagerError } from '../errors.js';
import type { IncludedFile } from './include-files.js';

export const SUPPLY_BUNDLE = 'dist/supply.cjs';
export const SUPPLY_LAZY = 'dist/supply-lazy.cjs';

/** The bundle's call that loads it (a pattern, not the call's text: this module's own bundles would read as requiring it). */
const NEEDS_LAZY = /\brequire\(["']\.\/supply-lazy\.cjs["']\)/;

/** Whether a supply bundle's text requires dist/supply-lazy.cjs (a bundle built before the split, or by the tests' helper, does not). */
export function bundleNeedsLazy(bundleText: string): boolean {
  return NEEDS_LAZY.test(bundleText);
}

/**
 * include_files with dist/supply-lazy.cjs added when dist/supply.cjs is in it and the other not:
 * a zip without it would stage from the app cache and fail on the first download. A bundle that
 * does not require it goes alone; one that does and has none beside it is refused here, not at
 * staging.
 */
export async function withBundleCompanion(dir: string, included: IncludedFile[]): Promise<IncludedFile[]> {
  const bundle = included.find((f) => f.path === SUPPLY_BUNDLE);
  if (!bundle || included.some((f) => f.path === SUPPLY_LAZY)) return included;
  const localPath = path.join(dir, ...SUPPLY_LAZY.split('/'));
  if (await fs.stat(localPath).then((st) => st.isFile(), () => false)) return [...included, { path: SUPPLY_LAZY, localPath, mode: 0o644 }];
  if (bundleNeedsLazy(await fs.readFile(bundle.localPath, 'utf8'))) {
    throw new PackagerError(`${SUPPLY_BUNDLE} needs ${SUPPLY_LAZY} beside it, and ${dir} has none: copy both from the toolkit (sidecar-buildpack init writes them)`, 'BUNDLE_INCOMPLETE');
  }
  return included;
}
