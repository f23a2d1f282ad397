// bin/supply against its two-pass shell baselines: a dependency from the app cache, from a cached
// buildpack, downloaded from 127.0.0.1 (cold caches), and a 1 MiB one against `node -e 0`.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeBenchBuildpack, type BenchDependency } from '../lib/buildpack.js';
import type { BenchContext, CaseResult } from '../lib/context.js';
import type { GeneratedArchive } from '../lib/inputs.js';
import { sample, timeRun, type Samples, type Trial } from '../lib/measure.js';

/** A fresh empty directory (removed first if it exists). */
export async function freshDir(dir: string): Promise<string> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Dirty pages of the previous run are written back before the next timed run, not during it. */
export async function settle(): Promise<void> {
  await timeRun('sync', []);
}

/** The `payload` dependency (a sidecar of the same name runs its bin/payload) served at `urlPath`. */
export function payloadDependency(ctx: BenchContext, urlPath: string, archive: GeneratedArchive, cached = false): BenchDependency {
  return { name: 'payload', version: '1.0.0', uri: ctx.server.add(urlPath, archive.file), sha256: archive.sha256, ...(cached ? { cachedFrom: archive.file } : {}) };
}

export const PAYLOAD_SIDECAR = { name: 'payload', dependency: 'payload', command: 'bin/payload' };

/** Everything one bin/supply invocation needs: its buildpack, dirs and env. */
export interface SupplySetup {
  bp: string;
  build: string;
  cache: string;
  deps: string;
  env: NodeJS.ProcessEnv;
}

/** A bin/supply trial: fresh deps dir (and cache, when `coldCache`), then the timed run; `expect` is a log line it must print. */
export function supplyTrial(s: SupplySetup, expect: string, coldCache = false): Trial {
  return {
    prepare: async () => {
      await freshDir(s.deps);
      if (coldCache) await freshDir(s.cache);
      await settle();
    },
    run: async () => {
      const r = await timeRun(path.join(s.bp, 'bin', 'supply'), [s.build, s.cache, s.deps, '0'], { env: s.env });
      if (!r.stdout.includes(expect)) throw new Error(`bin/supply did not print ${JSON.stringify(expect)}:\n${r.stdout}${r.stderr}`);
      return r.ms;
    },
  };
}

/** A `sh -c SCRIPT sh ARGS...` trial run in a fresh `dest` dir. */
function shellTrial(script: string, args: string[], dest: string, env: NodeJS.ProcessEnv, extraFresh: string[] = []): Trial {
  return {
    prepare: async () => {
      await freshDir(dest);
      for (const d of extraFresh) await freshDir(d);
      await settle();
    },
    run: async () => (await timeRun('sh', ['-c', script, 'sh', ...args], { env })).ms,
  };
}

const TWO_PASS = 'sha256sum "$1" && tar -xzf "$1" -C "$2"';
const DOWNLOAD_TWO_PASS = 'curl -sfo "$1" "$2" && sha256sum "$1" && tar -xzf "$1" -C "$3"';

/** Seconds with 3 decimals, for the table. */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;

export function ratioResult(key: string, target: number, s: Samples, raw: Record<string, unknown>): CaseResult {
  return {
    key,
    value: s.figureMedian / s.baselineMedian,
    unit: 'ratio',
    target,
    figure: secs(s.figureMedian),
    baseline: secs(s.baselineMedian),
    raw: { figure_median_ms: s.figureMedian, baseline_median_ms: s.baselineMedian, figure_ms: s.figure, baseline_ms: s.baseline, ...raw },
  };
}

