// Turns a buildpack given as a directory or a zip into a directory with `bin/`, found as the
// builder finds it: at the root, or inside the one top-level folder (CONTRACT §1).

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { extractZip } from './unzip.js';

/** A buildpack ready to run: its key (as given) and the directory holding `bin/`. */
export interface ResolvedBuildpack {
  key: string;
  dir: string;
}

async function hasBin(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, 'bin'));
    return true;
  } catch {
    return false;
  }
}

/** The builder's message for a buildpack without `bin/`. */
export function malformedMessage(key: string): string {
  return `malformed buildpack does not contain a /bin dir: ${key}`;
}

/**
 * Locate the buildpack root of `source` (a dir, or a zip extracted into `scratch`). Returns
 * undefined when neither the root nor a single top-level folder holds `bin/`.
 */
export async function resolveBuildpack(source: string, scratch: string): Promise<ResolvedBuildpack | undefined> {
  let dir = path.resolve(source);
  if (source.toLowerCase().endsWith('.zip') && (await stat(dir)).isFile()) {
    await extractZip(dir, scratch);
    dir = scratch;
  }
  if (await hasBin(dir)) return { key: source, dir };
  const entries = await readdir(dir);
  if (entries.length === 1) {
    const nested = path.join(dir, entries[0]);
    if (await hasBin(nested)) return { key: source, dir: nested };
  }
  return undefined;
}
