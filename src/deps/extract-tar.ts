// Tar extraction in one streaming pass: gunzip (zlib, on the thread pool) or `xz -dc`, then the
// TarSanitizer checking every entry, then DiskWriter creating them with plain system calls.

import { closeSync, openSync, promises as fs, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { constants as z, createGunzip, type Gunzip } from 'node:zlib';
import { BuildpackError, CorruptArchiveError, UnsafeArchiveError } from '../errors.js';
import { fsError, isEnvironmentError } from './fsutil.js';
import { TarSanitizer } from './tar-sanitize.js';
import { DiskWriter } from './tar-write.js';

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
  /**
   * Given every byte of the file as it is read, in order, in the same pass: only by
   * {@link extractTarFile} of a gzipped tar where {@link tgzHashedInPass} (else a TypeError).
   */
  hash?: { update(data: Buffer): unknown };
}

/**
 * zlib's output chunk. Below glibc's mmap threshold (128 KiB), so freed chunks are recycled by
 * malloc instead of mapped afresh: every fresh page is a page fault, and in a VM those cost more
 * than the copying (profiled: page faults were a fifth of bin/supply's CPU with 1 MiB chunks).
 */
const INFLATE_CHUNK = 64 * 1024;
/** Input read from a file into a few buffers, reused: each again only once zlib has consumed it. */
const READ_CHUNK = 256 * 1024;
const READ_BUFFERS = 3;

/**
 * Extract the compressed tar read from `input` into the existing, empty directory `dir`. An
 * error of `input` itself (a failed read) is rethrown as is; archive problems become
 * CorruptArchiveError, UnsafeArchiveError or ArchiveTooLargeError; a write the file system
 * refuses (disk full...) a FileSystemError naming `where`. On failure the helper (`xz`) is dead
 * on return.
 */
export async function extractTarStream(input: Readable, dir: string, options: TarExtractOptions): Promise<void> {
  return extractTar(input, dir, options);
}

/**
 * {@link extractTarStream} of the archive file `file`: a gzipped one is read into reused buffers
 * (no fresh memory per chunk); read errors are FileSystemErrors naming the file.
 */
export async function extractTarFile(file: string, dir: string, options: TarExtractOptions): Promise<void> {
  if (options.hash && !(options.compression === 'gzip' && syncInflateAvailable())) throw new TypeError('extractTarFile: hash is only read in the in-place pass of a .tgz');
  if (options.compression === 'gzip' && syncInflateAvailable()) {
    try {
      return await extractTgzInPlace(file, dir, options);
    } catch (e) {
      throw isEnvironmentError(e) ? fsError(e, `write the files of ${options.archive} into`, options.where ?? dir) : e;
    }
  }
  if (options.compression !== 'gzip') {
    const { createReadStream } = await import('node:fs');
    return extractTar(createReadStream(file, { highWaterMark: 1024 * 1024 }), dir, options);
  }
  return extractTar(file, dir, options);
}

async function extractTar(input: Readable | string, dir: string, options: TarExtractOptions): Promise<void> {
  const sanitizer = new TarSanitizer({
    archive: options.archive,
    stripComponents: options.stripComponents,
    maxBytes: options.maxBytes,
    sink: new DiskWriter(dir, options.archive),
  });
  const steps: Promise<unknown>[] = [];
  // node:child_process (with net, dgram and more under it) is loaded for xz only: a .tgz never needs it
  const xz = options.compression === 'xz' ? (await import('./children.js')).startChild('xz', ['-dc'], { stdout: true }) : undefined;
  if (xz) {
    steps.push(pipeline(input as Readable, xz.proc.stdin!));
    steps.push(pipeline(xz.proc.stdout!, sanitizer));
    steps.push(xz.exited.then((r) => {
      if (r.code !== 0 && !r.killed) throw new CorruptArchiveError(options.archive, `xz failed: ${r.stderr || `exit ${r.code ?? r.signal}`}`);
    }));
    for (const s of steps) s.catch(() => void xz.kill());
  } else if (typeof input === 'string') {
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
    steps.push(pipeline(gunzip, sanitizer));
    steps.push(feed(input, gunzip));
  } else {
    steps.push(pipeline(input, createGunzip({ chunkSize: INFLATE_CHUNK }), sanitizer));
  }
  const results = await Promise.allSettled(steps);
  await xz?.kill();
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length === 0) return;
  const chosen = pickError(errors, options.archive);
  throw isEnvironmentError(chosen) ? fsError(chosen, `write the files of ${options.archive} into`, options.where ?? dir) : chosen;
}

