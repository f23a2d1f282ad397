// Installs one dependency (CONTRACT §4 "Where a dependency's file is found"): cached buildpack
// file, then app cache, then download. Nothing unpacked is used before its sha256 is known: a
// .tgz is hashed in the pass that unpacks it into a private temp dir (read from the cached
// buildpack or the app cache, or as a download arrives, written to the app cache's temp file at
// the same time); other kinds are hashed first, a download of them into the app cache's temp file
// (bounded in size), and then unpacked. Results become visible (target dir, app-cache file) only
// by renames, after the compare.

import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { ArchiveTooLargeError, ChecksumMismatchError, FileSystemError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { redactUri } from '../log/redact.js';
import type { Dependency } from '../manifest/types.js';
import { DEFAULT_MAX_UNPACKED_BYTES, extractFile, hashedInPass, openExtractSink, type ExtractOptions } from './extract.js';
import { ensureDir, fsError, isFile, removeDeadSiblings, removeQuietly, replaceDir, tempSibling } from './fsutil.js';
import { archiveKind, uriBasename } from './kind.js';
import type { BodyFetcher, DependencyInstaller, InstallResult, InstallSource } from './types.js';

/** Temp files in the app cache older than this are leftovers of a killed staging. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Renames into the app cache retried after a concurrent cleanup removed the entry dir. */
const CACHE_RENAME_TRIES = 3;

/** Collaborators of {@link Installer}. */
export interface InstallerOptions {
  /** The buildpack's root: cached-buildpack `file:` entries are relative to it. */
  buildpackDir: string;
  /** The staging cache dir (`bin/supply`'s CACHE); the app cache is `<cacheDir>/dependencies/`. */
  cacheDir: string;
  logger: Logger;
  fetcher: BodyFetcher;
  /** Where zip archives read from a stream are spooled (default: beside the target). */
  tmpDir?: string;
  /**
   * Most bytes one dependency may expand to, and the largest download accepted
   * (default {@link DEFAULT_MAX_UNPACKED_BYTES}).
   */
  maxUnpackedBytes?: number;
}

interface Staged {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * The staging installer. Log lines (fixed, for tests and users):
 * `-----> Installing <name> <version>` then one of `Copy [<file>]`, `Using cached <name> <version>`
 * or `Download [<redacted uri>]`; a corrupt or damaged app-cache entry adds a warning, is
 * removed and is downloaded again.
 */
export class Installer implements DependencyInstaller {
  private readonly used = new Set<string>();

  constructor(private readonly o: InstallerOptions) {}

  private get cacheRoot(): string {
    return path.join(this.o.cacheDir, 'dependencies');
  }

  private get maxBytes(): number {
    return this.o.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  }

  /** Locate, verify and extract `dep` into `targetDir` (replacing what was there). */
  async install(dep: Dependency, targetDir: string, options: { stripComponents?: number } = {}): Promise<InstallResult> {
    const { logger } = this.o;
    logger.beginStep(`Installing ${dep.name} ${dep.version}`);
    const name = uriBasename(dep.uri);
    const extract: ExtractOptions & { name: string } = { name, kind: archiveKind(dep.uri), stripComponents: options.stripComponents, maxBytes: this.maxBytes, where: targetDir };
    const key = createHash('sha256').update(dep.uri).digest('hex');
    this.used.add(key);
    const result = (source: InstallSource): InstallResult => ({ name: dep.name, version: dep.version, dir: targetDir, source });

    const bundled = await this.cachedBuildpackFile(dep);
    if (bundled) {
      logger.info(`Copy [${bundled}]`);
      const { staged, actual } = await this.unpackVerified(bundled, targetDir, extract, dep.sha256.toLowerCase(), 'read the cached buildpack file');
      if (!staged) throw new ChecksumMismatchError(dep.sha256, actual, `${dep.name} ${dep.version}`);
      await staged.commit();
      return result('cached-buildpack');
    }

    const cacheFile = await this.appCacheFile(dep, key, name);
    if (cacheFile) {
      logger.info(`Using cached ${dep.name} ${dep.version}`);
      const { staged } = await this.unpackVerified(cacheFile, targetDir, extract, dep.sha256.toLowerCase(), 'read the app cache file');
      if (staged) {
        await staged.commit();
        return result('app-cache');
      }
      // Cache files are only ever renamed in complete and verified: this one was changed since.
      logger.warning(`The cached file of ${dep.name} ${dep.version} does not match its sha256; downloading it again`);
      await this.removeEntry(path.join(this.cacheRoot, key));
    }

    logger.info(`Download [${redactUri(dep.uri)}]`);
    await ensureDir(this.cacheRoot, 'the app cache directory');
    const { tmpFile, unpacked } = await this.download(dep, key, name, targetDir, extract);
    try {
      const staged = unpacked ?? (await this.unpack(tmpFile, targetDir, extract));
      try {
        await moveIntoCache(tmpFile, path.join(this.cacheRoot, key, name));
        await staged.commit();
      } catch (e) {
        await staged.discard();
        throw e;
      }
    } finally {
      await removeQuietly(tmpFile); // gone already when it was moved into the cache
    }
    return result('download');
  }

  /** Remove app-cache entries this installer did not use, and temp files left by killed stagings. */
  async cleanupAppCache(): Promise<void> {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.cacheRoot, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(this.cacheRoot, e.name);
      if (e.name.startsWith('.')) {
        const stat = lstatOrUndefined(p);
        if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) await removeQuietly(p);
      } else if (!this.used.has(e.name)) await removeQuietly(p);
    }
  }

  /** The cached buildpack's file for `dep`, when the manifest names one that exists inside the buildpack. */
  private async cachedBuildpackFile(dep: Dependency): Promise<string | undefined> {
    if (!dep.file) return undefined;
    const root = path.resolve(this.o.buildpackDir);
    const file = path.resolve(root, dep.file);
    if (!file.startsWith(root + path.sep)) return undefined;
    return (await isFile(file)) ? file : undefined;
  }

  /**
   * The app cache's file for `dep` when there is one to try. Nothing there is followed: an entry
   * directory that is a symlink (or not a directory), or a cached "file" that is not a regular
   * file, is a poisoned entry: removed, with a warning, and the file is downloaded again. An
   * app cache the system will not let us read is a FileSystemError, not a silent miss.
   */
  private async appCacheFile(dep: Dependency, key: string, name: string): Promise<string | undefined> {
    const root = lstatOrNone(this.cacheRoot, 'read the app cache directory');
    if (root === undefined) return undefined;
    if (root.isSymbolicLink()) {
      throw new FileSystemError(this.cacheRoot, undefined, `the app cache directory ${this.cacheRoot} is a symlink, which is never followed: remove it (the app's build cache is damaged)`);
    }
    if (!root.isDirectory()) {
      throw fsError(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }), 'use the app cache directory', this.cacheRoot);
    }
    const entryDir = path.join(this.cacheRoot, key);
    const entry = lstatOrNone(entryDir, 'read the app cache entry');
    if (entry === undefined) return undefined;
    const file = path.join(entryDir, name);
    const stat = entry.isDirectory() ? lstatOrNone(file, 'read the app cache file') : entry;
    if (stat === undefined) return undefined;
    if (stat.isFile() && entry.isDirectory()) return file;
    const what = entry.isDirectory() ? file : entryDir;
    this.o.logger.warning(`The app cache entry of ${dep.name} ${dep.version} (${what}) is ${describe(stat)}, not a ${entry.isDirectory() ? 'file' : 'directory'}; removing it and downloading again`);
    await this.removeEntry(entryDir);
    return undefined;
  }

  /** Remove an app-cache entry dir (a symlink itself, never its target); failing that, say where. */
  private async removeEntry(entryDir: string): Promise<void> {
    try {
      rmSync(entryDir, { recursive: true, force: true });
    } catch (e) {
      throw fsError(e, 'remove the damaged app cache entry', entryDir);
    }
  }

  /**
   * Download `dep` into a temp file of the app cache root, hashing as it streams; the file is
   * refused past the size limit and removed unless its digest matched. Returns its path, and for a
   * .tgz what it unpacked into a temp dir beside `target` in the same pass (`unpacked`, to commit).
   * An archive that fails to unpack is still read and hashed to its end: a file that is not the
   * manifest's is a checksum mismatch, whatever it tripped the extraction on.
   */
  private async download(dep: Dependency, key: string, name: string, target: string, extract: ExtractOptions & { name: string }): Promise<{ tmpFile: string; unpacked?: Staged }> {
    const limit = this.maxBytes;
    return this.o.fetcher.fetchWith(dep.uri, async (body) => {
      if (body.size !== undefined && body.size > limit) throw new ArchiveTooLargeError(redactUri(dep.uri), limit, `the server announces ${body.size} bytes`);
      // The temp file sits in the cache root, not in the entry dir, so a concurrent installer's
      // cleanup (which removes unused entry dirs) cannot delete it under us.
      // A staging killed mid-download left its partial file here: drop it now, not in an hour.
      await removeDeadSiblings(path.join(this.cacheRoot, key));
      const tmpFile = tempSibling(path.join(this.cacheRoot, key), 'download');
      const hash = createHash('sha256');
      const writeFailed = (e: unknown) => fsError(e, `write the download of ${name} into the app cache`, this.cacheRoot);
      // (a temp dir that cannot be made now is tried again, and its failure told, after the compare)
      const unpacked = hashedInPass(extract.kind ?? archiveKind(name)) ? await this.stage(target).catch(() => undefined) : undefined;
      let sink = unpacked && openExtractSink(unpacked.dir, extract);
      let unpackError: unknown;
      // what a failed unpacking wrote goes at once: a disk it fills may be the app cache's too, and
      // the rest of the download must still be written and hashed there
      const unpackFailed = (e: unknown): void => {
        unpackError = e;
        sink?.destroy();
        sink = undefined;
        try {
          rmSync(unpacked!.dir, { recursive: true, force: true });
        } catch {
          // removed again by discard(), or by the next staging (a dead process's temp sibling)
        }
      };
      const drop = async (): Promise<void> => {
        sink?.destroy();
        await unpacked?.discard();
        await removeQuietly(tmpFile);
      };
      let fd: number;
      try {
        fd = openSync(tmpFile, 'wx', 0o644);
      } catch (e) {
        await drop();
        throw writeFailed(e);
      }
      // each piece is written as it comes, synchronously (a write to the page cache costs less
      // than a thread-pool round trip: src/sync-fs.ts), and unpacked while the next is on its way
      let bytes = 0;
      try {
        try {
          for await (const chunk of body.stream as AsyncIterable<Buffer>) {
            bytes += chunk.length;
            if (bytes > limit) throw new ArchiveTooLargeError(redactUri(dep.uri), limit, 'the download is larger');
            hash.update(chunk);
            try {
              writeAll(fd, chunk);
            } catch (e) {
              throw writeFailed(e);
            }
            try {
              sink?.write(chunk);
            } catch (e) {
              unpackFailed(e);
            }
          }
        } finally {
          closeSync(fd);
        }
        try {
          sink?.end();
          sink = undefined;
        } catch (e) {
          unpackFailed(e);
        }
      } catch (e) {
        // the body's own errors stay as they are (the fetcher retries them); a refused write says where
        await drop();
        throw e;
      }
      const actual = hash.digest('hex');
      if (actual !== dep.sha256.toLowerCase()) {
        await drop();
        throw new ChecksumMismatchError(dep.sha256, actual, `${dep.name} ${dep.version}`);
      }
      if (unpackError !== undefined) {
        await drop();
        throw unpackError;
      }
      return { tmpFile, unpacked };
    });
  }

  /**
   * `file` unpacked into a temp dir beside `target` when its sha256 is `expected` (else nothing
   * staged, and the file's `actual` sha256). A .tgz is hashed in the same pass that unpacks it, so
   * it is read once, not twice; what it unpacks stays in the temp dir, never seen as `target`,
   * until the hash has matched, and goes when it does not. Other kinds are hashed before they are
   * unpacked. An archive that fails to unpack is hashed whole first: a file that is not the
   * manifest's is a checksum mismatch, not a corrupt archive.
   */
  private async unpackVerified(file: string, target: string, extract: ExtractOptions & { name: string }, expected: string, doing: string): Promise<{ staged?: Staged; actual: string }> {
    if (!hashedInPass(extract.kind ?? archiveKind(extract.name))) {
      const actual = await hashFile(file, doing);
      return actual === expected ? { staged: await this.unpack(file, target, extract), actual } : { actual };
    }
    const hash = createHash('sha256');
    let staged: Staged;
    try {
      staged = await this.unpack(file, target, { ...extract, hash });
    } catch (e) {
      const actual = await hashFile(file, doing);
      if (actual !== expected) return { actual };
      throw e;
    }
    const actual = hash.digest('hex');
    if (actual === expected) return { staged, actual };
    await staged.discard();
    return { actual };
  }

  /** A temp dir beside `target` to unpack into; commit renames it into place. */
  private async stage(target: string): Promise<Staged & { dir: string }> {
    await ensureDir(path.dirname(target), 'the deps directory');
    await removeDeadSiblings(target);
    const tmp = tempSibling(target, 'extract');
    try {
      mkdirSync(tmp, { mode: 0o755 });
    } catch (e) {
      throw fsError(e, 'create a directory in', path.dirname(target));
    }
    const discard = (): Promise<void> => removeQuietly(tmp);
    return {
      dir: tmp,
      commit: async () => {
        try {
          await replaceDir(tmp, target);
        } catch (e) {
          await discard();
          throw fsError(e, 'move the unpacked dependency to', target);
        }
      },
      discard,
    };
  }

  /** Extract the verified `file` into a temp dir beside `target`; commit renames it into place. */
  private async unpack(file: string, target: string, extract: ExtractOptions & { name: string }): Promise<Staged> {
    const staged = await this.stage(target);
    try {
      await extractFile(file, staged.dir, extract);
    } catch (e) {
      await staged.discard();
      throw e;
    }
    return staged;
  }
}