async function setup(ctx: BenchContext, name: string, dependency: BenchDependency, env = ctx.env): Promise<SupplySetup> {
  const root = path.join(ctx.work, name);
  const bp = await makeBenchBuildpack(path.join(root, 'buildpack'), { dependencies: [dependency], sidecars: [PAYLOAD_SIDECAR] });
  const s = { bp, build: path.join(root, 'build'), cache: path.join(root, 'cache'), deps: path.join(root, 'deps'), env: { ...env, CF_STACK: 'cflinuxfs4' } };
  await fs.mkdir(s.build, { recursive: true });
  await fs.mkdir(s.cache, { recursive: true });
  return s;
}

/** The app-cache file of `uri` (CONTRACT §4: `<cacheDir>/dependencies/<sha256hex(uri)>/<basename>`). */
function appCacheFile(cache: string, uri: string): string {
  return path.join(cache, 'dependencies', createHash('sha256').update(uri).digest('hex'), path.posix.basename(new URL(uri).pathname));
}

/** bin/supply with the dependency already in the app cache vs `sha256sum F && tar -xzf F -C D` on that file. */
export async function appCacheCase(ctx: BenchContext, archive: GeneratedArchive, key: string, baselineKind: 'two-pass' | 'node'): Promise<CaseResult> {
  const dep = payloadDependency(ctx, `/${key}/payload.tgz`, archive);
  const s = await setup(ctx, key, dep);
  // prime the app cache with one download (the figure's warm-up would too; this makes it certain)
  await supplyTrial(s, 'Download [').run();
  const cached = appCacheFile(s.cache, dep.uri);
  await fs.access(cached);
  const dest = path.join(ctx.work, key, 'baseline');
  const baseline: Trial =
    baselineKind === 'node' ? { run: async () => (await timeRun('node', ['-e', '0'], { env: ctx.env })).ms } : shellTrial(TWO_PASS, [cached, dest], dest, ctx.env);
  const samples = await sample(supplyTrial(s, 'Using cached payload 1.0.0'), baseline, baselineKind === 'node' ? ctx.fastRuns : ctx.runs);
  return ratioResult(key, baselineKind === 'node' ? 3 : 1.0, samples, {
    input_bytes: archive.bytes,
    baseline_command: baselineKind === 'node' ? 'node -e 0' : TWO_PASS,
  });
}

/** bin/supply taking the file from a cached buildpack's dependencies/ vs the two-pass baseline on that file. */
export async function cachedBuildpackCase(ctx: BenchContext, archive: GeneratedArchive): Promise<CaseResult> {
  const key = 'supply_cached_bp_ratio';
  const s = await setup(ctx, key, payloadDependency(ctx, `/${key}/payload.tgz`, archive, true));
  const dest = path.join(ctx.work, key, 'baseline');
  // the app cache is emptied before each run: only the buildpack's own file may be used
  const samples = await sample(supplyTrial(s, 'Copy [', true), shellTrial(TWO_PASS, [archive.file, dest], dest, ctx.env), ctx.runs);
  return ratioResult(key, 1.0, samples, { input_bytes: archive.bytes, baseline_command: TWO_PASS });
}

/** bin/supply downloading from 127.0.0.1 with cold caches vs `curl -sfo F URL && sha256sum F && tar -xzf F -C D`. */
export async function downloadCase(ctx: BenchContext, archive: GeneratedArchive): Promise<CaseResult> {
  const key = 'supply_download_ratio';
  const dep = payloadDependency(ctx, `/${key}/payload.tgz`, archive);
  const s = await setup(ctx, key, dep);
  const root = path.join(ctx.work, key);
  const dest = path.join(root, 'baseline');
  const fileDir = path.join(root, 'baseline-file');
  const baseline = shellTrial(DOWNLOAD_TWO_PASS, [path.join(fileDir, 'payload.tgz'), dep.uri, dest], dest, ctx.env, [fileDir]);
  const samples = await sample(supplyTrial(s, 'Download [', true), baseline, ctx.runs);
  return ratioResult(key, 1.1, samples, { input_bytes: archive.bytes, baseline_command: DOWNLOAD_TWO_PASS });
}

export { setup as supplySetup, appCacheFile };
