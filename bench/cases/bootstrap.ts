// bin/supply on a stack without node, with a staging runtime of real size: this node's binary
// packed as CF's node dependency is (bin/node beside npm, headers, docs), an 8 MiB sidecar payload.
// Cold first staging and warm staging, from a cached zip made by the real packager (unzipped) and
// from an uncached buildpack (download); the cached zip's size and the app cache's growth. Each
// figure next to its floor measured in the same run: `sha256sum` + `tar -xzf` of every archive a
// staging must unpack (runtime and payload), the same with node on PATH, the binary's gzip size.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeNoNodePath } from '../../test/helpers/no-node-path.js';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { packageBuildpack } from '../../src/packager/package.js';
import { runtimeHead } from '../../src/packager/runtime-head.js';
import { makeBenchBuildpack, type BenchDependency } from '../lib/buildpack.js';
import type { BenchContext, CaseResult } from '../lib/context.js';
import { makeRealRuntimeTgz, treeBytes, type GeneratedArchive, type RealRuntime } from '../lib/inputs.js';
import { median, sample, timeRun, type Trial } from '../lib/measure.js';
import { PAYLOAD_SIDECAR, freshDir, ratioResult, settle } from './supply.js';

const MiB = 1024 * 1024;

/** Everything the bootstrap cases share, made once per run. */
export interface BootstrapFixture {
  runtime: RealRuntime;
  payload: GeneratedArchive;
  runtimeUri: string;
  payloadUri: string;
  /** A PATH like a cflinuxfs stack's: no node. */
  noNodePath: string;
  /** The cached zip made by `packageBuildpack`, unzipped (as the platform unpacks a buildpack). */
  cachedBp: string;
  zipBytes: number;
  /** The same zip packaged without the runtime (`--exclude node`). */
  zipWithoutRuntimeBytes: number;
  /** An uncached buildpack (git URL, uncached zip): the runtime is downloaded. */
  uncachedBp: string;
}

/** Make the fixture under `<work>/bootstrap-fixture` (removed with the run's scratch dir). */
export async function makeBootstrapFixture(ctx: BenchContext, payload: GeneratedArchive): Promise<BootstrapFixture> {
  const root = path.join(ctx.work, 'bootstrap-fixture');
  await fs.mkdir(root, { recursive: true });
  ctx.progress('packing the staging runtime (this node\'s binary, npm, headers) as a .tgz');
  const runtime = await makeRealRuntimeTgz(path.join(root, 'node-runtime.tgz'), process.execPath);
  const runtimeUri = ctx.server.add('/bootstrap/node-runtime.tgz', runtime.file);
  const payloadUri = ctx.server.add('/bootstrap/payload.tgz', payload.file);
  const stackPath = await makeNoNodePath();
  const noNodePath = path.join(root, 'stack-path');
  await fs.rename(stackPath, noNodePath);
  const deps: BenchDependency[] = [
    { name: 'payload', version: '1.0.0', uri: payloadUri, sha256: payload.sha256 },
    // with the head `sidecar-buildpack dependency add node` records: what a download keeps
    { name: 'node', version: '22.0.0', uri: runtimeUri, sha256: runtime.sha256, head: await runtimeHead(runtime.file) },
  ];
  const uncachedBp = await makeBenchBuildpack(path.join(root, 'uncached'), { dependencies: deps, sidecars: [PAYLOAD_SIDECAR] });
  // the cached zip, by the real packager, then unzipped like the platform does with a buildpack
  ctx.progress('packaging the cached zip (the runtime slimmed to bin/node)');
  const src = await makeBenchBuildpack(path.join(root, 'src'), { dependencies: deps, sidecars: [PAYLOAD_SIDECAR] });
  const createFetcher = (hooks: object) => new HttpFetcher({ ...hooks });
  const pkg = (exclude: string[]) =>
    packageBuildpack({ dir: src, stack: 'cflinuxfs4', cached: true, version: '0.0.0', cacheDir: path.join(root, 'download-cache'), createFetcher, outputDir: path.join(root, exclude.length ? 'zip-no-runtime' : 'zip'), exclude });
  const zip = await pkg([]);
  const zipWithoutRuntime = await pkg(['node']);
  const cachedBp = path.join(root, 'cached');
  await timeRun('unzip', ['-q', zip.zipPath, '-d', cachedBp]);
  return { runtime, payload, runtimeUri, payloadUri, noNodePath, cachedBp, zipBytes: zip.bytes, zipWithoutRuntimeBytes: zipWithoutRuntime.bytes, uncachedBp };
}