/** Write all of `data` at the file's position (a short write is continued). */
function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
}

/** Hashed between two yields to the event loop (so signals and timers are served meanwhile). */
const HASH_SLICE = 8 * 1024 * 1024;

/**
 * sha256 (hex) of a file; a read the system refuses is a FileSystemError saying which file.
 * Synchronous reads into one buffer: 1 MiB reads through the thread pool took twice as long as
 * hashing them (profiled on an 8 MiB file).
 */
async function hashFile(file: string, doing: string): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  try {
    const fd = openSync(file, 'r');
    try {
      let sinceYield = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        hash.update(n === buf.length ? buf : buf.subarray(0, n));
        sinceYield += n;
        if (sinceYield >= HASH_SLICE) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fsError(e, doing, file);
  }
  return hash.digest('hex');
}

function lstatOrNone(p: string, doing: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(e, doing, p);
  }
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function describe(s: Stats): string {
  if (s.isSymbolicLink()) return 'a symlink';
  if (s.isDirectory()) return 'a directory';
  if (s.isFile()) return 'a file';
  return 'a special file';
}

/**
 * Rename a verified temp file to its cache place; recreate the entry dir if a concurrent cleanup
 * removed it (a few times, then the error stands: a persistent failure does not loop). The entry
 * dir is made without `recursive`, and checked: a symlink planted there is never followed.
 */
async function moveIntoCache(tmpFile: string, cacheFile: string): Promise<void> {
  const dir = path.dirname(cacheFile);
  for (let i = 1; ; i++) {
    try {
      try {
        mkdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (!lstatSync(dir).isDirectory()) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
        }
      }
      renameSync(tmpFile, cacheFile);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || i >= CACHE_RENAME_TRIES) throw fsError(e, 'store the download in the app cache at', cacheFile);
    }
  }
}
