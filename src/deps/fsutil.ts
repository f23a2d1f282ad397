// Atomic file-system moves for the dependency layer: unique temp names next to their final place,
// and replacing a directory so that readers only ever see the old or the new complete one.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * A unique, hidden sibling of `target` (same directory, hence same file system, so a rename is
 * atomic). Unique across processes: concurrent installers never share a temp name.
 */
export function tempSibling(target: string, tag: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Remove a file or directory tree; a missing one is fine. */
export async function removeQuietly(p: string): Promise<void> {
  await fs.rm(p, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
}

/**
 * Move the complete directory `tmp` to `target`, replacing any directory already there. The old
 * one is first renamed aside (rename, not delete: a kill between the two renames leaves either
 * the old or the new tree in place, never a half-written one).
 */
export async function replaceDir(tmp: string, target: string): Promise<void> {
  try {
    await fs.rename(tmp, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR') throw e;
  }
  const old = tempSibling(target, 'old');
  await fs.rename(target, old);
  await fs.rename(tmp, target);
  await removeQuietly(old);
}

/** True when `p` exists and is a regular file. */
export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Remove temp siblings of `target` (`.<name>.<tag>-<pid>-<rand>`, see tempSibling) left by a
 * process that no longer runs, e.g. a staging killed mid-extraction. Live processes' are kept.
 */
export async function removeDeadSiblings(target: string): Promise<void> {
  const prefix = `.${path.basename(target)}.`;
  const names = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const m = /^\.[^]*\.[a-z]+-(\d+)-[0-9a-f]{12}$/.exec(name);
      if (!name.startsWith(prefix) || !m || processAlive(Number(m[1]))) return;
      await removeQuietly(path.join(path.dirname(target), name));
    }),
  );
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
