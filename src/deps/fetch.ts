// The fetcher: http(s) and file URIs, streamed, with retries of only what can succeed on retry
// (network errors, stalls, short bodies, 408, 429, 5xx), exponential back-off, Retry-After,
// and every message redacted. One attempt's mechanics live in http-attempt.ts.

import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatchError, DownloadError } from '../errors.js';
import { redactText, redactUri } from '../log/redact.js';
import { removeStreamFile, tempSibling } from './fsutil.js';
import { HashingTee } from './tee.js';
import { AttemptError, openOnce, type AttemptSettings } from './http-attempt.js';
import type { BodyFetcher, FetchedBody, Fetcher, FetchOptions } from './types.js';

const DEFAULTS = {
  attempts: 5,
  backoffMs: 500,
  connectTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  maxRedirects: 10,
  totalTimeoutMs: 30 * 60_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Fetches URIs for staging and packaging. Throws DownloadError (redacted URI, reason, HTTP status
 * when there was one) once retries are exhausted or at the first non-retryable failure.
 */
export class HttpFetcher implements Fetcher, BodyFetcher {
  private readonly o: FetchOptions & typeof DEFAULTS;

  constructor(options: FetchOptions = {}) {
    const set = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...set } as FetchOptions & typeof DEFAULTS;
  }

  /**
   * Run `consume` on the body of `uri`; when the transfer fails in a retryable way (the error
   * thrown by `consume` is the body stream's own), wait and call it again on a new body.
   * `consume` must clean up its partial work before rethrowing.
   */
  async fetchWith<T>(uri: string, consume: (body: FetchedBody) => Promise<T>): Promise<T> {
    const shown = redactUri(uri);
    const deadline = Date.now() + this.o.totalTimeoutMs;
    const settings: AttemptSettings = {
      connectTimeoutMs: this.o.connectTimeoutMs,
      idleTimeoutMs: this.o.idleTimeoutMs,
      maxRedirects: this.o.maxRedirects,
      deadline,
      env: this.o.env ?? {},
      ca: this.o.ca,
      onProgress: this.o.onProgress,
    };
    for (let attempt = 1; ; attempt++) {
      let failure: AttemptError;
      let body: FetchedBody | undefined;
      try {
        body = await openOnce(uri, settings);
        return await consume(body);
      } catch (e) {
        body?.stream.destroy();
        if (!(e instanceof AttemptError)) throw e;
        failure = e;
      }
      if (!failure.retryable) throw new DownloadError(shown, failure.message, failure.status, { cause: failure });
      if (attempt >= this.o.attempts) {
        throw new DownloadError(shown, `${failure.message} (gave up after ${attempt} attempts)`, failure.status, { cause: failure });
      }
      const backoff = this.o.backoffMs * 2 ** (attempt - 1);
      const delay = failure.retryAfterMs !== undefined ? Math.min(Math.max(failure.retryAfterMs, 0), this.o.maxRetryAfterMs) : backoff;
      if (Date.now() + delay > deadline) {
        throw new DownloadError(shown, `${failure.message} (gave up after ${attempt} attempts: total time limit of ${this.o.totalTimeoutMs} ms)`, failure.status, { cause: failure });
      }
      this.o.onRetry?.(attempt, redactText(failure.message));
      await (this.o.sleep ?? defaultSleep)(delay);
    }
  }

  /**
   * Open `uri` and return its body once the response started (retrying until then). Failures
   * while the body is read are not retried here: use {@link fetchWith} for that.
   */
  async open(uri: string): Promise<FetchedBody> {
    return this.fetchWith(uri, async (body) => body);
  }

  /** Download into `dest` through a unique temp file renamed when complete (and verified). */
  async fetchToFile(uri: string, dest: string, sha256?: string): Promise<{ sha256: string; bytes: number }> {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    return this.fetchWith(uri, async (body) => {
      const tmp = tempSibling(dest, 'download');
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
      try {
        const tee = new HashingTee([out]);
        await pipeline(body.stream, tee);
        const actual = tee.digest();
        if (sha256 !== undefined && actual !== sha256.toLowerCase()) throw new ChecksumMismatchError(sha256, actual, redactUri(uri));
        await fs.rename(tmp, dest);
        return { sha256: actual, bytes: tee.bytes };
      } catch (e) {
        await removeStreamFile(out, tmp);
        throw e;
      }
    });
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
