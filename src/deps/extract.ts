// Unpacking a dependency's file by kind (CONTRACT §4 "Extraction"), and the atomic wrapper that
// extracts beside the target and renames into place only when everything succeeded.
//
// Safety rules, for every format: names must be relative with no `..` component; symlinks must
// resolve inside the target, following the archive's other links (whatever their order); nothing
// is written through a symlink of the archive; hardlinks must point inside; setuid/setgid/sticky
// bits are dropped; device nodes, fifos and sockets are skipped (never created); names keep their
// raw bytes; what an archive expands to is bounded (`maxBytes`, default
// {@link DEFAULT_MAX_UNPACKED_BYTES}). Violations raise UnsafeArchiveError or
// ArchiveTooLargeError; unreadable input (truncated, wrong format, no entries) raises
// CorruptArchiveError; the file system's refusals (disk full...) raise FileSystemError.

import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveTooLargeError, MAX_UNPACKED_ENV, OverrideError, UnsafeArchiveError } from '../errors.js';
import { extractTarFile, extractTarStream, openTgzSink, tgzHashedInPass, type TgzSink } from './extract-tar.js';
import { extractZipFile } from './extract-zip.js';
import { fsError, removeQuietly, removeStreamFile, replaceDir, tempSibling } from './fsutil.js';
import { archiveKind, uriBasename, type ArchiveKind } from './kind.js';

export { archiveKind, uriBasename, type ArchiveKind } from './kind.js';

/**
 * What one dependency may expand to unless told otherwise: 1 GiB, Cloud Foundry's default app
 * disk quota (cloud_controller_ng `default_app_disk_in_mb: 1024`) and ten times what the node
 * runtime unpacks to. `bin/supply` reads `SIDECAR_BUILDPACK_MAX_UNPACKED_MB`
 * (errors.ts MAX_UNPACKED_ENV) to change it.
 */
export const DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;