/** zlib's native handle as node's own synchronous zlib functions drive it (lib/zlib.js processChunkSync). */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}

/** Inflated between two yields to the event loop (so signals and timers are served meanwhile). */
const SLICE = 8 * 1024 * 1024;

function zlibHandle(g: Gunzip): { handle: ZlibHandle; state: Uint32Array } | undefined {
  const inner = g as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: Uint32Array };
  if (typeof inner._handle?.writeSync !== 'function' || !(inner._writeState instanceof Uint32Array)) return undefined;
  return { handle: inner._handle as ZlibHandle, state: inner._writeState };
}

/** Whether {@link extractTarFile} of a .tgz reads it in one pass that can hash it too (`hash`). */
export function tgzHashedInPass(): boolean {
  return syncInflateAvailable();
}

let syncInflate: boolean | undefined;
/** Whether this node drives zlib the way {@link extractTgzInPlace} needs (true on node 18 to 22). */
function syncInflateAvailable(): boolean {
  if (syncInflate === undefined) {
    const g = createGunzip();
    syncInflate = zlibHandle(g) !== undefined;
    g.close();
  }
  return syncInflate;
}

/**
 * A .tgz given piece by piece, synchronously: each piece is inflated at once by driving zlib's
 * handle as node's own `gunzipSync` does, into one reused buffer, and handed to the sanitizer and
 * DiskWriter. No stream, no fresh memory per chunk, no thread-pool round trip: profiled, the
 * streamed version spent more time in page faults and hand-offs than in inflating. `write` and
 * `end` throw what the extraction fails with (refusals of the file system as FileSystemErrors
 * naming `where`); after a throw, or instead of `end`, `destroy` stops it. Undefined where this
 * node's zlib cannot be driven so ({@link tgzHashedInPass}).
 */
export interface TgzSink {
  write(chunk: Buffer): void;
  end(): void;
  destroy(): void;
}

