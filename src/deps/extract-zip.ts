// Zip extraction with yauzl (zip needs random access, so it reads a file, not a stream), with the
// same containment rules as tar: EntryGuard for names, symlinks and modes. Two passes over the
// central directory: the first checks sizes (the expansion limit, overlapping entries: the
// classic zip bomb) before anything is written, the second extracts.

import { createWriteStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type yauzl from 'yauzl';
import { ArchiveTooLargeError, BuildpackError, CorruptArchiveError, UnsafeArchiveError } from '../errors.js';
import { fsError, isEnvironmentError } from './fsutil.js';
import { EntryGuard, dirMode, fileMode, shown } from './guard.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Longest symlink target read from a zip entry. */
const MAX_LINK = 4096;
/** Every local file header is at least this long (before its name and extra field). */
const LOCAL_HEADER = 30;

/** Options of {@link extractZipFile}. */
export interface ZipExtractOptions {
  stripComponents?: number;
  /** Name used in error messages. */
  archive: string;
  /** Most bytes the entries may expand to in all (default: no limit). */
  maxBytes?: number;
  /** The directory named in file-system errors (default: `dir`). */
  where?: string;
}

/**
 * Extract the zip at `file` into the existing directory `dir`. Unix modes are honoured (setuid
 * and the like dropped), symlinks checked like tar's, other special files skipped. Names are
 * kept as their raw bytes. A name that is a file in one entry and a directory in another is a
 * CorruptArchiveError; a write the file system refuses is a FileSystemError naming `where`.
 */
export async function extractZipFile(file: string, dir: string, options: ZipExtractOptions): Promise<void> {
  const corrupt = (reason: string, cause?: unknown): CorruptArchiveError => new CorruptArchiveError(options.archive, reason, { cause });
  const fail = (e: unknown): unknown => {
    if (e instanceof BuildpackError) return e;
    if (isEnvironmentError(e)) return fsError(e, `write the files of ${options.archive} into`, options.where ?? dir);
    const code = (e as NodeJS.ErrnoException)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'EINVAL') return e; // not the archive's fault, and not one we know
    return corrupt((e as Error).message, e);
  };
  await checkSizes(file, options).catch((e: unknown) => Promise.reject(fail(e)));
  const zip = await openZip(file).catch((e: unknown) => Promise.reject(fail(e)));
  const guard = new EntryGuard(options.stripComponents ?? 0);
  /** What each written path is: a file or link ('f') or a directory ('d'). */
  const kinds = new Map<string, 'f' | 'd'>();
  const base = Buffer.from(`${dir}/`);
  const at = (rel: string): Buffer => Buffer.concat([base, Buffer.from(rel, 'latin1')]);
  let count = 0;
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (entry === null) break;
      // Raw bytes (UTF-8 when bit 11 is set, else CP437 or whatever the tool wrote): kept as
      // they are, so different names stay different. Backslashes are DOS separators.
      const name = (entry.fileName as unknown as Buffer).toString('latin1').replace(/\\/g, '/');
      const unix = entry.versionMadeBy >> 8 === 3;
      const attrs = unix ? entry.externalFileAttributes >>> 16 : 0;
      const type = attrs & S_IFMT;
      const isDir = name.endsWith('/') || type === S_IFDIR;
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR && type !== S_IFLNK) continue; // devices, fifos, sockets
      const rel = guard.entry(name);
      if (rel === null) continue;
      claim(kinds, rel, isDir ? 'd' : 'f', options.archive);
      count++;
      if (isDir) {
        await fs.mkdir(at(rel), { recursive: true });
        await fs.chmod(at(rel), dirMode(unix ? attrs : undefined));
        continue;
      }
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (parent) await fs.mkdir(at(parent), { recursive: true });
      const content = await openEntry(zip, entry);
      if (type === S_IFLNK) {
        const target = (await readAll(content, MAX_LINK, name)).toString('latin1');
        guard.symlink(name, rel, target);
        await fs.rm(at(rel), { force: true }); // an earlier file of the same name (never a directory: see claim)
        await fs.symlink(Buffer.from(target, 'latin1'), at(rel));
        continue;
      }
      await pipeline(content, createWriteStream(at(rel), { mode: 0o600 }));
      await fs.chmod(at(rel), fileMode(unix ? attrs : undefined));
    }
    guard.finish();
  } catch (e) {
    throw fail(e);
  } finally {
    zip.close();
  }
  if (count === 0) throw corrupt('the archive contains no entries');
}

/** Record `rel` as a file or a directory; a name that is both (itself or an ancestor) is refused. */
function claim(kinds: Map<string, 'f' | 'd'>, rel: string, kind: 'f' | 'd', archive: string): void {
  const both = (p: string): CorruptArchiveError => new CorruptArchiveError(archive, `${JSON.stringify(shown(p))} is both a file and a directory`);
  const was = kinds.get(rel);
  if (was !== undefined && was !== kind) throw both(rel);
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
    const ancestor = rel.slice(0, i);
    const a = kinds.get(ancestor);
    if (a === 'f') throw both(ancestor);
    if (a === undefined) kinds.set(ancestor, 'd');
  }
  kinds.set(rel, kind);
}

/**
 * First pass: the declared sizes (yauzl holds every entry to its declared size) must fit the
 * limit, and no two entries may share compressed bytes (overlapping entries make a 257 KiB zip
 * expand to gigabytes).
 */
async function checkSizes(file: string, options: ZipExtractOptions): Promise<void> {
  const zip = await openZip(file);
  try {
    const n = zip.entryCount;
    const offsets = new Float64Array(n);
    const ends = new Float64Array(n);
    const names: Buffer[] = [];
    let total = 0;
    let i = 0;
    for (;;) {
      const entry = await nextEntry(zip);
      if (entry === null) break;
      if (i >= n) break;
      total += entry.uncompressedSize;
      if (options.maxBytes !== undefined && total > options.maxBytes) throw new ArchiveTooLargeError(options.archive, options.maxBytes, 'by the sizes its entries declare');
      offsets[i] = entry.relativeOffsetOfLocalHeader;
      ends[i] = entry.relativeOffsetOfLocalHeader + LOCAL_HEADER + entry.compressedSize;
      names.push(entry.fileName as unknown as Buffer);
      i++;
    }
    const order = Array.from({ length: i }, (_, k) => k).sort((a, b) => offsets[a] - offsets[b]);
    for (let k = 1; k < order.length; k++) {
      if (ends[order[k - 1]] > offsets[order[k]]) {
        throw new UnsafeArchiveError(shown(names[order[k]].toString('latin1')), "its data overlaps another entry's (a zip bomb)");
      }
    }
  } finally {
    zip.close();
  }
}

// loaded when a zip is opened: most stagings unpack only .tgz files
let yauzlModule: Promise<typeof import('yauzl')> | undefined;

async function openZip(file: string): Promise<yauzl.ZipFile> {
  const z = await (yauzlModule ??= import('yauzl'));
  return new Promise<yauzl.ZipFile>((resolve, reject) =>
    z.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (e, zip) => (e ? reject(e) : resolve(zip))),
  );
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
      throw new UnsafeArchiveError(shown(name), `symlink target longer than ${limit} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
