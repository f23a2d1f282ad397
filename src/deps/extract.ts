// Unpacking a dependency's file by kind (CONTRACT §4 "Extraction"), and the atomic wrapper that
// extracts beside the target and renames into place only when everything succeeded.
//
// Safety rules, for every format: names must be relative with no `..` component; symlinks must
// point (lexically) inside the target; nothing is written through a symlink of the archive;
// hardlinks must point inside; setuid/setgid/sticky bits are dropped; device nodes, fifos and
// sockets are skipped (never created). Violations raise UnsafeArchiveError; unreadable input
// (truncated, wrong format, no entries) raises CorruptArchiveError.

import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnsafeArchiveError } from '../errors.js';
import { extractTarStream } from './extract-tar.js';
import { extractZipFile } from './extract-zip.js';
import { removeQuietly, replaceDir, tempSibling } from './fsutil.js';
import { archiveKind, uriBasename, type ArchiveKind } from './kind.js';

export { archiveKind, uriBasename, type ArchiveKind } from './kind.js';

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
}

/**
 * Unpack `input` into the existing, empty directory `dir`. No atomicity here: callers extract
 * into a temp directory (see {@link extract}). Errors of `input` itself are rethrown unchanged.
 */
export async function extractStream(input: Readable, dir: string, options: ExtractOptions & { name: string }): Promise<void> {
  const kind = options.kind ?? archiveKind(options.name);
  const archive = options.name;
  switch (kind) {
    case 'tgz':
    case 'txz':
      return extractTarStream(input, dir, { compression: kind === 'tgz' ? 'gzip' : 'xz', stripComponents: options.stripComponents, archive });
    case 'zip': {
      const spool = tempSibling(path.join(options.spoolDir ?? path.dirname(dir), path.basename(dir)), 'zip');
      try {
        await pipeline(input, createWriteStream(spool, { flags: 'wx', mode: 0o600 }));
        return await extractZipFile(spool, dir, { stripComponents: options.stripComponents, archive });
      } finally {
        await removeQuietly(spool);
      }
    }
    case 'sh':
    case 'file': {
      const base = options.name;
      if (base.includes('/') || base === '.' || base === '..' || base === '') throw new UnsafeArchiveError(base, 'not a plain file name');
      const dest = path.join(dir, base);
      await pipeline(input, createWriteStream(dest, { flags: 'wx', mode: 0o755 }));
      await fs.chmod(dest, 0o755); // the umask may have removed bits
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
    const input = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1024 * 1024 }) : source;
    await extractStream(input, tmp, { ...options, name });
    await replaceDir(tmp, targetDir);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}