export function openTgzSink(dir: string, options: TarExtractOptions): TgzSink | undefined {
  if (!syncInflateAvailable()) return undefined;
  const sanitizer = new TarSanitizer({ archive: options.archive, stripComponents: options.stripComponents, maxBytes: options.maxBytes, sink: new DiskWriter(dir, options.archive) });
  const g = createGunzip();
  g.on('error', () => undefined); // zlib's errors are read from g.errored right after each call
  const { handle, state } = zlibHandle(g)!;
  const output = Buffer.allocUnsafe(READ_CHUNK);
  const corrupt = (): never => {
    const e = g.errored as NodeJS.ErrnoException;
    throw new CorruptArchiveError(options.archive, `gzip: ${e.message}`, { cause: e });
  };
  /** Inflate input[0, len) (nothing, with Z_FINISH) until zlib wants more input or the data ended. */
  const inflate = (flush: number, input: Buffer): void => {
    let off = 0;
    let len = input.length;
    for (;;) {
      handle.writeSync(flush, input, off, len, output, 0, output.length);
      if (g.errored) corrupt();
      const [availOut, availIn] = state;
      const produced = output.length - availOut;
      if (produced > 0) sanitizer.consume(output.subarray(0, produced));
      off += len - availIn;
      len = availIn;
      if (availOut !== 0) return; // output to spare: zlib needs more input (or the data ended)
    }
  };
  const failed = (e: unknown): never => {
    throw isEnvironmentError(e) ? fsError(e, `write the files of ${options.archive} into`, options.where ?? dir) : e;
  };
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    g.close();
  };
  return {
    write: (chunk) => {
      try {
        inflate(z.Z_NO_FLUSH, chunk);
      } catch (e) {
        failed(e);
      }
    },
    end: () => {
      try {
        inflate(z.Z_FINISH, EMPTY); // a truncated stream fails here ("unexpected end of file")
        sanitizer.end_();
      } catch (e) {
        failed(e);
      } finally {
        close();
      }
    },
    destroy: () => {
      sanitizer.destroy();
      close();
    },
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * The fast path for a .tgz that is a file already (cached buildpack, app cache): read into one
 * reused buffer and given to a {@link TgzSink}. Yields to the event loop every {@link SLICE} bytes.
 */
async function extractTgzInPlace(file: string, dir: string, options: TarExtractOptions): Promise<void> {
  const sink = openTgzSink(dir, options)!;
  const input = Buffer.allocUnsafe(READ_CHUNK);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    sink.destroy();
    throw e;
  }
  try {
    let sinceYield = 0;
    for (;;) {
      const n = readSync(fd, input, 0, input.length, null);
      if (n === 0) break;
      const piece = n === input.length ? input : input.subarray(0, n);
      options.hash?.update(piece);
      sink.write(piece);
      sinceYield += n;
      if (sinceYield >= SLICE) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    sink.end();
  } catch (e) {
    sink.destroy();
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** Write the file's bytes into `gunzip`, then end it; on a failure `gunzip` is destroyed. */
async function feed(file: string, gunzip: Gunzip): Promise<void> {
  const fh = await fs.open(file, 'r').catch((e: unknown) => Promise.reject(fsError(e, 'read', file)));
  const buffers = Array.from({ length: READ_BUFFERS }, () => Buffer.allocUnsafe(READ_CHUNK));
  const consumed: Array<Promise<void> | undefined> = buffers.map(() => undefined);
  // A destroyed zlib stream may never call back a write in progress: stop waiting when it closes.
  let stopped = false;
  const closed = new Promise<void>((resolve) => gunzip.once('close', () => { stopped = true; resolve(); }));
  try {
    for (let i = 0; ; i = (i + 1) % READ_BUFFERS) {
      await Promise.race([consumed[i], closed]);
      if (stopped) return; // the extraction failed: its own error is the one reported
      const { bytesRead } = await fh.read(buffers[i], 0, READ_CHUNK, null).catch((e: unknown) => Promise.reject(fsError(e, 'read', file)));
      if (bytesRead === 0) break;
      consumed[i] = new Promise<void>((resolve, reject) => gunzip.write(buffers[i].subarray(0, bytesRead), (e) => (e ? reject(e) : resolve())));
      consumed[i]!.catch(() => undefined);
    }
    await Promise.race([Promise.all(consumed), closed]);
    if (!stopped) gunzip.end();
  } catch (e) {
    gunzip.destroy(e as Error);
    throw e;
  } finally {
    await fh.close();
  }
}

/**
 * The most telling error: an unsafe entry, then a refused write (disk full), then a
 * decompressor's exit (it explains a "truncated" seen downstream), then the rest; the input's
 * own errors come first of all (a failed read must stay what it is).
 */
function pickError(errors: unknown[], archive: string): unknown {
  const code = (e: unknown): unknown => (e as NodeJS.ErrnoException)?.code;
  const meaningful = errors.filter((e) => code(e) !== 'EPIPE' && code(e) !== 'ERR_STREAM_PREMATURE_CLOSE');
  const isXzExit = (e: unknown): boolean => e instanceof CorruptArchiveError && e.message.includes(': xz failed');
  const chosen =
    meaningful.find((e) => e instanceof UnsafeArchiveError) ??
    meaningful.find(isEnvironmentError) ??
    meaningful.find(isXzExit) ??
    meaningful.find((e) => e instanceof BuildpackError) ??
    meaningful.find((e) => !isZlibError(e)) ??
    meaningful[0] ??
    errors[0];
  if (isZlibError(chosen)) return new CorruptArchiveError(archive, `gzip: ${(chosen as Error).message}`, { cause: chosen });
  return chosen;
}

function isZlibError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
