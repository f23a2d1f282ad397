// Benchmark inputs, generated on each run (nothing large is committed): `.tgz` archives of random,
// incompressible data, their sha256, and a staging runtime of real size (this node's binary).

import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

const MiB = 1024 * 1024;

/** sha256 hex of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Write `bytes` random bytes to `file` (1 MiB at a time: memory stays flat for any size). */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(Math.min(MiB, Math.max(bytes, 1)));
    for (let left = bytes; left > 0; left -= buf.length) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      await handle.write(buf, 0, n);
    }
  } finally {
    await handle.close();
  }
}

function sh(script: string, args: string[]): void {
  const r = spawnSync('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`sh -c ${script} failed: ${r.stderr?.toString() ?? r.status}`);
}

/** A generated archive: where it is, its digest and size. */
export interface GeneratedArchive {
  file: string;
  sha256: string;
  bytes: number;
}

/**
 * A `.tgz` like a sidecar dependency: `bin/payload` (a tiny script) and `data/part-N` files of
 * random bytes adding up to `payloadBytes`, each at most 16 MiB. Random data does not compress,
 * so the archive is about `payloadBytes` long; `gzip -1` because a higher level would only
 * spend generation time on finding nothing to compress.
 */
export async function makeRandomTgz(file: string, payloadBytes: number): Promise<GeneratedArchive> {
  const src = `${file}.src`;
  await fs.rm(src, { recursive: true, force: true });
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  await fs.mkdir(path.join(src, 'data'));
  await fs.writeFile(path.join(src, 'bin', 'payload'), '#!/bin/sh\necho payload\n', { mode: 0o755 });
  const part = 16 * MiB;
  for (let i = 0, left = payloadBytes; left > 0; i++, left -= part) {
    await writeRandomFile(path.join(src, 'data', `part-${i}`), Math.min(part, left));
  }
  try {
    sh('tar -cf - -C "$1" bin data | gzip -1 -c > "$2"', [src, file]);
  } finally {
    await fs.rm(src, { recursive: true, force: true });
  }
  return { file, sha256: await sha256File(file), bytes: (await fs.stat(file)).size };
}

/** The staging runtime of real size: this node's binary packed as CF's node dependency is. */
export interface RealRuntime extends GeneratedArchive {
  /** The bare binary's size, and its size compressed by `gzip -c` (the floor of what must travel). */
  binaryBytes: number;
  binaryGzipBytes: number;
  /** What else went in beside bin/node (relative paths). */
  extras: string[];
}

/**
 * `bin/node` (a copy of `realNode`) plus whatever of npm, the headers and docs sit beside it in
 * its install prefix (`lib/node_modules/npm`, `include/node`, `share/doc/node`), in one `.tgz`
 * made by `tar -czf` (gzip's default level, like CF's node tarballs).
 */
export async function makeRealRuntimeTgz(file: string, realNode: string): Promise<RealRuntime> {
  const src = `${file}.src`;
  await fs.rm(src, { recursive: true, force: true });
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  const real = await fs.realpath(realNode);
  await fs.copyFile(real, path.join(src, 'bin', 'node'));
  await fs.chmod(path.join(src, 'bin', 'node'), 0o755);
  const prefix = path.dirname(path.dirname(real));
  const extras: string[] = [];
  for (const rel of ['lib/node_modules/npm', 'include/node', 'share/doc/node']) {
    if (await fs.stat(path.join(prefix, rel)).then((s) => s.isDirectory(), () => false)) extras.push(rel);
  }
  try {
    const parts = extras.map((e) => `-C "$3" '${e}'`).join(' ');
    sh(`tar -czf "$2" -C "$1" bin ${parts}`, [src, file, prefix]);
    const gz = `${file}.node.gz`;
    sh('gzip -c "$1" > "$2"', [path.join(src, 'bin', 'node'), gz]);
    const binaryGzipBytes = (await fs.stat(gz)).size;
    await fs.rm(gz, { force: true });
    const binaryBytes = (await fs.stat(path.join(src, 'bin', 'node'))).size;
    return { file, sha256: await sha256File(file), bytes: (await fs.stat(file)).size, binaryBytes, binaryGzipBytes, extras };
  } finally {
    await fs.rm(src, { recursive: true, force: true });
  }
}

/** Bytes of every regular file under `dir` (0 when it does not exist). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(p);
    else if (e.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}
