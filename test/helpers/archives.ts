// Test helper: builds real .tar / .tgz / .tar.xz / .zip archives from a file map or an entry list,
// malicious ones included (`../` names, absolute paths, links out, devices), written byte by byte
// so nothing "fixes" them on the way. Also random incompressible files and sha256 helpers.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, deflateRawSync, gzipSync } from 'node:zlib';
import yazl from 'yazl';

/** Entry content: text, bytes, or `{ file }` streamed from disk (for large entries). */
export type Content = string | Buffer | { file: string };

/** One archive entry, in archive order. `path` is written verbatim (`../x`, `/etc/x` allowed). */
export type EntrySpec =
  | { path: string; type?: 'file'; content?: Content; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink' | 'hardlink'; target: string }
  | { path: string; type: 'fifo' | 'chardev' | 'blockdev' };

/** `{ 'bin/tool': '#!/bin/sh\n...' }`: regular files (mode 0644, or 0755 under `bin/`). */
export type FileMap = Record<string, Content>;

/** Normalise a file map or entry list to an entry list (file maps keep insertion order). */
export function toEntries(spec: FileMap | EntrySpec[]): EntrySpec[] {
  if (Array.isArray(spec)) return spec;
  return Object.entries(spec).map(([p, content]) => ({ path: p, content, mode: p.startsWith('bin/') ? 0o755 : 0o644 }));
}

/** Options of the tar writers. */
export interface TarOptions {
  /** How names longer than 100 bytes are written: pax `path` records (default) or GNU `L` entries. */
  longNames?: 'pax' | 'gnu';
  /** Omit the two end-of-archive zero blocks. */
  noEndBlocks?: boolean;
}

const TYPE: Record<string, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', chardev: '3', blockdev: '4', fifo: '6' };

/** A raw ustar header block (exported for tests that need to damage one). */
export function tarHeader(fields: { name: string; type: string; size?: number; mode?: number; link?: string; mtime?: number }): Buffer {
  const h = Buffer.alloc(512);
  h.write(fields.name, 0, 100, 'utf8');
  h.write(`${(fields.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${(fields.mtime ?? 1700000000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write(fields.type, 156, 'latin1');
  if (fields.link) h.write(fields.link, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function pad(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let len = n + 1;
  while (n + String(len).length !== len) len = n + String(len).length;
  return `${len}${body}`;
}

async function contentSize(c: Content | undefined): Promise<number> {
  if (c === undefined) return 0;
  if (typeof c === 'string') return Buffer.byteLength(c);
  if (Buffer.isBuffer(c)) return c.length;
  return (await fs.stat(c.file)).size;
}

/** The tar stream of `spec`, as chunks (large `{ file }` contents are streamed, not loaded). */
export async function* tarChunks(spec: FileMap | EntrySpec[], options: TarOptions = {}): AsyncGenerator<Buffer> {
  for (const e of toEntries(spec)) {
    const type = TYPE[e.type ?? 'file'];
    const link = 'target' in e ? e.target : '';
    const content = e.type === undefined || e.type === 'file' ? e.content : undefined;
    const size = await contentSize(content);
    let name = e.path;
    const long = Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100;
    if (long && options.longNames === 'gnu') {
      const data = Buffer.from(`${name}\0`);
      yield tarHeader({ name: '././@LongLink', type: 'L', size: data.length });
      yield data;
      yield pad(data.length);
      if (Buffer.byteLength(link) > 100) {
        const l = Buffer.from(`${link}\0`);
        yield tarHeader({ name: '././@LongLink', type: 'K', size: l.length });
        yield l;
        yield pad(l.length);
      }
    } else if (long) {
      const data = Buffer.from(paxRecord('path', name) + (Buffer.byteLength(link) > 100 ? paxRecord('linkpath', link) : ''));
      yield tarHeader({ name: 'PaxHeader', type: 'x', size: data.length });
      yield data;
      yield pad(data.length);
    }
    if (long) name = Buffer.from(name).subarray(0, 100).toString('utf8');
    yield tarHeader({ name, type, size, mode: 'mode' in e ? e.mode : e.type === 'dir' ? 0o755 : 0o644, link: Buffer.from(link).subarray(0, 100).toString() });
    if (content === undefined) continue;
    if (typeof content === 'string' || Buffer.isBuffer(content)) yield Buffer.from(content);
    else for await (const chunk of createReadStream(content.file, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
    yield pad(size);
  }
  if (!options.noEndBlocks) yield Buffer.alloc(1024);
}

/** The whole tar in memory (small archives only). */
export async function tarBuffer(spec: FileMap | EntrySpec[], options: TarOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(spec, options)) parts.push(c);
  return Buffer.concat(parts);
}

/** A .tgz in memory. */
export async function tgzBuffer(spec: FileMap | EntrySpec[], options: TarOptions = {}): Promise<Buffer> {
  return gzipSync(await tarBuffer(spec, options));
}

/** Write a .tgz (streamed, so large entries are fine). Returns the file path. */
export async function writeTgz(file: string, spec: FileMap | EntrySpec[], options: TarOptions = {}): Promise<string> {
  await pipeline(Readable.from(tarChunks(spec, options)), createGzip({ level: 1 }), createWriteStream(file));
  return file;
}

/** Write a .tar.xz with the system `xz`. Returns the file path. */
export async function writeTarXz(file: string, spec: FileMap | EntrySpec[], options: TarOptions = {}): Promise<string> {
  const xz = spawn('xz', ['-zc', '-0', '-T1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    xz.on('error', reject);
    xz.on('close', resolve);
  });
  await Promise.all([pipeline(Readable.from(tarChunks(spec, options)), xz.stdin), pipeline(xz.stdout, createWriteStream(file))]);
  if ((await exited) !== 0) throw new Error('xz failed');
  return file;
}

/**
 * Write a .zip with yazl. yazl refuses unsafe names, so `../` and absolute names are written
 * with a same-length placeholder and patched in the finished bytes (names are not checksummed).
 */
export async function writeZip(file: string, spec: FileMap | EntrySpec[]): Promise<string> {
  const zip = new yazl.ZipFile();
  const patches: Array<[string, string]> = [];
  let n = 0;
  for (const e of toEntries(spec)) {
    let name = e.path;
    if (name.startsWith('/') || name.split('/').includes('..')) {
      const placeholder = `${String(n++).padStart(3, '0')}`.padEnd(name.length, 'q').slice(0, name.length);
      patches.push([placeholder, name]);
      name = placeholder;
    }
    const t = e.type ?? 'file';
    if (t === 'dir') zip.addEmptyDirectory(name, { mode: 0o040000 | ('mode' in e && e.mode !== undefined ? e.mode : 0o755) });
    else if (t === 'symlink' && 'target' in e) zip.addBuffer(Buffer.from(e.target), name, { mode: 0o120777 });
    else if (t === 'file') {
      const c = 'content' in e ? e.content ?? '' : '';
      const mode = 0o100000 | ('mode' in e && e.mode !== undefined ? e.mode : 0o644);
      if (typeof c === 'string' || Buffer.isBuffer(c)) zip.addBuffer(Buffer.from(c), name, { mode });
      else zip.addFile(c.file, name, { mode });
    } else throw new Error(`zip helper: unsupported entry type ${t}`);
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  for (const [from, to] of patches) bytes = replaceAll(bytes, Buffer.from(from), Buffer.from(to));
  await fs.writeFile(file, bytes);
  return file;
}

function replaceAll(buf: Buffer, from: Buffer, to: Buffer): Buffer {
  let at = buf.indexOf(from);
  while (at !== -1) {
    to.copy(buf, at);
    at = buf.indexOf(from, at + to.length);
  }
  return buf;
}

/** Write an archive chosen by the file's suffix (.tgz/.tar.gz, .tar.xz, .zip, .tar). */
export async function writeArchive(file: string, spec: FileMap | EntrySpec[], options: TarOptions = {}): Promise<string> {
  if (/\.(tgz|tar\.gz)$/.test(file)) return writeTgz(file, spec, options);
  if (/\.tar\.xz$/.test(file)) return writeTarXz(file, spec, options);
  if (/\.zip$/.test(file)) return writeZip(file, spec);
  if (/\.tar$/.test(file)) {
    await pipeline(Readable.from(tarChunks(spec, options)), createWriteStream(file));
    return file;
  }
  throw new Error(`writeArchive: unknown suffix of ${file}`);
}

/** Write `bytes` random (incompressible) bytes to `file` in 1 MiB chunks; returns its sha256. */
export async function randomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  async function* gen(): AsyncGenerator<Buffer> {
    for (let left = bytes; left > 0; left -= 1024 * 1024) {
      const chunk = randomBytes(Math.min(left, 1024 * 1024));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(gen()), out);
  return hash.digest('hex');
}

/** sha256 hex of bytes. */
export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 hex of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(file)) hash.update(c as Buffer);
  return hash.digest('hex');
}

/**
 * Every path under `dir` (relative, sorted, directories with a trailing `/`), for assertions.
 * With `skipUnreadable`, a directory that is missing or cannot be read (gone mid-walk after a
 * crash, say) counts as empty instead of failing the walk.
 */
export async function listTree(dir: string, options: { skipUnreadable?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = fs.readdir(path.join(dir, rel), { withFileTypes: true });
    const list = options.skipUnreadable ? await entries.catch(() => []) : await entries;
    for (const d of list) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        out.push(`${r}/`);
        await walk(r);
      } else out.push(r);
    }
  }
  await walk('');
  return out.sort();
}

/**
 * A zip bomb in the style of "overlapping files": one deflated entry, and `copies` central
 * directory records (different names) that all point at its single local header.
 */
export function overlappingZip(content: Buffer, copies: number): Buffer {
  const data = deflateRawSync(content);
  const crc = crc32(content);
  const name = Buffer.from('f0');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central: Buffer[] = [];
  for (let i = 0; i < copies; i++) {
    const n = Buffer.from(`f${i}`);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x0314, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(content.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    c.writeUInt32LE(0, 42);
    central.push(c, n);
  }
  const cd = Buffer.concat(central);
  const offset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(copies, 8);
  end.writeUInt16LE(copies, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([local, name, data, cd, end]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