interface Dirs {
  build: string;
  cache: string;
  deps: string;
  tmp: string;
}

async function dirsFor(ctx: BenchContext, key: string): Promise<Dirs> {
  const root = path.join(ctx.work, key);
  const d = { build: path.join(root, 'build'), cache: path.join(root, 'cache'), deps: path.join(root, 'deps'), tmp: path.join(root, 'tmp') };
  for (const p of Object.values(d)) await fs.mkdir(p, { recursive: true });
  return d;
}

function envFor(ctx: BenchContext, fx: BootstrapFixture, d: Dirs, node: boolean): NodeJS.ProcessEnv {
  return { ...ctx.env, CF_STACK: 'cflinuxfs4', TMPDIR: d.tmp, ...(node ? {} : { PATH: fx.noNodePath }) };
}

/** One bin/supply run of `bp`; `cold` empties the app cache first. Checks what it printed and that nothing stays in TMPDIR. */
function stagingTrial(ctx: BenchContext, fx: BootstrapFixture, bp: string, d: Dirs, o: { node: boolean; cold: boolean; expect?: string; refuse?: string }): Trial {
  return {
    prepare: async () => {
      await freshDir(d.deps);
      await freshDir(d.tmp);
      if (o.cold) await freshDir(d.cache);
      await settle();
    },
    run: async () => {
      const r = await timeRun(path.join(bp, 'bin', 'supply'), [d.build, d.cache, d.deps, '0'], { env: envFor(ctx, fx, d, o.node) });
      const out = r.stdout + r.stderr;
      if (o.expect && !out.includes(o.expect)) throw new Error(`bin/supply did not print ${JSON.stringify(o.expect)}:\n${out}`);
      if (o.refuse && out.includes(o.refuse)) throw new Error(`bin/supply printed ${JSON.stringify(o.refuse)}:\n${out}`);
      const left = await fs.readdir(d.tmp);
      if (left.length > 0) throw new Error(`bin/supply left ${left.join(', ')} in TMPDIR`);
      return r.ms;
    },
  };
}

/** A `sh -c SCRIPT sh ARGS...` trial; `fresh` dirs are emptied first. */
function shellTrial(ctx: BenchContext, script: string, args: string[], fresh: string[]): Trial {
  return {
    prepare: async () => {
      for (const f of fresh) await freshDir(f);
      await settle();
    },
    run: async () => (await timeRun('sh', ['-c', script, 'sh', ...args], { env: ctx.env })).ms,
  };
}

const FLOOR = 'sha256sum "$1" && tar -xzf "$1" -C "$2" && sha256sum "$3" && tar -xzf "$3" -C "$4"';
const DOWNLOAD_FLOOR = 'curl -sfo "$1" "$2" && sha256sum "$1" && tar -xzf "$1" -C "$3" && curl -sfo "$4" "$5" && sha256sum "$4" && tar -xzf "$4" -C "$6"';

function sizes(fx: BootstrapFixture): Record<string, unknown> {
  return {
    runtime_tgz_bytes: fx.runtime.bytes,
    runtime_binary_bytes: fx.runtime.binaryBytes,
    runtime_binary_gzip_bytes: fx.runtime.binaryGzipBytes,
    runtime_extras: fx.runtime.extras,
    payload_tgz_bytes: fx.payload.bytes,
  };
}

