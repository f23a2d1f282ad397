// Reproducible zip writing: the same entries give the same bytes. Entries are sorted, every
// timestamp is one fixed instant, and every mode is explicit, so nothing of the build machine
// (clock, umask, time zone, directory order) leaks into the archive.

import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import yazl from 'yazl';
import { tempPathFor } from './atomic-path.js';
import { removeStreamFile } from '../deps/fsutil.js';

/** One file of the archive: its bytes come from `contents` or from the file at `localPath`. */
export type ZipEntry =
  | { path: string; mode: number; contents: Buffer | string }
  | { path: string; mode: number; localPath: string };

/** 1980-01-01T00:00:00Z: the earliest instant a zip (DOS) timestamp can hold. */
export const DEFAULT_ZIP_EPOCH = 315532800;

/** Suffixes of files already compressed: storing them again deflated only costs time. */
const STORED = /\.(tgz|gz|xz|bz2|zst|zip|jar|war|7z|png|jpe?g)$/i;

/**
 * The instant all entries carry: `SOURCE_DATE_EPOCH` (seconds) when set and valid, else
 * {@link DEFAULT_ZIP_EPOCH}. Clamped to the zip format's range.
 */
export function zipEpoch(sourceDateEpoch: string | undefined): number {
  const n = sourceDateEpoch !== undefined && /^\d+$/.test(sourceDateEpoch.trim()) ? Number(sourceDateEpoch.trim()) : NaN;
  if (!Number.isFinite(n)) return DEFAULT_ZIP_EPOCH;
  return Math.max(DEFAULT_ZIP_EPOCH, n);
}

/**
 * yazl writes DOS timestamps from a Date's *local* fields. Building the Date from the epoch's
 * UTC fields makes the stored fields the UTC time on every machine, whatever its time zone.
 */
function dosDateFor(epochSeconds: number): Date {
  const u = new Date(epochSeconds * 1000);
  return new Date(u.getUTCFullYear(), u.getUTCMonth(), u.getUTCDate(), u.getUTCHours(), u.getUTCMinutes(), u.getUTCSeconds());
}

/** Size and digest of a written archive. */
export interface ZipResult {
  bytes: number;
  sha256: string;
}

/**
 * Write `entries` to `dest` as a reproducible zip: entries sorted by path (byte order), fixed
 * mtime, the given modes, no extended timestamps. Written to a temp file beside `dest` and
 * renamed, so a killed run never leaves half a zip under the final name.
 */
export async function writeReproducibleZip(entries: ZipEntry[], dest: string, epochSeconds = DEFAULT_ZIP_EPOCH): Promise<ZipResult> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path) throw new Error(`duplicate zip entry ${sorted[i].path}`);
  }
  const mtime = dosDateFor(epochSeconds);
  const zip = new yazl.ZipFile();
  // yazl reports an unreadable input file as an 'error' event on the ZipFile (not the stream),
  // possibly before the output is piped anywhere: listen from the start.
  const failed = new Promise<never>((_, reject) => zip.on('error', reject));
  failed.catch(() => undefined);
  for (const entry of sorted) {
    const options = { mtime, mode: 0o100000 | (entry.mode & 0o7777), forceDosTimestamp: true, compress: !STORED.test(entry.path) };
    if ('localPath' in entry) zip.addFile(entry.localPath, entry.path, options);
    else zip.addBuffer(Buffer.isBuffer(entry.contents) ? entry.contents : Buffer.from(entry.contents), entry.path, options);
  }
  zip.end();

  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const out = createWriteStream(tmp, { mode: 0o644 });
  try {
    await Promise.race([pipeline(zip.outputStream, tap, out), failed]);
    await fs.rename(tmp, dest);
  } catch (err) {
    await removeStreamFile(out, tmp);
    throw err;
  }
  return { bytes, sha256: hash.digest('hex') };
}
