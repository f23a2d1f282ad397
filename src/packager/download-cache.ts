// The packager's download cache (libbuildpack's layout, shared with buildpack-packager): each
// dependency of a cached zip is taken from the cache or downloaded into it, and its sha256 is
// verified on every use — a corrupted cache entry is discarded and downloaded again.

import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { BuildpackError, PackagerError } from '../errors.js';
import { removeDeadSiblings } from '../deps/fsutil.js';
import type { FetchOptions, Fetcher } from '../deps/types.js';
import { redactUri } from '../log/redact.js';
import { downloadCachePath } from './naming.js';
import type { PackageEvent } from './events.js';

/** One dependency to bring into the cache. */
export interface CacheRequest {
  name: string;
  version: string;
  uri: string;
  sha256: string;
}

/** Makes a fetcher for one download, with that download's progress and retry hooks. */
export type FetcherFactory = (hooks: Pick<FetchOptions, 'onProgress' | 'onRetry'>) => Fetcher;

export interface CacheOptions {
  cacheDir: string;
  createFetcher: FetcherFactory;
  /** Downloads at once (default 4). */
  concurrency?: number;
  onEvent?: (event: PackageEvent) => void;
}

/** Where a dependency's verified file is, and whether it came from the cache or the network. */
export interface CachedFile {
  localPath: string;
  source: 'cache' | 'download';
  bytes: number;
}

/** sha256 hex of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOrNull(file: string): Promise<number | null> {
  try {
    const st = await fs.stat(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** Take one dependency from the cache (verified) or download it there (verified while streaming). */
export async function ensureCached(req: CacheRequest, options: CacheOptions): Promise<CachedFile> {
  const emit = options.onEvent ?? (() => undefined);
  const dest = downloadCachePath(options.cacheDir, req.uri);
  const subject = { name: req.name, version: req.version, uri: redactUri(req.uri) };
  const size = await sizeOrNull(dest);
  if (size !== null) {
    const actual = await sha256File(dest);
    if (actual === req.sha256) {
      emit({ type: 'dependency-ready', ...subject, source: 'cache', bytes: size });
      return { localPath: dest, source: 'cache', bytes: size };
    }
    // Never trust a cache entry whose bytes changed: drop it and fetch a fresh copy.
    emit({ type: 'cache-entry-invalid', ...subject, expected: req.sha256, actual });
    await fs.rm(dest, { force: true });
  }
  // A packaging killed mid-download left its partial temp file here: drop it before the retry.
  await removeDeadSiblings(dest);
  emit({ type: 'download-start', ...subject });
  const fetcher = options.createFetcher({
    onProgress: (received, total) => emit({ type: 'download-progress', ...subject, received, total }),
    onRetry: (attempt, reason) => emit({ type: 'download-retry', ...subject, attempt, reason }),
  });
  try {
    const got = await fetcher.fetchToFile(req.uri, dest, req.sha256);
    emit({ type: 'dependency-ready', ...subject, source: 'download', bytes: got.bytes });
    return { localPath: dest, source: 'download', bytes: got.bytes };
  } catch (err) {
    const what = `${req.name} ${req.version} (${subject.uri})`;
    if (err instanceof BuildpackError) throw new PackagerError(`${what}: ${err.message}`, err.code, { cause: err });
    throw err;
  }
}

/**
 * Bring every request into the cache, at most `concurrency` at a time. Results keep the order of
 * `requests`. The first failure is thrown once the downloads already running have settled.
 */
export async function ensureAllCached(requests: CacheRequest[], options: CacheOptions): Promise<CachedFile[]> {
  const results: CachedFile[] = new Array(requests.length);
  const limit = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < requests.length) {
      const i = next++;
      try {
        results[i] = await ensureCached(requests[i], options);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, requests.length) }, worker));
  if (failure) throw failure.err;
  return results;
}
