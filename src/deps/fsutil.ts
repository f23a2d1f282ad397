// File-system moves for the dependency layer: unique temp names next to their final place,
// replacing a directory so that readers only ever see the old or the new complete one, and the
// mapping of the system's refusals (disk full, read-only...) to typed errors that say where.
// Their single calls are synchronous (src/sync-fs.ts says why); only tree removal is not.

import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { FileSystemError } from '../errors.js';
import { readdirOrEmpty } from '../sync-fs.js';

/** Longest name a temp sibling takes from its target (NAME_MAX is 255 bytes; the suffix needs ~40). */
const MAX_STEM = 160;

/**
 * A unique, hidden sibling of `target` (same directory, hence same file system, so a rename is
 * atomic). Unique across processes: concurrent installers never share a temp name. A long
 * basename is cut and suffixed with a hash of the whole, so the name never exceeds NAME_MAX.
 */
export function tempSibling(target: string, tag: string): string {
  return path.join(path.dirname(target), `.${shortStem(path.basename(target))}.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** `name` itself when short enough, else a prefix of it and 12 hex digits of its sha256. */
export function shortStem(name: string): string {
  if (Buffer.byteLength(name) <= MAX_STEM) return name;
  const digest = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${Buffer.from(name).subarray(0, MAX_STEM - 13).toString('latin1').replace(/[^\x20-\x7e]/g, '_')}~${digest}`;
}

// fs-extra (and graceful-fs, which it loads and which patches node:fs as it loads) costs a
// staging about 7 ms to initialise: it is loaded when there is something to remove, which most
// stagings never have
let fsExtra: Promise<typeof import('fs-extra')> | undefined;

/** Remove a file or directory tree (never following a symlink); a missing one is fine. */
export async function removeQuietly(p: string): Promise<void> {
  try {
    lstatSync(p);
  } catch {
    return;
  }
  const mod = await (fsExtra ??= import('fs-extra'));
  // a CommonJS module: its exports are the default export under node's ESM loader
  const fse = (mod as typeof mod & { default?: typeof mod }).default ?? mod;
  await fse.remove(p).catch(() => undefined);
}

/**
 * Remove the file a write stream writes to, once the stream is closed. The stream opens its file
 * asynchronously: a failure in its first moments (a body that fails at once) comes before the
 * open, which would create the file after an early remove.
 */
export async function removeStreamFile(out: WriteStream, file: string): Promise<void> {
  if (!out.closed) {
    const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
    if (!out.destroyed) out.destroy();
    await closed;
  }
  await removeQuietly(file);
}

/** `mkdir -p`, with the system's refusal (a file in the way, read-only, disk full) as a FileSystemError. */
export async function ensureDir(dir: string, what: string): Promise<void> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    // Node's recursive mkdir reports some refusals (EROFS) as ENOENT: one plain mkdir tells the truth
    const real = (e as NodeJS.ErrnoException).code === 'ENOENT' ? plainMkdirError(dir) : e;
    if (real !== undefined) throw fsError(real, `create ${what}`, dir);
  }
}

function plainMkdirError(dir: string): unknown {
  try {
    mkdirSync(dir);
    return undefined;
  } catch (e) {
    return e;
  }
}

/**
 * Move the complete directory `tmp` to `target`, replacing any directory already there. The old
 * one is first renamed aside (two renames, not fs-extra's remove-then-move: a kill between the
 * two renames leaves either the old or the new tree in place, never none or a half-written one).
 */
export async function replaceDir(tmp: string, target: string): Promise<void> {
  try {
    renameSync(tmp, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR') throw e;
  }
  const old = tempSibling(target, 'old');
  renameSync(target, old);
  renameSync(tmp, target);
  await removeQuietly(old);
}

/** True when `p` exists and is a regular file. */
export async function isFile(p: string): Promise<boolean> {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device (disk full)',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a file is in the way where a directory should be',
  EISDIR: 'a directory is in the way where a file should be',
  EEXIST: 'something else is already there',
  ENOTEMPTY: 'a non-empty directory is in the way',
  EIO: 'input/output error',
  ENOENT: 'it is not there (removed by another process?)',
  ELOOP: 'too many symlinks',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** True for the errno codes that are the environment's fault, not a bug's. */
export function isEnvironmentError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && code in REASONS;
}

/**
 * `e` as a FileSystemError saying `could not <doing> <where>: <reason> (<code>)` when it is one of
 * the system's refusals; any other error is returned as is (it is a bug, or already typed).
 */
export function fsError(e: unknown, doing: string, where: string): unknown {
  if (e instanceof FileSystemError || !isEnvironmentError(e)) return e;
  const code = (e as NodeJS.ErrnoException).code!;
  return new FileSystemError(where, code, `could not ${doing} ${where}: ${REASONS[code]} (${code})`, { cause: e });
}

/**
 * Remove temp siblings of `target` (`.<name>.<tag>-<pid>-<rand>`, see tempSibling) left by a
 * process that no longer runs, e.g. a staging killed mid-extraction. Live processes' are kept.
 */
export async function removeDeadSiblings(target: string): Promise<void> {
  const prefix = `.${shortStem(path.basename(target))}.`;
  for (const name of readdirOrEmpty(path.dirname(target))) {
    const m = /^\.[^]*\.[a-z]+-(\d+)-[0-9a-f]{12}$/.exec(name);
    if (name.startsWith(prefix) && m && !processAlive(Number(m[1]))) await removeQuietly(path.join(path.dirname(target), name));
  }
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
