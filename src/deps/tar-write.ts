// Creates the entries TarSanitizer checked, under a fresh extraction directory, with plain
// synchronous system calls: one open, the writes, fchmod, futimes and close per file. No
// helper process and no second tar parser; zlib keeps inflating on the thread pool meanwhile.

import { closeSync, constants, fchmodSync, futimesSync, linkSync, lstatSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync, chmodSync } from 'node:fs';
import { CorruptArchiveError } from '../errors.js';
import { shown } from './guard.js';
import type { TarEntry, TarSink } from './tar-sanitize.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * A TarSink writing into `root` (an empty directory this process made, so no entry of it is a
 * link but the archive's own, which the guard never lets anything pass through). Names are
 * latin1 strings and reach the file system as their raw bytes. A later entry replaces an
 * earlier file or link of the same name (as tar does); a name that is both a file and a
 * directory is a CorruptArchiveError. System errors (ENOSPC...) are thrown as they are.
 */
export class DiskWriter implements TarSink {
  private readonly base: Buffer;
  /** Directories known to exist, relative ('' is the root). */
  private readonly dirs = new Set<string>(['']);
  private fd: number | undefined;
  private current: TarEntry | undefined;

  constructor(root: string, private readonly archive: string) {
    this.base = Buffer.from(`${root}/`);
  }

  entry(e: TarEntry): void {
    const abs = this.abs(e.path);
    if (e.type === 'dir') {
      this.mkdirs(e.path);
      chmodSync(abs, e.mode);
      return;
    }
    this.mkdirs(parentOf(e.path));
    if (e.type === 'file') {
      this.fd = this.replacing(e.path, () => openSync(abs, CREATE, 0o600));
      this.current = e;
    } else if (e.type === 'symlink') {
      this.replacing(e.path, () => symlinkSync(Buffer.from(e.link, 'latin1'), abs));
    } else {
      try {
        this.replacing(e.path, () => linkSync(this.abs(e.link), abs));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new CorruptArchiveError(this.archive, `hardlink ${JSON.stringify(shown(e.path))} to ${JSON.stringify(shown(e.link))}, which is not in the archive before it`);
        if (code === 'EPERM') throw new CorruptArchiveError(this.archive, `hardlink ${JSON.stringify(shown(e.path))} to ${JSON.stringify(shown(e.link))}, a directory`);
        throw err;
      }
    }
  }

  data(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) at += writeSync(this.fd!, chunk, at, chunk.length - at);
  }

  endFile(): void {
    const fd = this.fd!;
    const e = this.current!;
    this.fd = undefined;
    this.current = undefined;
    try {
      fchmodSync(fd, e.mode);
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
  }

  abort(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // closing after a failure: the directory is removed anyway
    }
    this.fd = undefined;
  }

  private abs(rel: string): Buffer {
    return Buffer.concat([this.base, Buffer.from(rel, 'latin1')]);
  }

  /** Run `create`; when the name is taken by a file or link, remove that and run it again. */
  private replacing<T>(rel: string, create: () => T): T {
    try {
      return create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (this.dirs.has(rel) || lstatSync(this.abs(rel)).isDirectory()) throw this.both(rel);
    unlinkSync(this.abs(rel));
    return create();
  }

  private mkdirs(rel: string): void {
    if (this.dirs.has(rel)) return;
    try {
      mkdirSync(this.abs(rel), { recursive: true, mode: 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') throw this.both(firstFile(this.dirs, rel));
      throw e;
    }
    for (let p = rel; p !== '' && !this.dirs.has(p); p = parentOf(p)) this.dirs.add(p);
  }

  private both(rel: string): CorruptArchiveError {
    return new CorruptArchiveError(this.archive, `${JSON.stringify(shown(rel))} is both a file and a directory`);
  }
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

/** The shortest ancestor of `rel` (or `rel`) not known as a directory: the file in the way. */
function firstFile(dirs: Set<string>, rel: string): string {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (!dirs.has(p)) return p;
  }
  return rel;
}
