// Atomic file writes: write a unique temp file beside the target, then rename over it.
// Rename is atomic on one filesystem, so a killed staging leaves the old file or the new one,
// never half of either. The calls are synchronous under an async signature: a staging writes a
// handful of small files one after the other, and each fs.promises call is a round trip through
// libuv's thread pool (six per file here: src/sync-fs.ts).

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shortStem } from '../deps/fsutil.js';

/**
 * A temp path beside `target`, unique across processes and calls. The name stays within
 * NAME_MAX whatever the target's length (a 255-character sidecar name makes long file names).
 */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${shortStem(path.basename(target))}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Write `contents` to `target` atomically with the given mode (default 0644). */
export async function writeFileAtomic(target: string, contents: string | Uint8Array, mode = 0o644): Promise<void> {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      // no fsync: the rename already guards against a killed staging, and a staging that loses
      // power is redone whole by the platform
      writeFileSync(fd, contents);
    } finally {
      closeSync(fd);
    }
    // the umask may have narrowed the mode given to open()
    chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Create or replace a symlink atomically (a temp link renamed over the old one). */
export async function symlinkAtomic(linkTarget: string, linkPath: string): Promise<void> {
  mkdirSync(path.dirname(linkPath), { recursive: true });
  const tmp = tempPathFor(linkPath);
  try {
    symlinkSync(linkTarget, tmp);
    renameSync(tmp, linkPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
