// Benchmark inputs, generated on each run (nothing large is committed): `.tgz` archives of random,
// incompressible data, their sha256, and a runtime tarball whose bin/node execs this node.

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

/**
 * A staging runtime tarball shaped like the CF node dependency (bin/node at its root); its
 * bin/node execs `realNode`, so bin/supply's no-node path runs the same node as the PATH path.
 */
export async function makeRuntimeTgz(file: string, realNode: string): Promise<GeneratedArchive> {
  const src = `${file}.src`;
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  await fs.writeFile(path.join(src, 'bin', 'node'), `#!/bin/sh\nexec '${realNode.replace(/'/g, `'\\''`)}' "$@"\n`, { mode: 0o755 });
  try {
    sh('tar -czf "$2" -C "$1" bin', [src, file]);
  } finally {
    await fs.rm(src, { recursive: true, force: true });
  }
  return { file, sha256: await sha256File(file), bytes: (await fs.stat(file)).size };
}
