// Zip extraction with yauzl (zip needs random access, so it reads a file, not a stream), with the
// same containment rules as tar: EntryGuard for names, symlinks and modes.

import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { BuildpackError, CorruptArchiveError, UnsafeArchiveError } from '../errors.js';
import { EntryGuard, dirMode, fileMode } from './guard.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Longest symlink target read from a zip entry. */
const MAX_LINK = 4096;

/**
 * Extract the zip at `file` into the existing directory `dir`. Unix modes are honoured (setuid
 * and the like dropped), symlinks checked like tar's, other special files skipped.
 */
export async function extractZipFile(file: string, dir: string, options: { stripComponents?: number; archive: string }): Promise<void> {
  const corrupt = (reason: string, cause?: unknown): CorruptArchiveError => new CorruptArchiveError(options.archive, reason, { cause });
  let zip: yauzl.ZipFile;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (e, z) => (e ? reject(e) : resolve(z))),
    );
  } catch (e) {
    throw corrupt((e as Error).message, e);
  }
  const guard = new EntryGuard(options.stripComponents ?? 0);
  let count = 0;
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (entry === null) break;
      const raw = entry.fileName as unknown as Buffer;
      // Bit 11: UTF-8 names; otherwise CP437, which matches latin1 for the ASCII names seen in practice.
      const name = raw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1').replace(/\\/g, '/');
      const unix = entry.versionMadeBy >> 8 === 3;
      const attrs = unix ? entry.externalFileAttributes >>> 16 : 0;
      const type = attrs & S_IFMT;
      const isDir = name.endsWith('/') || type === S_IFDIR;
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR && type !== S_IFLNK) continue; // devices, fifos, sockets
      const rel = guard.entry(name);
      if (rel === null) continue;
      const dest = path.join(dir, rel);
      count++;
      if (isDir) {
        await fs.mkdir(dest, { recursive: true });
        await fs.chmod(dest, dirMode(unix ? attrs : undefined));
        continue;
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const content = await openEntry(zip, entry);
      if (type === S_IFLNK) {
        const target = (await readAll(content, MAX_LINK, name)).toString('utf8');
        guard.symlink(name, rel, target);
        await fs.rm(dest, { force: true, recursive: true });
        await fs.symlink(target, dest);
        continue;
      }
      await pipeline(content, createWriteStream(dest, { mode: 0o600 }));
      await fs.chmod(dest, fileMode(unix ? attrs : undefined));
    }
  } catch (e) {
    if (e instanceof BuildpackError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E') && code !== 'EINVAL') throw e; // file-system trouble is not the archive's
    throw corrupt((e as Error).message, e);
  } finally {
    zip.close();
  }
  if (count === 0) throw corrupt('the archive contains no entries');
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: yauzl.Entry): void => { cleanup(); resolve(e); };
    const onEnd = (): void => { cleanup(); resolve(null); };
    const onError = (e: Error): void => { cleanup(); reject(e); };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))));
}

async function readAll(stream: Readable, limit: number, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new UnsafeArchiveError(name, `symlink target longer than ${limit} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