/** The limit `env` asks for (`SIDECAR_BUILDPACK_MAX_UNPACKED_MB`, whole MiB), or the default. */
export function maxUnpackedBytesFrom(env: Record<string, string | undefined>): number {
  const raw = env[MAX_UNPACKED_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_UNPACKED_BYTES;
  if (!/^\s*[1-9][0-9]{0,8}\s*$/.test(raw)) throw new OverrideError(MAX_UNPACKED_ENV, `must be a whole number of MiB (1 or more), got ${JSON.stringify(raw)}`);
  return Number(raw.trim()) * 1024 * 1024;
}

/** Options of {@link extract} and {@link extractStream}. */
export interface ExtractOptions {
  /** Default: from the suffix of `name` (or of the source path). */
  kind?: ArchiveKind;
  /**
   * The dependency file's name (the URI's basename): decides the kind when `kind` is absent, names
   * the installed file for `sh`/`file` kinds, and appears in errors. Default: the source's basename.
   */
  name?: string;
  /** Leading path components removed from archive entries (tar and zip). */
  stripComponents?: number;
  /** Where a zip read from a stream is spooled (default: beside the extraction directory). */
  spoolDir?: string;
  /** Most bytes the archive may expand to (default {@link DEFAULT_MAX_UNPACKED_BYTES}). */
  maxBytes?: number;
  /** The directory named in file-system errors (default: the extraction directory). */
  where?: string;
  /**
   * Given every byte of the file in the same pass that unpacks it: {@link extractFile} only, of a
   * kind for which {@link hashedInPass} is true (else a TypeError).
   */
  hash?: { update(data: Buffer): unknown };
}

/** Whether {@link extractFile} can hash a file of `kind` in the pass that unpacks it (a .tgz, on node 18 to 22). */
export function hashedInPass(kind: ArchiveKind): boolean {
  return kind === 'tgz' && tgzHashedInPass();
}

/**
 * For a kind {@link hashedInPass} unpacks (a .tgz): a sink to give the archive's bytes to, in order,
 * as they arrive (a download), unpacking them into the existing, empty directory `dir`; else
 * undefined. Like {@link extractStream}, no atomicity here.
 */
export function openExtractSink(dir: string, options: ExtractOptions & { name: string }): TgzSink | undefined {
  if (!hashedInPass(options.kind ?? archiveKind(options.name))) return undefined;
  const { name: archive, stripComponents, maxBytes = DEFAULT_MAX_UNPACKED_BYTES, where = dir } = options;
  return openTgzSink(dir, { compression: 'gzip', archive, stripComponents, maxBytes, where });
}

/**
 * Unpack `input` into the existing, empty directory `dir`. No atomicity here: callers extract
 * into a temp directory (see {@link extract}). Errors of `input` itself are rethrown unchanged.
 */
export async function extractStream(input: Readable, dir: string, options: ExtractOptions & { name: string }): Promise<void> {
  const kind = options.kind ?? archiveKind(options.name);
  if (kind === 'zip') {
    const spool = tempSibling(path.join(options.spoolDir ?? path.dirname(dir), path.basename(dir)), 'zip');
    const out = createWriteStream(spool, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(input, out);
      return await extractFile(spool, dir, options);
    } finally {
      await removeStreamFile(out, spool);
    }
  }
  return unpack(input, dir, kind, options);
}

/**
 * Unpack the archive file `file` into the existing, empty directory `dir` (a zip is read in
 * place, with no spool copy). Like {@link extractStream}, no atomicity here.
 */
export async function extractFile(file: string, dir: string, options: ExtractOptions & { name: string }): Promise<void> {
  const kind = options.kind ?? archiveKind(options.name);
  const limits = { archive: options.name, stripComponents: options.stripComponents, maxBytes: options.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES, where: options.where ?? dir };
  if (kind === 'zip') return extractZipFile(file, dir, limits);
  if (options.hash && !hashedInPass(kind)) throw new TypeError(`extractFile: a ${kind} is not hashed in the pass that unpacks it`);
  if (kind === 'tgz' || kind === 'txz') return extractTarFile(file, dir, { ...limits, compression: kind === 'tgz' ? 'gzip' : 'xz', ...(options.hash ? { hash: options.hash } : {}) });
  return unpack(createReadStream(file, { highWaterMark: 1024 * 1024 }), dir, kind, options);
}

async function unpack(input: Readable, dir: string, kind: ArchiveKind, options: ExtractOptions & { name: string }): Promise<void> {
  const archive = options.name;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const where = options.where ?? dir;
  switch (kind) {
    case 'tgz':
    case 'txz':
      return extractTarStream(input, dir, { compression: kind === 'tgz' ? 'gzip' : 'xz', stripComponents: options.stripComponents, archive, maxBytes, where });
    case 'zip':
      throw new TypeError('unpack: a zip is read from a file');
    case 'sh':
    case 'file': {
      const base = options.name;
      if (base.includes('/') || base === '.' || base === '..' || base === '') throw new UnsafeArchiveError(base, 'not a plain file name');
      const dest = path.join(dir, base);
      let bytes = 0;
      const bounded = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > maxBytes) throw new ArchiveTooLargeError(archive, maxBytes);
          yield chunk;
        }
      };
      const out = createWriteStream(dest, { flags: 'wx', mode: 0o755 });
      try {
        await pipeline(input, bounded, out);
        await fs.chmod(dest, 0o755); // the umask may have removed bits
      } catch (e) {
        await removeStreamFile(out, dest);
        throw fsError(e, `write ${base} into`, where);
      }
      return;
    }
  }
}

/**
 * Extract `source` (a file path or a stream) into `targetDir`, atomically: the work happens in a
 * temp directory beside the target, renamed over it only on success. On failure (or a kill) the
 * target is untouched and no temp directory is left behind (after a kill, a hidden
 * `.<target>.extract-*` directory may remain; it is never mistaken for the target).
 */
export async function extract(source: string | Readable, targetDir: string, options: ExtractOptions = {}): Promise<void> {
  const name = options.name ?? (typeof source === 'string' ? uriBasename(source) : path.basename(targetDir));
  await fs.mkdir(path.dirname(targetDir), { recursive: true });
  const tmp = tempSibling(targetDir, 'extract');
  await fs.mkdir(tmp, { mode: 0o755 });
  try {
    if (typeof source === 'string') await extractFile(source, tmp, { where: targetDir, ...options, name });
    else await extractStream(source, tmp, { where: targetDir, ...options, name });
    await replaceDir(tmp, targetDir);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}
