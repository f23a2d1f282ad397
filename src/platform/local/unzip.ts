// Extracts a buildpack zip with its mode bits (the platform honours them, CONTRACT §5), keeping
// every entry and symlink inside the target directory.

import { createWriteStream } from 'node:fs';
import { mkdir, symlink, chmod } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { CorruptArchiveError, UnsafeArchiveError } from '../../errors.js';

function inside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => (err || !zip ? reject(err) : resolve(zip)));
  });
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err) : resolve(stream)));
  });
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Extract `file` into `dest` (created). Unix mode bits of entries are applied. */
export async function extractZip(file: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (e) {
    throw new CorruptArchiveError(file, (e as Error).message, { cause: e });
  }
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      zip.close();
      reject(e instanceof UnsafeArchiveError ? e : new CorruptArchiveError(file, (e as Error).message, { cause: e }));
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      handle(entry).then(() => zip.readEntry(), fail);
    });
    const handle = async (entry: yauzl.Entry) => {
      const target = path.resolve(dest, entry.fileName);
      if (!inside(dest, target)) throw new UnsafeArchiveError(entry.fileName, 'escapes the target directory');
      const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const type = unixMode & 0o170000;
      if (entry.fileName.endsWith('/') || type === 0o040000) {
        await mkdir(target, { recursive: true });
        return;
      }
      await mkdir(path.dirname(target), { recursive: true });
      const stream = await entryStream(zip, entry);
      if (type === 0o120000) {
        const linkTarget = await readAll(stream);
        if (!inside(dest, path.resolve(path.dirname(target), linkTarget))) {
          throw new UnsafeArchiveError(entry.fileName, `link to ${linkTarget} escapes the target directory`);
        }
        await symlink(linkTarget, target);
        return;
      }
      const mode = unixMode & 0o777 || 0o644;
      await pipeline(stream, createWriteStream(target, { mode }));
      await chmod(target, mode);
    };
    zip.readEntry();
  });
}
