// A streaming tar filter: parses the archive (ustar, pax, GNU long names), checks every entry
// with EntryGuard, and re-encodes only validated entries as plain ustar (GNU long-name records
// for long names) for the system tar. Because the extracting tar sees only what was checked,
// parser differences cannot be exploited. Names are kept as raw bytes (latin1 strings), so
// names that are not UTF-8 are written exactly as archived and never merge into one.

import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveTooLargeError, CorruptArchiveError, UnsafeArchiveError } from '../errors.js';
import { EntryGuard, dirMode, fileMode, shown } from './guard.js';

const BLOCK = 512;
/** Largest pax or GNU long-name record we accept (real ones are a few hundred bytes). */
const MAX_META = 1024 * 1024;

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'skip';

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
}

/**
 * Transform from a tar stream to a sanitized tar stream. Device nodes and fifos are skipped;
 * setuid/setgid/sticky bits dropped; owners zeroed. Errors: UnsafeArchiveError for an escaping
 * entry, CorruptArchiveError for a bad header, a truncated stream or an archive with no entries.
 */
export class TarSanitizer extends Transform {
  private readonly guard: EntryGuard;
  private readonly archive: string;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes of entry data still to read, then padding to skip. */
  private remaining = 0;
  private padding = 0;
  private mode: 'header' | 'data' | 'meta' | 'skip' | 'end' = 'header';
  private passData = false;
  private outPadding = 0;
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
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.mode !== 'end' && (this.headerFill > 0 || this.mode === 'meta' || this.remaining > 0 || this.padding > 0)) {
      return done(this.corrupt('truncated: the archive ends in the middle of an entry'));
    }
    if (this.entries === 0) {
      return done(this.corrupt(this.seenAny ? 'no entries left to extract' : 'the archive contains no entries'));
    }
    try {
      this.guard.finish();
    } catch (e) {
      return done(e as Error);
    }
    this.push(Buffer.alloc(BLOCK * 2));
    done();
  }

  private consume(chunk: Buffer): void {
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
        if (this.mode === 'data' && this.passData) this.push(piece);
        else if (this.mode === 'meta') this.meta.push(Buffer.from(piece));
        if (this.remaining > 0) continue;
        if (this.mode === 'meta') this.onMeta(Buffer.concat(this.meta));
        if (this.mode === 'data' && this.passData && this.outPadding > 0) this.push(Buffer.alloc(this.outPadding));
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
      this.emit2(rel, '2', 0o777, 0, mtime, linkpath);
    } else if (kind === 'hardlink') {
      const target = this.guard.hardlinkTarget(entryPath, linkpath);
      if (target === null) throw new UnsafeArchiveError(shown(entryPath), `hardlink target ${JSON.stringify(shown(linkpath))} is stripped away`);
      this.emit2(rel, '1', fileMode(mode), 0, mtime, target);
    } else if (kind === 'dir') {
      this.emit2(rel, '5', dirMode(mode), 0, mtime, '');
    } else {
      this.expanded += size;
      if (this.expanded > this.maxBytes) throw new ArchiveTooLargeError(this.archive, this.maxBytes);
      this.emit2(rel, '0', fileMode(mode), size, mtime, '');
      this.passData = true;
      this.outPadding = this.padding;
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

  /** Push one validated entry's header(s): GNU long-name records first when a name does not fit ustar. */
  private emit2(name: string, type: string, mode: number, size: number, mtime: number, link: string): void {
    this.entries++;
    const nameBytes = Buffer.from(name, 'latin1');
    const linkBytes = Buffer.from(link, 'latin1');
    // GNU 'L'/'K' records carry raw bytes (pax records would be charset-converted by GNU tar).
    if (linkBytes.length > 100) this.pushLong('K', linkBytes, mtime);
    if (nameBytes.length > 100) this.pushLong('L', nameBytes, mtime);
    this.push(encodeHeader(nameBytes.subarray(0, 100), type, mode, size, mtime, linkBytes.subarray(0, 100)));
  }

  private pushLong(type: 'L' | 'K', value: Buffer, mtime: number): void {
    const body = Buffer.concat([value, Buffer.alloc(1)]);
    this.push(encodeHeader(Buffer.from('././@LongLink'), type, 0o644, body.length, mtime, Buffer.alloc(0)));
    this.push(body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad) this.push(Buffer.alloc(pad));
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

function encodeHeader(name: Buffer, type: string, mode: number, size: number, mtime: number, link: Buffer): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0);
  h.write(octal(mode, 7), 100, 'latin1');
  h.write(octal(0, 7), 108, 'latin1');
  h.write(octal(0, 7), 116, 'latin1');
  if (size < 0o77777777777) h.write(octal(size, 11), 124, 'latin1');
  else {
    // GNU base-256 for entries of 8 GiB and more.
    h[124] = 0x80;
    let n = size;
    for (let i = 135; i > 124; i--) { h[i] = n % 256; n = Math.floor(n / 256); }
  }
  h.write(octal(Math.min(mtime, 0o77777777777), 11), 136, 'latin1');
  h.write(type, 156, 'latin1');
  link.copy(h, 157);
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width, '0')}\0`;
}
