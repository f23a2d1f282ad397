// The head of a staging runtime archive: its first bytes, through the end of its bin/node. A
// staging that downloads the runtime (uncached buildpack, git URL) keeps only that head in the app
// cache, not the whole archive with npm, headers and docs (docs/staging-runtime.md): the platform
// uploads and downloads the app cache at every staging. The head's size and sha256 are recorded in
// the manifest's node entry (`bin_node_head_bytes`, `bin_node_head_sha256`) by `dependency add` and
// `update`, which have the verified archive, so every later staging can check what it kept
// against the buildpack, as it checks the whole archive against the manifest's sha256.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import zlib from 'node:zlib';
import * as tar from 'tar';

export { HEAD_BYTES_KEY, HEAD_SHA256_KEY } from './runtime-table.js';

/** `[<folder>/]bin/node`, as bin/supply looks for it. */
const NODE_MEMBER = /^(\.\/)?([^/]+\/)?bin\/node$/;

/**
 * Decompressed bytes the head covers past the end of bin/node's data. GNU gzip, reading a cut
 * stream, writes what it decoded only in whole output windows (32 KiB) before it reports the
 * early end: two windows more, and tar gets all of bin/node from the stack's own gzip.
 */
const MARGIN = 64 * 1024;

/** Compressed bytes fed to the inflater at a time: the precision of the cut. */
const STEP = 4096;

export interface RuntimeHead {
  /** The member holding node, as the archive names it. */
  member: string;
  bytes: number;
  sha256: string;
}

/**
 * The head of the `.tgz` at `file`: the shortest prefix (to {@link STEP} bytes) from which gzip
 * and tar unpack its whole `bin/node`. Undefined when the archive has no such member, or when the
 * head would be the whole archive (nothing to save).
 */
export async function runtimeHead(file: string): Promise<RuntimeHead | undefined> {
  const parser = new tar.Parser();
  let member: string | undefined;
  let end: number | undefined; // decompressed offset of the end of bin/node's last block
  let fed = 0; // decompressed bytes given to the parser
  let out = 0; // decompressed bytes so far
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
  const failed = new Promise<never>((_, reject) => inflate.once('error', reject));
  failed.catch(() => undefined);
  const hash = createHash('sha256');
  let bytes = 0;
  let total = 0;
  const input = createReadStream(file, { highWaterMark: STEP });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (end !== undefined && out >= end + MARGIN) continue; // only its size from here on
      hash.update(chunk);
      bytes += chunk.length;
      await Promise.race([new Promise<void>((resolve) => inflate.write(chunk, () => resolve())), failed]);
    }
  } finally {
    input.destroy();
    inflate.destroy();
  }
  if (member === undefined || end === undefined || out < end + MARGIN || bytes >= total) return undefined;
  return { member, bytes, sha256: hash.digest('hex') };
}
