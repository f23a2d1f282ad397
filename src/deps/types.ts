// Interfaces of the dependency layer: fetching bytes (shared by staging and the packager) and
// installing a dependency into a directory (staging).

import type { Readable } from 'node:stream';
import type { Dependency } from '../manifest/types.js';

/** Knobs of the HTTP(S)/file fetcher. All optional; defaults suit staging. */
export interface FetchOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** First back-off delay in ms, doubled each retry (default 500). */
  backoffMs?: number;
  /** Connect timeout in ms (default 15000). */
  connectTimeoutMs?: number;
  /** Idle (stall) timeout in ms: no byte for this long aborts the attempt (default 30000). */
  idleTimeoutMs?: number;
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
  /** The environment to read HTTP_PROXY / HTTPS_PROXY / NO_PROXY from (default: none). */
  env?: Record<string, string | undefined>;
  /** Injected sleep, so tests need not wait for real back-off. */
  sleep?: (ms: number) => Promise<void>;
  /** Called with bytes received so far and the total when known. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Called before each retry with the redacted reason. */
  onRetry?: (attempt: number, reason: string) => void;
  /** Bound on the whole fetch, every attempt and back-off included, in ms (default 1800000). */
  totalTimeoutMs?: number;
  /** Longest `Retry-After` honoured, in ms; longer ones are capped (default 60000). */
  maxRetryAfterMs?: number;
  /** Extra trusted CA certificates (PEM) for https, e.g. a corporate proxy's or a test server's. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** What the fetcher gives: a body stream plus its size when the server said it. */
export interface FetchedBody {
  stream: Readable;
  size: number | undefined;
}

export interface Fetcher {
  /**
   * Download `uri` into `dest` (written to a temp file beside it, renamed when complete), hashing
   * while it streams. When `sha256` is given and differs, the temp file is deleted and a
   * ChecksumMismatchError thrown. Returns the digest and size.
   */
  fetchToFile(uri: string, dest: string, sha256?: string): Promise<{ sha256: string; bytes: number }>;
}

/**
 * Streaming access with whole-transfer retries: `consume` reads the body (hashing, extracting...)
 * and is called again on a fresh body when the transfer fails in a retryable way (reset, stall,
 * short body); it must undo its own partial work before rethrowing. Other errors pass through.
 */
export interface BodyFetcher {
  fetchWith<T>(uri: string, consume: (body: FetchedBody) => Promise<T>): Promise<T>;
}

/** Where the installed dependency's file came from, for logs and tests. */
export type InstallSource = 'cached-buildpack' | 'app-cache' | 'download';

export interface InstallResult {
  name: string;
  version: string;
  /** The directory the dependency was extracted into. */
  dir: string;
  source: InstallSource;
}

/** What `supply` needs of an installer (consumer-side interface, STYLE.md). */
export interface DependencyInstaller {
  /** Locate (cached buildpack → app cache → download), verify, extract into `targetDir`. */
  install(dependency: Dependency, targetDir: string, options?: { stripComponents?: number }): Promise<InstallResult>;
  /** Remove app-cache entries not used since this installer was created. */
  cleanupAppCache(): Promise<void>;
}
