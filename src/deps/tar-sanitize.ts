// A streaming tar reader: parses the archive (ustar, pax, GNU long names), checks every entry
// with EntryGuard, and hands only validated entries (and their data) to a sink that creates
// them (tar-write.ts). Names are kept as raw bytes (latin1 strings), so names that are not
// UTF-8 are written exactly as archived and never merge into one.

import { Writable } from 'node:stream';
import { ArchiveTooLargeError, CorruptArchiveError, UnsafeArchiveError } from '../errors.js';
import { EntryGuard, dirMode, fileMode, shown } from './guard.js';

const BLOCK = 512;
/** Largest pax or GNU long-name record we accept (real ones are a few hundred bytes). */
const MAX_META = 1024 * 1024;

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'skip';

/** A checked entry, ready to create: `path` and `link` are relative, latin1 (raw bytes). */
export interface TarEntry {
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  path: string;
  /** Permission bits as installed (setuid and the like already dropped). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of data that follow (files only). */
  size: number;
  /** Symlink target text, or the hardlink's (checked, stripped) target path. */
  link: string;
}

/** What creates the entries the reader checked, in archive order. */
export interface TarSink {
  entry(e: TarEntry): void;
  /** Data of the current file entry, in order; `size` bytes in all. */
  data(chunk: Buffer): void;
  /** The current file entry's data is complete. */
  endFile(): void;
  /** Close whatever is open after a failure (best effort, never throws). */
  abort(): void;
}

interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
}

/** Options of {@link TarSanitizer}. */
export interface TarSanitizerOptions {
  stripComponents?: number;
  /** Shown in error messages (a file name or a redacted URI). */
  archive: string;
  /** Most bytes the entries may expand to in all (checked on the headers, before any data passes). */
  maxBytes?: number;
  /** Creates the checked entries. */
  sink: TarSink;
}

/**
 * A Writable that reads a tar stream and gives its checked entries to the sink. Device nodes
 * and fifos are skipped; setuid/setgid/sticky bits dropped; owners ignored. Errors:
 * UnsafeArchiveError for an escaping entry, ArchiveTooLargeError past `maxBytes`,
 * CorruptArchiveError for a bad header, a truncated stream or an archive with no entries;
 * the sink's own errors (a full disk...) as they are.
 */
export class TarSanitizer extends Writable {
  private readonly guard: EntryGuard;
  private readonly archive: string;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes of entry data still to read, then padding to skip. */
  private remaining = 0;
  private padding = 0;
  private mode: 'header' | 'data' | 'meta' | 'skip' | 'end' = 'header';
  private passData = false;
  private readonly sink: TarSink;
  private meta: Buffer[] = [];
  private metaType = '';
  private pending: Pending = {};
  private entries = 0;
  private seenAny = false;
  private expanded = 0;
  private readonly maxBytes: number;

  constructor(options: TarSanitizerOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.guard = new EntryGuard(options.stripComponents ?? 0);
    this.archive = options.archive;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.sink = options.sink;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    try {
      this.consume(chunk);
      done();
    } catch (e) {
      this.sink.abort();
      done(e as Error);
    }
  }

  override _destroy(err: Error | null, done: (e?: Error | null) => void): void {
    this.sink.abort();
    done(err);
  }

