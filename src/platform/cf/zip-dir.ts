// Zips a buildpack directory with its mode bits (bin/* must stay 0755, CONTRACT §5), for
// `cf create-buildpack` when the buildpack is given as a directory.

import { createWriteStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';

/** Write `dir`'s regular files into `zipFile`, paths relative to `dir`, modes kept. */
export async function zipDirectory(dir: string, zipFile: string): Promise<string> {
  const zip = new yazl.ZipFile();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(dir, childRel));
      if (st.isDirectory()) await walk(childRel);
      else if (st.isFile()) zip.addFile(path.join(dir, childRel), childRel, { mode: st.mode });
    }
  };
  await walk('');
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(zipFile)).on('close', () => resolve()).on('error', reject);
    zip.end();
  });
  return zipFile;
}
