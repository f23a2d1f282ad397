// One staging at a time owns an app's build cache: two pushes of the same name (two terminals)
// must not write the same cache dirs at once. The owner holds `<cache>.lock` (its pid, made with
// O_EXCL); a second staging meanwhile gets a fresh private cache that is thrown away after.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from './state.js';

export interface CacheLease {
  /** The cache root this staging uses. */
  dir: string;
  /** False when another staging holds the app's cache: `dir` is private and goes on release. */
  shared: boolean;
  release(): Promise<void>;
}

/** Take the app's cache at `cacheRoot` for process `pid`, or a private one when it is busy. */
export async function leaseCache(cacheRoot: string, pid: number): Promise<CacheLease> {
  await mkdir(path.dirname(cacheRoot), { recursive: true });
  const lock = `${cacheRoot}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(pid), { flag: 'wx' });
      return { dir: cacheRoot, shared: true, release: () => rm(lock, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(await readFile(lock, 'utf8').catch(() => ''));
      if (pidAlive(owner)) break;
      await rm(lock, { force: true }); // its owner is gone: take it over
    }
  }
  const dir = await mkdtemp(`${cacheRoot}.private-`);
  return { dir, shared: false, release: () => rm(dir, { recursive: true, force: true }) };
}