  override _final(done: (e?: Error | null) => void): void {
    try {
      this.end_();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  /**
   * The synchronous interface (used instead of writing to the stream): `consume` each chunk in
   * order (it may be reused by the caller once this returns), then `end_`. Throws what the
   * stream would fail with.
   */
  end_(): void {
    if (this.mode !== 'end' && (this.headerFill > 0 || this.mode === 'meta' || this.remaining > 0 || this.padding > 0)) {
      throw this.corrupt('truncated: the archive ends in the middle of an entry');
    }
    if (this.entries === 0) throw this.corrupt(this.seenAny ? 'no entries left to extract' : 'the archive contains no entries');
    this.guard.finish();
  }

  /** See {@link end_}. */
  consume(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.mode === 'end') return; // trailing blocks and garbage are ignored, as GNU tar does
      if (this.mode === 'header') {
        const take = Math.min(BLOCK - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.onHeader(this.header);
        }
        continue;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + take);
        at += take;
        this.remaining -= take;
        if (this.mode === 'data' && this.passData) this.sink.data(piece);
        else if (this.mode === 'meta') this.meta.push(Buffer.from(piece));
        if (this.remaining > 0) continue;
        if (this.mode === 'meta') this.onMeta(Buffer.concat(this.meta));
        else if (this.passData) {
          this.passData = false;
          this.sink.endFile();
        }
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, chunk.length - at);
        at += take;
        this.padding -= take;
        if (this.padding > 0) continue;
      }
      this.mode = 'header';
    }
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.mode = 'end';
      return;
    }
    this.seenAny = true;
    const stored = readNumber(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (stored !== sum) throw this.corrupt('bad header checksum (not a tar archive, or damaged)');
    const type = String.fromCharCode(h[156] || 48);
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    let name = cString(h, 0, 100);
    if (ustar && h[345] !== 0) name = `${cString(h, 345, 155)}/${name}`;
    const size = this.pending.size ?? readNumber(h, 124, 12);
    if (size < 0 || !Number.isSafeInteger(size)) throw this.corrupt(`bad size in header of ${JSON.stringify(shown(name))}`);
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.remaining = size;

    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_META) throw this.corrupt(`metadata record of ${size} bytes`);
      this.mode = 'meta';
      this.metaType = type;
      this.meta = [];
      if (size === 0) this.onMeta(Buffer.alloc(0));
      return;
    }
    const entryPath = this.pending.path ?? name;
    const linkpath = this.pending.linkpath ?? cString(h, 157, 100);
    this.pending = {};
    this.mode = 'data';
    this.passData = false;
    const kind = kindOf(type, entryPath);
    if (kind === null) throw this.corrupt(`unsupported entry type ${JSON.stringify(type)} for ${JSON.stringify(shown(entryPath))}`);
    if (kind === 'skip') return; // device nodes, fifos, volume labels: never created
    const rel = this.guard.entry(entryPath);
    if (rel === null) return;
    const mode = readNumber(h, 100, 8);
    const mtime = Math.max(0, readNumber(h, 136, 12));
    if (kind === 'symlink') {
      this.guard.symlink(entryPath, rel, linkpath);
      this.give({ type: 'symlink', path: rel, mode: 0o777, mtime, size: 0, link: linkpath });
    } else if (kind === 'hardlink') {
      const target = this.guard.hardlinkTarget(entryPath, linkpath);
      if (target === null) throw new UnsafeArchiveError(shown(entryPath), `hardlink target ${JSON.stringify(shown(linkpath))} is stripped away`);
      this.give({ type: 'hardlink', path: rel, mode: fileMode(mode), mtime, size: 0, link: target });
    } else if (kind === 'dir') {
      this.give({ type: 'dir', path: rel, mode: dirMode(mode), mtime, size: 0, link: '' });
    } else {
      this.expanded += size;
      if (this.expanded > this.maxBytes) throw new ArchiveTooLargeError(this.archive, this.maxBytes);
      this.give({ type: 'file', path: rel, mode: fileMode(mode), mtime, size, link: '' });
      if (size > 0) this.passData = true;
      else this.sink.endFile();
    }
  }

  private onMeta(data: Buffer): void {
    this.mode = 'data';
    this.passData = false;
    if (this.metaType === 'L') this.pending.path = cString(data, 0, data.length);
    else if (this.metaType === 'K') this.pending.linkpath = cString(data, 0, data.length);
    else if (this.metaType === 'x') Object.assign(this.pending, parsePax(data, (r) => this.corrupt(r)));
    // 'g' (global pax) records carry only defaults we do not use: ignored.
  }

  private give(e: TarEntry): void {
    this.entries++;
    this.sink.entry(e);
  }

  private corrupt(reason: string): CorruptArchiveError {
    return new CorruptArchiveError(this.archive, reason);
  }
}

function kindOf(type: string, name: string): Kind | null {
  switch (type) {
    case '0': case '7': return name.endsWith('/') ? 'dir' : 'file';
    case '5': return 'dir';
    case '2': return 'symlink';
    case '1': return 'hardlink';
    case '3': case '4': case '6': case 'V': return 'skip';
    default: return null;
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('latin1', start, end === -1 || end > start + length ? start + length : end);
}

/** Octal (NUL/space terminated) or GNU base-256 (high bit set) numeric field. */
function readNumber(buf: Buffer, start: number, length: number): number {
  if (buf[start] & 0x80) {
    let n = buf[start] & 0x3f;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + buf[i];
    return buf[start] & 0x40 ? -n : n;
  }
  const text = buf.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return parseInt(text, 8);
}

function parsePax(data: Buffer, corrupt: (r: string) => Error): Pending {
  const out: Pending = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space === -1 ? Number.NaN : parseInt(data.toString('latin1', at, space), 10);
    if (!Number.isFinite(len) || len <= 0 || at + len > data.length) throw corrupt('bad pax record');
    const record = data.toString('latin1', space + 1, at + len - 1);
    at += len;
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value)) throw corrupt('bad pax size');
      out.size = Number(value);
    }
  }
  return out;
}
