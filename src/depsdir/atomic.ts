// Atomic file writes: write a unique temp file beside the target, then rename over it.
// Rename is atomic on one filesystem, so a killed staging leaves the old file or the new one,
// never half of either.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
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
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const handle = await fs.open(tmp, 'wx', mode);
    try {
      // no fsync: the rename already guards against a killed staging, and a staging that loses
      // power is redone whole by the platform
      await handle.writeFile(contents);
    } finally {
      await handle.close();
    }
    // the umask may have narrowed the mode given to open()
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Create or replace a symlink atomically (a temp link renamed over the old one). */
export async function symlinkAtomic(linkTarget: string, linkPath: string): Promise<void> {
  await fs.mkdir(path.dirname(linkPath), { recursive: true });
  const tmp = tempPathFor(linkPath);
  try {
    await fs.symlink(linkTarget, tmp);
    await fs.rename(tmp, linkPath);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
