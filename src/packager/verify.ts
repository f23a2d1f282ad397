// `dependency verify`: fetch every dependency of a manifest and check its sha256 (for CI with
// network access), reporting each result instead of stopping at the first failure.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildpackError, ChecksumMismatchError } from '../errors.js';
import { redactUri } from '../log/redact.js';
import type { Dependency } from '../manifest/types.js';
import type { FetcherFactory } from './download-cache.js';
import { uriBasename } from './naming.js';

export interface VerifyResult {
  name: string;
  version: string;
  /** Redacted. */
  uri: string;
  cf_stacks: string[];
  status: 'ok' | 'mismatch' | 'failed';
  expected: string;
  actual?: string;
  error?: string;
}

export interface VerifyOptions {
  createFetcher: FetcherFactory;
  /** Parallel downloads (default 4). */
  concurrency?: number;
  /** Where downloads go while checked (default: a fresh dir under os.tmpdir(), removed after). */
  tmpDir?: string;
  onResult?: (r: VerifyResult) => void;
}

/** Check every entry; the results keep manifest order. */
export async function verifyDependencies(deps: Dependency[], options: VerifyOptions): Promise<VerifyResult[]> {
  const work = options.tmpDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-verify-')));
  const results: VerifyResult[] = new Array(deps.length);
  let next = 0;
  const one = async (i: number): Promise<VerifyResult> => {
    const d = deps[i];
    const base = { name: d.name, version: d.version, uri: redactUri(d.uri), cf_stacks: d.cf_stacks, expected: d.sha256 };
    if (!d.sha256) return { ...base, status: 'failed', error: 'no sha256 in the manifest' };
    const dest = path.join(work, String(i), uriBasename(d.uri));
    try {
      const got = await options.createFetcher({}).fetchToFile(d.uri, dest, d.sha256);
      return { ...base, status: got.sha256 === d.sha256 ? 'ok' : 'mismatch', actual: got.sha256 };
    } catch (err) {
      if (err instanceof ChecksumMismatchError) return { ...base, status: 'mismatch', actual: err.actual };
      if (err instanceof BuildpackError) return { ...base, status: 'failed', error: err.message };
      throw err;
    } finally {
      await fs.rm(path.join(work, String(i)), { recursive: true, force: true });
    }
  };
  try {
    const worker = async (): Promise<void> => {
      while (next < deps.length) {
        const i = next++;
        results[i] = await one(i);
        options.onResult?.(results[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 4), deps.length) }, worker));
  } finally {
    if (!options.tmpDir) await fs.rm(work, { recursive: true, force: true });
  }
  return results;
}
