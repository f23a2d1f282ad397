// libbuildpack's BUILDPACK_METADATA in the app cache: which buildpack (language, VERSION) staged
// this app last, so a changed buildpack version is called out in the staging log.
// Written as JSON (a YAML document too, as libbuildpack's YAML reader takes it) so that staging
// reads it without loading a YAML parser; a file in YAML's block style (written by an earlier
// version of this toolkit, or by libbuildpack) is still read, with the parser loaded for it.

import path from 'node:path';
import { writeFileAtomic } from '../depsdir/atomic.js';
import { readTextOrNone, statOrNone } from '../sync-fs.js';

const FILE = 'BUILDPACK_METADATA';

async function parseMetadata(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    const { parse } = await import('yaml');
    return parse(text);
  }
}

/**
 * The warning to print when the app was last staged by another version of this buildpack
 * (`buildpack version changed from <old> to <new>`); nothing for another language, the same
 * version, or no metadata at all.
 */
export async function checkBuildpackVersion(cacheDir: string, language: string, version: string): Promise<string | undefined> {
  const text = readTextOrNone(path.join(cacheDir, FILE));
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = await parseMetadata(text);
  } catch {
    return undefined; // a damaged cache file is overwritten at the end of this staging
  }
  const old = (doc ?? {}) as { language?: unknown; version?: unknown };
  if (String(old.language ?? '') !== language || old.version === undefined) return undefined;
  const oldVersion = String(old.version);
  return oldVersion !== version ? `buildpack version changed from ${oldVersion} to ${version}` : undefined;
}

/** Record this staging's language and version; only into an existing cache dir, and only with a VERSION. */
export async function storeBuildpackMetadata(cacheDir: string, language: string, version: string): Promise<void> {
  if (!version) return;
  if (!statOrNone(cacheDir)?.isDirectory()) return;
  await writeFileAtomic(path.join(cacheDir, FILE), `${JSON.stringify({ language, version })}\n`);
}
