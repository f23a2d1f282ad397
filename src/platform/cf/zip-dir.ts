// Zips a buildpack directory with its mode bits (bin/* must stay 0755, CONTRACT §5), for
// `cf create-buildpack` when the buildpack is given as a directory. The archive is written by the
// packager's writer (temp file renamed into place, yazl's 'error' events listened to from the
// start), so an unreadable file is a typed error, not an unhandled 'error' event.

import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { FileSystemError } from '../../errors.js';
import { writeReproducibleZip, type ZipEntry } from '../../packager/zip.js';

/** Write `dir`'s regular files into `zipFile`, paths relative to `dir`, modes kept. */
export async function zipDirectory(dir: string, zipFile: string): Promise<string> {
  const entries: ZipEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(dir, childRel));
      if (st.isDirectory()) await walk(childRel);
      else if (st.isFile()) entries.push({ path: childRel, mode: st.mode, localPath: path.join(dir, childRel) });
    }
  };
  try {
    await walk('');
    await writeReproducibleZip(entries, zipFile);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const where = err.path ?? dir;
    throw new FileSystemError(where, err.code, `cannot zip the buildpack directory ${dir} into ${zipFile}: ${err.message}`, { cause: e });
  }
  return zipFile;
}
