// The V8 code cache a cached zip carries beside its staging runtime's bin/node: recorded at
// packaging by running that very binary through the buildpack's dist/run.cjs, once, on an empty
// app with the zip's own files (src/bin/run.ts, docs/staging-runtime.md). Staging then skips
// compiling the supply bundle: about half of what node spends before supply starts its work.
// A runtime that cannot run on the packaging machine (another OS or CPU) gets no cache; staging
// is then as fast as without one, no slower.

import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ZipEntry } from './zip.js';

/** The loader bin/supply runs the bundle through when a code cache is there. */
export const LOADER_PATH = 'dist/run.cjs';
/** The bundle the cache is for. */
export const BUNDLE_PATH = 'dist/supply.cjs';

/** Where a runtime's code cache goes in the zip: beside the binary. */
export const codeCacheZipPath = (binaryZipPath: string): string => `${binaryZipPath}.code-cache`;

/** Whether the buildpack's files can record and use a code cache (its loader and bundle are included). */
export const canCarryCodeCache = (entries: ZipEntry[]): boolean => [LOADER_PATH, BUNDLE_PATH].every((p) => entries.some((e) => e.path === p));

/**
 * Lay `entries` out as a buildpack directory at `dir`, as the platform unpacks the zip: each file
 * with its entry's mode. A file that has that mode already is linked (a link's mode is its
 * source's, so it is never changed), the others are copied or written.
 */
export async function materialize(entries: ZipEntry[], dir: string): Promise<void> {
  for (const e of entries) {
    const dest = path.join(dir, ...e.path.split('/'));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const sameMode = 'localPath' in e && ((await fs.stat(e.localPath)).mode & 0o7777) === (e.mode & 0o7777);
    if (sameMode && (await fs.link(e.localPath, dest).then(() => true, () => false))) continue;
    if ('localPath' in e) await fs.copyFile(e.localPath, dest);
    else await fs.writeFile(dest, e.contents);
    await fs.chmod(dest, e.mode & 0o7777);
  }
}

export interface CodeCacheOutcome {
  recorded: boolean;
  /** Why not, when not recorded. */
  reason?: string;
}

export interface RecordOptions {
  /** Downloads refused (proxies at a closed port): a cached zip has every file it needs. Default true. */
  offline?: boolean;
  timeoutMs?: number;
}

/**
 * Run `runtime` on dist/run.cjs of the buildpack laid out at `buildpackDir`, as bin/supply would,
 * on an empty app for `stack`, recording the bundle's code cache at `out`.
 */
export function recordCodeCache(buildpackDir: string, runtime: string, stack: string, out: string, options: RecordOptions = {}): Promise<CodeCacheOutcome> {
  const { offline = true, timeoutMs = 60_000 } = options;
  return (async () => {
    const scratch = await fs.mkdtemp(path.join(path.dirname(out), 'code-cache-run-'));
    try {
      const [app, cache, deps, home] = ['app', 'cache', 'deps', 'home'].map((d) => path.join(scratch, d));
      for (const d of [app, cache, path.join(deps, '0'), home]) await fs.mkdir(d, { recursive: true });
      const closed = 'http://127.0.0.1:9';
      const env = { PATH: '/usr/bin:/bin', HOME: home, TMPDIR: scratch, LANG: 'C', CF_STACK: stack, SIDECAR_BUILDPACK_WRITE_CODE_CACHE: out, ...(offline ? { HTTP_PROXY: closed, HTTPS_PROXY: closed } : {}) };
      const failed = await new Promise<string | undefined>((resolve) => {
        execFile(runtime, [path.join(buildpackDir, LOADER_PATH), app, cache, deps, '0'], { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
          if (!err) return resolve(undefined);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          const how = e.killed && e.signal ? `stopped after ${timeoutMs / 1000} s` : typeof e.code === 'number' ? `exit status ${e.code}` : e.signal ? `signal ${e.signal}` : `cannot run it: ${e.code ?? e.message}`;
          const last = String(stdout).trim().split('\n').slice(-1)[0]?.replace(/\x1b\[[0-9;]*m/g, '').trim();
          resolve(`${how}${last ? `: ${last}` : ''}`);
        });
      });
      if (failed) return { recorded: false, reason: `running it on an empty app failed (${failed})` };
      const recorded = await fs.stat(out).then((s) => s.size > 0, () => false);
      return recorded ? { recorded } : { recorded, reason: 'the run left no cache' };
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  })();
}