/** bootstrap_cold_ratio: first staging of an app from the cached zip, no node on PATH, vs unpacking runtime and payload. */
export async function coldCase(ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> {
  const key = 'bootstrap_cold_ratio';
  const d = await dirsFor(ctx, key);
  const [r1, p1] = [path.join(ctx.work, key, 'floor-runtime'), path.join(ctx.work, key, 'floor-payload')];
  const figure = stagingTrial(ctx, fx, fx.cachedBp, d, { node: false, cold: true, refuse: 'Installing node' });
  const s = await sample(figure, shellTrial(ctx, FLOOR, [fx.runtime.file, r1, fx.payload.file, p1], [r1, p1]), ctx.runs);
  const payloadOnly: number[] = [];
  for (let i = 0; i < ctx.runs; i++) payloadOnly.push(await shellTrial(ctx, 'sha256sum "$1" && tar -xzf "$1" -C "$2"', [fx.payload.file, p1], [p1]).run());
  return ratioResult(key, 1.3, s, { baseline_command: FLOOR, payload_only_floor_median_ms: median(payloadOnly), ...sizes(fx) });
}

/** bootstrap_cold_download_ratio: the same from an uncached buildpack (runtime and payload downloaded). */
export async function coldDownloadCase(ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> {
  const key = 'bootstrap_cold_download_ratio';
  const d = await dirsFor(ctx, key);
  const root = path.join(ctx.work, key);
  const [f1, r1, f2, p1] = ['floor-file-1', 'floor-runtime', 'floor-file-2', 'floor-payload'].map((n) => path.join(root, n));
  const figure = stagingTrial(ctx, fx, fx.uncachedBp, d, { node: false, cold: true, expect: 'Installing node' });
  const floor = shellTrial(ctx, DOWNLOAD_FLOOR, [path.join(f1, 'r.tgz'), fx.runtimeUri, r1, path.join(f2, 'p.tgz'), fx.payloadUri, p1], [f1, r1, f2, p1]);
  const s = await sample(figure, floor, ctx.runs);
  return ratioResult(key, 1.3, s, { baseline_command: DOWNLOAD_FLOOR, ...sizes(fx) });
}

/** Warm staging without node against the same with node on PATH (same buildpack, same app cache). */
async function warm(ctx: BenchContext, fx: BootstrapFixture, key: string, bp: string): Promise<CaseResult> {
  const d = await dirsFor(ctx, key);
  // the first staging of the app fills its cache
  await stagingTrial(ctx, fx, bp, d, { node: false, cold: true }).run();
  const figure = stagingTrial(ctx, fx, bp, d, { node: false, cold: false, refuse: 'Installing node' });
  const baseline = stagingTrial(ctx, fx, bp, d, { node: true, cold: false });
  const s = await sample(figure, baseline, ctx.fastRuns);
  return ratioResult(key, 1.2, s, { baseline_command: 'the same bin/supply with node on PATH', ...sizes(fx) });
}

export const warmCase = (ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> => warm(ctx, fx, 'bootstrap_warm_ratio', fx.cachedBp);
export const warmDownloadCase = (ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> => warm(ctx, fx, 'bootstrap_warm_download_ratio', fx.uncachedBp);

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

function sizeResult(key: string, bytes: number, fx: BootstrapFixture, raw: Record<string, unknown>): CaseResult {
  return {
    key,
    value: bytes / fx.runtime.binaryGzipBytes,
    unit: 'ratio',
    target: 1.0,
    timed: false,
    figure: mb(bytes),
    baseline: `${mb(fx.runtime.binaryGzipBytes)} (gzip -c bin/node)`,
    raw: { bytes, ...raw, ...sizes(fx) },
  };
}

/** bootstrap_zip_overhead_ratio: what the runtime adds to the cached zip, against the binary's gzip size. */
export function zipOverheadCase(fx: BootstrapFixture): CaseResult {
  return sizeResult('bootstrap_zip_overhead_ratio', fx.zipBytes - fx.zipWithoutRuntimeBytes, fx, {
    zip_bytes: fx.zipBytes,
    zip_without_runtime_bytes: fx.zipWithoutRuntimeBytes,
  });
}

/** What a first staging without node leaves in the app cache beyond what one with node leaves. */
async function growth(ctx: BenchContext, fx: BootstrapFixture, key: string, bp: string): Promise<CaseResult> {
  const d = await dirsFor(ctx, key);
  await stagingTrial(ctx, fx, bp, d, { node: true, cold: true }).run();
  const withNode = await treeBytes(d.cache);
  await stagingTrial(ctx, fx, bp, d, { node: false, cold: true }).run();
  const withoutNode = await treeBytes(d.cache);
  return sizeResult(key, withoutNode - withNode, fx, { app_cache_bytes_without_node: withoutNode, app_cache_bytes_with_node: withNode });
}

export const growthCase = (ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> => growth(ctx, fx, 'bootstrap_app_cache_growth_ratio', fx.cachedBp);
export const growthDownloadCase = (ctx: BenchContext, fx: BootstrapFixture): Promise<CaseResult> =>
  growth(ctx, fx, 'bootstrap_app_cache_growth_download_ratio', fx.uncachedBp);
