// Test helper: the project's shared/ directory (CONTRACT.md, compat/ corpus), found one way:
// `../shared` beside the repository this file belongs to, as the workspace and CI lay it out.
// Never a machine path and no environment override: a test in a clone elsewhere reads that
// clone's neighbour, or fails saying where it looked, instead of silently reading another copy.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository's root directory (two levels above test/helpers/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `<repo>/../shared`. */
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');

/** `<repo>/../shared/compat`: libbuildpack's and the platform's compatibility corpus. */
export const COMPAT_DIR = path.join(SHARED_DIR, 'compat');

/** COMPAT_DIR as a directory URL (trailing slash), for `new URL('file.json', COMPAT_URL)`. */
export const COMPAT_URL = pathToFileURL(`${COMPAT_DIR}${path.sep}`);

if (!existsSync(COMPAT_DIR)) {
  throw new Error(`the shared corpus is not where the tests look for it: ${COMPAT_DIR} (shared/ must sit beside the repository ${REPO_ROOT})`);
}

/** A path inside shared/compat. */
export function compatPath(...parts: string[]): string {
  return path.join(COMPAT_DIR, ...parts);
}
