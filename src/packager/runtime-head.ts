// The head of a staging runtime archive: its first bytes, through the end of its bin/node. A
// staging that downloads the runtime (uncached buildpack, git URL) keeps only that head in the app
// cache, not the whole archive with npm, headers and docs (docs/staging-runtime.md): the platform
// uploads and downloads the app cache at every staging. The head's size and sha256 are recorded in
// the manifest's node entry (`bin_node_head_bytes`, `bin_node_head_sha256`) by `dependency add` and
// `update`, which have the verified archive, so every later staging can check what it kept
// against the buildpack, as it checks the whole archive against the manifest's sha256.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import zlib from 'node:zlib';
import * as tar from 'tar';

export { HEAD_BYTES_KEY, HEAD_SHA256_KEY } from './runtime-table.js';

/** `[<folder>/]bin/node`, as bin/supply looks for it. */
const NODE_MEMBER = /^(\.\/)?([^/]+\/)?bin\/node$/;

/**
 * Compressed bytes the head keeps past the shortest prefix zlib decodes all of bin/node from.
 * GNU gzip (1.3.x on: `fill_inbuf` writes out its window before it reports an early end) gives a
 * cut stream all it decoded, as zlib does, but it decodes with a few bytes of lookahead: these
 * are its slack. Measured with this machine's gzip 1.12 on a 47 MB node archive, its shortest
 * prefix was zlib's to the byte.
 */
const LOOKAHEAD = 64;

/** Compressed bytes fed to the inflater at a time in the first pass. */
const STEP = 4096;

export interface RuntimeHead {
  /** The member holding node, as the archive names it. */
  member: string;
  bytes: number;
  sha256: string;
}

/** Where bin/node's data ends in the archive (decompressed), and the first STEP-sized piece that reaches it. */
interface Found {
  member: string;
  /** Decompressed offset of the end of bin/node's last block. */
  end: number;
  /** Compressed offset of the piece of input after which the output first reached `end`. */
  piece: number;
  total: number;
}

/** Pass 1: inflate `file` STEP bytes at a time through a tar parser until the output passes bin/node's end. */
async function findNode(data: Buffer): Promise<Found | undefined> {
  const parser = new tar.Parser();
  let member: string | undefined;
  let end: number | undefined;
  let fed = 0; // decompressed bytes given to the parser
  let out = 0;
  parser.on('entry', (e: tar.ReadEntry) => {
    if (end === undefined && e.type === 'File' && NODE_MEMBER.test(e.path)) {
      member = e.path;
      // emitted while its header block is written: the data starts after the block being fed
      end = fed + 512 + e.blockRemain;
    }
    e.resume();
  });
  const inflate = zlib.createGunzip();
  inflate.on('data', (chunk: Buffer) => {
    out += chunk.length;
    // the parser sees 512-byte blocks one at a time, so `fed` says where each header is
    for (let o = 0; end === undefined && o < chunk.length; o += 512) {
      const block = chunk.subarray(o, o + 512);
      parser.write(block);
      fed += block.length;
    }
  });
  let piece: number | undefined;
  await feedData(data, inflate, STEP, (at) => {
    if (piece === undefined && end !== undefined && out >= end) piece = at;
    return piece === undefined;
  });
  if (member === undefined || end === undefined || piece === undefined) return undefined;
  return { member, end, piece, total: data.length };
}

/**
 * Write `data` into `inflate` `step` bytes at a time from `from` (all before `from` at once);
 * after each write, `more(offsetOfThatWrite)` says whether to go on.
 */
async function feedData(data: Buffer, inflate: zlib.Gunzip, step: number, more: (at: number) => boolean, from = 0): Promise<void> {
  const failed = new Promise<never>((_, reject) => inflate.once('error', reject));
  failed.catch(() => undefined);
  const write = (b: Buffer): Promise<void> => Promise.race([new Promise<void>((resolve) => inflate.write(b, () => resolve())), failed]);
  try {
    if (from > 0) await write(data.subarray(0, from));
    for (let at = from; at < data.length; at += step) {
      await write(data.subarray(at, at + step));
      if (!more(at)) return;
    }
  } finally {
    inflate.destroy();
  }
}

/**
 * The head of the `.tgz` at `file`: the shortest prefix from which zlib inflates all of its
 * `bin/node` (to the byte), and {@link LOOKAHEAD} bytes more for GNU gzip, so that the stack's
 * perl and gzip, each into `tar -x --occurrence=1`, unpack the whole binary from it. Undefined when
 * the archive has no such member, or when the head would be the whole archive (nothing to save).
 */
export async function runtimeHead(file: string): Promise<RuntimeHead | undefined> {
  const data = await readFile(file);
  const found = await findNode(data);
  if (found === undefined) return undefined;
  // Pass 2: the piece that reached the end again, a byte at a time
  let out = 0;
  const inflate = zlib.createGunzip();
  inflate.on('data', (chunk: Buffer) => (out += chunk.length));
  let shortest: number | undefined;
  await feedData(data, inflate, 1, (at) => {
    if (out >= found.end) shortest = at + 1;
    return shortest === undefined && at < found.piece + STEP;
  }, found.piece);
  if (shortest === undefined) return undefined;
  const bytes = shortest + LOOKAHEAD;
  if (bytes >= found.total) return undefined;
  return { member: found.member, bytes, sha256: createHash('sha256').update(data.subarray(0, bytes)).digest('hex') };
}
