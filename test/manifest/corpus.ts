// Test helper: reads the compatibility corpus in ../shared/compat (resolved from this file) and
// builds throw-away buildpack directories from its manifests.

import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPAT_DIR } from '../helpers/shared.js';

export { COMPAT_DIR };

export function corpusJson<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(COMPAT_DIR, name), 'utf8')) as T;
}

export function corpusText(relPath: string): string {
  return readFileSync(join(COMPAT_DIR, relPath), 'utf8');
}

export interface BuildpackDirOptions {
  versionFile?: string;
  dependenciesDir?: boolean;
  files?: Record<string, string>;
}

/** A temp dir holding `manifest.yml` (and optionally VERSION, dependencies/, more files). */
export async function makeBuildpackDir(manifestText: string, opts: BuildpackDirOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'manifest-test-'));
  await writeFile(join(dir, 'manifest.yml'), manifestText);
  if (opts.versionFile) await writeFile(join(dir, 'VERSION'), await readFile(join(COMPAT_DIR, opts.versionFile)));
  if (opts.dependenciesDir) await mkdir(join(dir, 'dependencies'));
  for (const [p, content] of Object.entries(opts.files ?? {})) await writeFile(join(dir, p), content);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
