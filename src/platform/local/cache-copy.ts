// The app cache a staging works on: a copy of the one kept between stagings whose large files
// (runtimes, archives: 100 MB and more, whose copying was the largest single cost of a warm local
// push) are hard links, not copies of their bytes. Small files are copied: scripts rewrite those
// in place all the time (`echo n > "$CACHE/count"`). Links keep the promise that the kept cache
// is replaced only by a staging that succeeds as long as the scripts replace large files rather
// than write into them; `writtenInPlace` tells when a failed staging did, and then the kept cache
// can no longer be trusted (the caller drops it: a cache may always be lost).

import { constants } from 'node:fs';
import { copyFile, cp, link, lstat, mkdir, readdir, readlink, stat, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';

/** A file of the kept cache linked into a staging's copy, as it was before the staging. */
export interface LinkedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Files from this size on are linked; smaller ones are copied. */
export const LINK_MIN_BYTES = 1024 * 1024;

/** Link errors that mean "copy instead": another file system, a file system without links, too many links, not allowed. */
const COPY_INSTEAD = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Make `dest` (which must not exist) a tree like `src`: folders with their modes and times, symlinks
 * as they are, regular files of {@link LINK_MIN_BYTES} or more as hard links (copies where a link
 * cannot be made), smaller ones as copies with their times. Returns the linked files with their
 * size and mtime, for {@link writtenInPlace}.
 */
export async function linkTree(src: string, dest: string): Promise<LinkedFile[]> {
  const linked: LinkedFile[] = [];
  const walk = async (from: string, to: string): Promise<void> => {
    const st = await stat(from);
    await mkdir(to, { mode: st.mode & 0o7777 });
    for (const e of await readdir(from, { withFileTypes: true })) {
      const a = path.join(from, e.name);
      const b = path.join(to, e.name);
      if (e.isDirectory()) await walk(a, b);
      else if (e.isSymbolicLink()) await symlink(await readlink(a), b);
      else if (e.isFile()) {
        const fst = await lstat(a);
        const linkedNow =
          fst.size >= LINK_MIN_BYTES &&
          (await link(a, b).then(
            () => true,
            (err: NodeJS.ErrnoException) => {
              if (!COPY_INSTEAD.has(err.code ?? '')) throw err;
              return false;
            },
          ));
        if (linkedNow) linked.push({ path: a, size: fst.size, mtimeMs: fst.mtimeMs });
        else {
          await copyFile(a, b, constants.COPYFILE_EXCL);
          await utimes(b, fst.atime, fst.mtime);
        }
      } else await cp(a, b); // sockets, fifos, devices: refused as a copy refuses them
    }
    await utimes(to, st.atime, st.mtime);
  };
  await walk(src, dest);
  return linked;
}

/**
 * The first linked file whose size or mtime changed since {@link linkTree}: written in place. A
 * file gone from the kept cache is not (another staging of the app replaced the cache meanwhile).
 */
export async function writtenInPlace(linked: LinkedFile[]): Promise<string | undefined> {
  for (const f of linked) {
    const now = await lstat(f.path).catch(() => undefined);
    if (now && (now.size !== f.size || now.mtimeMs !== f.mtimeMs)) return f.path;
  }
  return undefined;
}
