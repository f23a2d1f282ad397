// Test helpers for the packager and CLI tests: temp dirs, the libbuildpack packager fixtures of
// shared/compat rebuilt as real directories, and zip readers (yauzl and `unzip -Z`).

import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { COMPAT_DIR } from '../helpers/shared.js';

export const COMPAT = COMPAT_DIR;

interface FixtureSpec {
  manifest: string;
  files: Record<string, string>;
  symlinks?: Record<string, string>;
  prePackage?: string;
}

export interface PackagerCases {
  fixtures: Record<string, FixtureSpec>;
  cases: Array<Record<string, any>>;
}

export const packagerCases: PackagerCases = JSON.parse(readFileSync(path.join(COMPAT, 'packager-cases.json'), 'utf8'));

/** A fresh directory under os.tmpdir(); `cleanup()` removes every one made so far. */
const made: string[] = [];
export async function tmpDir(prefix = 'sbp-test-'): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
export async function cleanup(): Promise<void> {
  while (made.length > 0) await fs.rm(made.pop()!, { recursive: true, force: true });
}

/** Write a file map under `dir` (parents created). */
export async function writeFiles(dir: string, files: Record<string, string | Buffer>, mode?: number): Promise<void> {
  for (const [rel, contents] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, contents);
    if (mode !== undefined) await fs.chmod(p, mode);
  }
}

/**
 * A buildpack directory for a packager-cases fixture: its manifest as manifest.yml, its files,
 * `hi.sh` (the fixture's pre_package, which writes hi.txt) and its symlinks to directories.
 */
export async function makeFixture(name: string, edit?: (manifest: string) => string): Promise<string> {
  const spec = packagerCases.fixtures[name];
  const dir = await tmpDir(`sbp-${name}-`);
  let manifest = readFileSync(path.join(COMPAT, spec.manifest), 'utf8');
  if (edit) manifest = edit(manifest);
  await writeFiles(dir, { 'manifest.yml': manifest, ...spec.files });
  if (spec.prePackage) {
    await writeFiles(dir, { 'hi.sh': "#!/bin/sh\necho 'hi mom' > hi.txt\n" }, 0o755);
  }
  for (const link of Object.keys(spec.symlinks ?? {})) {
    await fs.mkdir(path.join(dir, 'real_dir'), { recursive: true });
    await fs.writeFile(path.join(dir, 'real_dir', 'linked.txt'), 'through a symlink');
    await fs.symlink('real_dir', path.join(dir, link));
  }
  return dir;
}

export interface ZipItem {
  data: Buffer;
  /** Unix mode bits from the external attributes. */
  mode: number;
}

/** Every entry of a zip, in archive order. */
export async function readZip(file: string): Promise<Map<string, ZipItem>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out = new Map<string, ZipItem>();
  try {
    const entries: yauzl.Entry[] = await new Promise((resolve, reject) => {
      const all: yauzl.Entry[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        all.push(e);
        zip.readEntry();
      });
      zip.on('end', () => resolve(all));
      zip.on('error', reject);
      zip.readEntry();
    });
    for (const entry of entries) {
      const stream = await zip.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      out.set(entry.fileName, { data: Buffer.concat(chunks), mode: (entry.externalFileAttributes >>> 16) & 0o7777 });
    }
  } finally {
    zip.close();
  }
  return out;
}

/** `unzip -Z` (zipinfo) rows: name → permission string such as `-rwxr-xr-x`. */
export function zipinfoModes(file: string): Map<string, string> {
  const r = spawnSync('unzip', ['-Z', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`unzip -Z failed: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([-dl][rwx-]{9})\s+\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

/** `unzip -t`: true when the archive tests clean. */
export function unzipTestsClean(file: string): boolean {
  return spawnSync('unzip', ['-tq', file], { encoding: 'utf8' }).status === 0;
}
