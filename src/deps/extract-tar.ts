// Tar extraction in one streaming pass: gunzip (zlib, on the thread pool) or `xz -dc`, then the
// TarSanitizer, then the system `tar` writing files (much faster than writing them from node).

import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BuildpackError, CorruptArchiveError, FileSystemError, UnsafeArchiveError } from '../errors.js';
import { startChild } from './children.js';
import { fsError } from './fsutil.js';
import { TarSanitizer } from './tar-sanitize.js';

/** Options of {@link extractTarStream}. */
export interface TarExtractOptions {
  compression: 'gzip' | 'xz';
  stripComponents?: number;
  /** Name used in error messages. */
  archive: string;
  /** Most bytes the entries may expand to in all (default: no limit). */
  maxBytes?: number;
  /** The directory named in file-system errors (default: `dir`). */
  where?: string;
}

/** What GNU tar prints for the system's refusals that are the environment's fault, not the archive's. */
const TAR_ERRNO: Array<[RegExp, string]> = [
  [/No space left on device/, 'ENOSPC'],
  // GNU tar's words for a short write, which on a regular file means the device is full
  [/Wrote only \d+ of \d+ bytes/, 'ENOSPC'],
  [/Disk quota exceeded/, 'EDQUOT'],
  [/Read-only file system/, 'EROFS'],
  [/Permission denied/, 'EACCES'],
  [/Input\/output error/, 'EIO'],
];

/**
 * Extract the compressed tar read from `input` into the existing directory `dir`. An error of
 * `input` itself (a failed download) is rethrown as is; archive problems become
 * CorruptArchiveError or UnsafeArchiveError. On failure every helper process is dead on return.
 */
export async function extractTarStream(input: Readable, dir: string, options: TarExtractOptions): Promise<void> {
  const sanitizer = new TarSanitizer({ archive: options.archive, stripComponents: options.stripComponents, maxBytes: options.maxBytes });
  // --no-same-owner matters when staging runs as root; -p keeps the (already sanitized) modes exact.
  const tar = startChild('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner', '-p']);
  const xz = options.compression === 'xz' ? startChild('xz', ['-dc'], { stdout: true }) : undefined;
  const killAll = (): void => {
    void tar.kill();
    void xz?.kill();
  };
  const steps: Promise<unknown>[] = [];
  if (xz) {
    steps.push(pipeline(input, xz.proc.stdin!));
    steps.push(pipeline(xz.proc.stdout!, sanitizer, tar.proc.stdin!));
    steps.push(xz.exited.then((r) => {
      if (r.code !== 0 && !r.killed) throw new CorruptArchiveError(options.archive, `xz failed: ${r.stderr || `exit ${r.code ?? r.signal}`}`);
    }));
  } else {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    steps.push(pipeline(input, gunzip, sanitizer, tar.proc.stdin!));
  }
  steps.push(tar.exited.then((r) => {
    if (r.code === 0 || r.killed) return;
    const env = TAR_ERRNO.find(([re]) => re.test(r.stderr));
    if (env) {
      const cause = Object.assign(new Error(r.stderr), { code: env[1] });
      throw fsError(cause, `write the files of ${options.archive} into`, options.where ?? dir);
    }
    throw new CorruptArchiveError(options.archive, `tar failed: ${r.stderr || `exit ${r.code ?? r.signal}`}`);
  }));
  for (const s of steps) s.catch(killAll);
  const results = await Promise.allSettled(steps);
  await Promise.all([tar.kill(), xz?.kill()]);
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length === 0) return;
  throw pickError(errors, options.archive);
}

/**
 * The most telling error: the input's own (a failed download must stay retryable), then an unsafe
 * entry, then a decompressor's exit (it explains a "truncated" seen downstream), then the rest.
 */
function pickError(errors: unknown[], archive: string): unknown {
  const code = (e: unknown): unknown => (e as NodeJS.ErrnoException)?.code;
  const meaningful = errors.filter((e) => code(e) !== 'EPIPE' && code(e) !== 'ERR_STREAM_PREMATURE_CLOSE');
  const isXzExit = (e: unknown): boolean => e instanceof CorruptArchiveError && e.message.includes(': xz failed');
  const chosen =
    meaningful.find((e) => !(e instanceof BuildpackError) && !isZlibError(e)) ??
    meaningful.find((e) => e instanceof FileSystemError) ??
    meaningful.find((e) => e instanceof UnsafeArchiveError) ??
    meaningful.find(isXzExit) ??
    meaningful.find((e) => e instanceof BuildpackError) ??
    meaningful[0] ??
    errors[0];
  if (isZlibError(chosen)) return new CorruptArchiveError(archive, `gzip: ${(chosen as Error).message}`, { cause: chosen });
  return chosen;
}

function isZlibError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
