// Installs one dependency (CONTRACT §4 "Where a dependency's file is found"): cached buildpack
// file, then app cache, then download; hash and extract in the same single pass, and make the
// result visible (target dir, app-cache file) only by atomic renames once the digest matched.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatchError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { redactUri } from '../log/redact.js';
import type { Dependency } from '../manifest/types.js';
import { extractStream, type ExtractOptions } from './extract.js';
import { isFile, removeDeadSiblings, removeQuietly, replaceDir, tempSibling } from './fsutil.js';
import { archiveKind, uriBasename } from './kind.js';
import { HashingTee } from './tee.js';
import type { BodyFetcher, DependencyInstaller, InstallResult, InstallSource } from './types.js';

/** Temp files in the app cache older than this are leftovers of a killed staging. */
const STALE_TEMP_MS = 60 * 60 * 1000;

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
}

/**
 * The staging installer. Log lines (fixed, for tests and users):
 * `-----> Installing <name> <version>` then one of `Copy [<file>]`, `Using cached <name> <version>`
 * or `Download [<redacted uri>]`; a corrupt app-cache file adds a warning and is downloaded again.
 */
export class Installer implements DependencyInstaller {
  private readonly used = new Set<string>();

  constructor(private readonly o: InstallerOptions) {}

  private get cacheRoot(): string {
    return path.join(this.o.cacheDir, 'dependencies');
  }

  /** Locate, verify and extract `dep` into `targetDir` (replacing what was there). */
  async install(dep: Dependency, targetDir: string, options: { stripComponents?: number } = {}): Promise<InstallResult> {
    const { logger } = this.o;
    logger.beginStep(`Installing ${dep.name} ${dep.version}`);
    const name = uriBasename(dep.uri);
    const extract: ExtractOptions & { name: string } = { name, kind: archiveKind(dep.uri), stripComponents: options.stripComponents, spoolDir: this.o.tmpDir };
    const key = createHash('sha256').update(dep.uri).digest('hex');
    this.used.add(key);
    const cacheFile = path.join(this.cacheRoot, key, name);
    const result = (source: InstallSource): InstallResult => ({ name: dep.name, version: dep.version, dir: targetDir, source });

    const bundled = await this.cachedBuildpackFile(dep);
    if (bundled) {
      logger.info(`Copy [${bundled}]`);
      const staged = await this.onePass(createReadStream(bundled, { highWaterMark: 1024 * 1024 }), [], dep, targetDir, extract);
      await staged.commit();
      return result('cached-buildpack');
    }

    if (await isFile(cacheFile)) {
      logger.info(`Using cached ${dep.name} ${dep.version}`);
      try {
        const staged = await this.onePass(createReadStream(cacheFile, { highWaterMark: 1024 * 1024 }), [], dep, targetDir, extract);
        await staged.commit();
        return result('app-cache');
      } catch (e) {
        if (!(e instanceof ChecksumMismatchError)) throw e;
        // Cache files are only ever renamed in complete and verified: this one was changed since.
        logger.warning(`The cached file of ${dep.name} ${dep.version} does not match its sha256; downloading it again`);
        await removeQuietly(cacheFile);
      }
    }

    logger.info(`Download [${redactUri(dep.uri)}]`);
    await fs.mkdir(this.cacheRoot, { recursive: true });
    await this.o.fetcher.fetchWith(dep.uri, async (body) => {
      // The temp file sits in the cache root, not in the entry dir, so a concurrent installer's
      // cleanup (which removes unused entry dirs) cannot delete it under us.
      // A staging killed mid-download left its partial file here: drop it now, not in an hour.
      await removeDeadSiblings(path.join(this.cacheRoot, key));
      const tmpFile = tempSibling(path.join(this.cacheRoot, key), 'download');
      try {
        const staged = await this.onePass(body.stream, [createWriteStream(tmpFile, { flags: 'wx', mode: 0o644 })], dep, targetDir, extract);
        try {
          await moveIntoCache(tmpFile, cacheFile);
          await staged.commit();
        } catch (e) {
          await staged.discard();
          throw e;
        }
      } catch (e) {
        await removeQuietly(tmpFile);
        throw e;
      }
    });
    return result('download');
  }

  /** Remove app-cache entries this installer did not use, and temp files left by killed stagings. */
  async cleanupAppCache(): Promise<void> {
    const entries = await fs.readdir(this.cacheRoot, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(this.cacheRoot, e.name);
        if (e.name.startsWith('.')) {
          const stat = await fs.stat(p).catch(() => undefined);
          if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) await removeQuietly(p);
          return;
        }
        if (!this.used.has(e.name)) await removeQuietly(p);
      }),
    );
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
   * Read `source` once: hash it, copy it to `copies`, and extract it into a temp dir beside the
   * target. Resolves with a staged result to commit (rename into place) only if the digest
   * matched and extraction succeeded; otherwise the temp dir is removed and the error thrown
   * (a digest mismatch wins over an extraction error: a tampered file says so).
   */
  private async onePass(source: Readable, copies: Writable[], dep: Dependency, target: string, extract: ExtractOptions & { name: string }): Promise<{ commit(): Promise<void>; discard(): Promise<void> }> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await removeDeadSiblings(target);
    const tmp = tempSibling(target, 'extract');
    await fs.mkdir(tmp, { mode: 0o755 });
    const forward = new PassThrough({ highWaterMark: 1024 * 1024 });
    const tee = new HashingTee(copies, [forward]);
    const extraction = extractStream(forward, tmp, extract).then(() => undefined, (e: unknown) => ({ e }));
    let readError: { e: unknown } | undefined;
    try {
      await pipeline(source, tee);
    } catch (e) {
      readError = { e };
      forward.destroy(e as Error);
    }
    const extractError = await extraction;
    const discard = (): Promise<void> => removeQuietly(tmp);
    if (readError) {
      await discard();
      throw readError.e;
    }
    const actual = tee.digest();
    if (actual !== dep.sha256.toLowerCase()) {
      await discard();
      throw new ChecksumMismatchError(dep.sha256, actual, `${dep.name} ${dep.version}`);
    }
    if (extractError) {
      await discard();
      throw extractError.e;
    }
    return {
      commit: async () => {
        try {
          await replaceDir(tmp, target);
        } catch (e) {
          await discard();
          throw e;
        }
      },
      discard,
    };
  }
}

/** Rename a verified temp file to its cache place; recreate the entry dir if a concurrent cleanup removed it. */
async function moveIntoCache(tmpFile: string, cacheFile: string): Promise<void> {
  for (let i = 0; ; i++) {
    await fs.mkdir(path.dirname(cacheFile), { recursive: true });
    try {
      await fs.rename(tmpFile, cacheFile);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || i >= 3) throw e;
    }
  }
}
