// `npm run bench [-- --quick] [-- --runs N] [-- --only key,key] [-- --no-settle]`: measures the figures of issues 5 and 14
// next to their baselines, prints the table and writes bench/results.json. Never fails on a missed
// target (a benchmark, not a test); exits 2 only when a measurement itself could not be made.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageCase } from './cases/package.js';
import { pushCase } from './cases/push.js';
import { coldCase, coldDownloadCase, growthCase, growthDownloadCase, makeBootstrapFixture, warmCase, warmDownloadCase, zipOverheadCase, type BootstrapFixture } from './cases/bootstrap.js';
import { peakRssCase } from './cases/supply-extra.js';
import { appCacheCase, cachedBuildpackCase, downloadCase } from './cases/supply.js';
import { REPO } from './lib/buildpack.js';
import { childEnv, sizesFor, type BenchContext, type CaseResult } from './lib/context.js';
import { makeRandomTgz, type GeneratedArchive } from './lib/inputs.js';
import { settleLoad, watchLoad } from './lib/load.js';
import { machine, noisy, renderTable, resultsJson } from './lib/report.js';
import { startFileServer } from './lib/server.js';

const KEYS = [
  'supply_app_cache_ratio',
  'supply_cached_bp_ratio',
  'supply_download_ratio',
  'supply_small_ratio',
  'supply_peak_rss_mb',
  'package_cached_ratio',
  'push_ready_ratio',
  'bootstrap_cold_ratio',
  'bootstrap_cold_download_ratio',
  'bootstrap_warm_ratio',
  'bootstrap_warm_download_ratio',
  'bootstrap_zip_overhead_ratio',
  'bootstrap_app_cache_growth_ratio',
  'bootstrap_app_cache_growth_download_ratio',
] as const;
type Key = (typeof KEYS)[number];

const TARGETS: Record<Key, { target: number; unit: CaseResult['unit'] }> = {
  supply_app_cache_ratio: { target: 1.0, unit: 'ratio' },
  supply_cached_bp_ratio: { target: 1.0, unit: 'ratio' },
  supply_download_ratio: { target: 1.1, unit: 'ratio' },
  supply_small_ratio: { target: 3, unit: 'ratio' },
  supply_peak_rss_mb: { target: 120, unit: 'MiB' },
  package_cached_ratio: { target: 1.2, unit: 'ratio' },
  push_ready_ratio: { target: 3, unit: 'ratio' },
  bootstrap_cold_ratio: { target: 1.3, unit: 'ratio' },
  bootstrap_cold_download_ratio: { target: 1.3, unit: 'ratio' },
  bootstrap_warm_ratio: { target: 1.2, unit: 'ratio' },
  bootstrap_warm_download_ratio: { target: 1.2, unit: 'ratio' },
  bootstrap_zip_overhead_ratio: { target: 1.0, unit: 'ratio' },
  bootstrap_app_cache_growth_ratio: { target: 1.0, unit: 'ratio' },
  bootstrap_app_cache_growth_download_ratio: { target: 1.0, unit: 'ratio' },
};

function parseArgs(argv: string[]): { quick: boolean; runs: number; only: Set<Key>; settle: boolean } {
  const quick = argv.includes('--quick');
  const settle = !argv.includes('--no-settle');
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
  const onlyAt = argv.indexOf('--only');
  const only = new Set<Key>(onlyAt >= 0 ? (argv[onlyAt + 1].split(',') as Key[]) : KEYS);
  for (const k of only) if (!KEYS.includes(k)) throw new Error(`--only: unknown key ${k} (keys: ${KEYS.join(', ')})`);
  return { quick, runs, only, settle };
}

/** Before a timed case, wait (at most this long) for the previous case's own load to decay. */
const SETTLE_TARGET = 0.7;
const SETTLE_MAX_MS = 120_000;

async function main(): Promise<number> {
  const { quick, runs, only, settle } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const progress = (message: string): void => {
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  };
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-bench-'));
  const server = await startFileServer();
  const sizes = sizesFor(quick);
  const ctx: BenchContext = { work, server, runs, fastRuns: runs * 2 + 1, sizes, env: childEnv(process.env), progress };
  const inputs = path.join(work, 'inputs');
  await fs.mkdir(inputs);
  const memo = new Map<string, Promise<GeneratedArchive>>();
  // inputs are made on first use and shared by the cases that need the same size
  const archive = (name: string, bytes: number): Promise<GeneratedArchive> => {
    if (!memo.has(name)) {
      progress(`generating ${name} (${(bytes / 1024 / 1024).toFixed(0)} MiB of random data)`);
      memo.set(name, makeRandomTgz(path.join(inputs, `${name}.tgz`), bytes));
    }
    return memo.get(name)!;
  };
  // the node-less cases share one runtime of real size, payload and pair of buildpacks
  let fixtureMade: Promise<BootstrapFixture> | undefined;
  const fixture = (): Promise<BootstrapFixture> => (fixtureMade ??= archive('bootstrap-payload', sizes.bootstrapPayload).then((p) => makeBootstrapFixture(ctx, p)));
  const cases: Record<Key, () => Promise<CaseResult>> = {
    supply_app_cache_ratio: async () => appCacheCase(ctx, await archive('supply', sizes.supply), 'supply_app_cache_ratio', 'two-pass'),
    supply_cached_bp_ratio: async () => cachedBuildpackCase(ctx, await archive('supply', sizes.supply)),
    supply_download_ratio: async () => downloadCase(ctx, await archive('supply', sizes.supply)),
    supply_small_ratio: async () => appCacheCase(ctx, await archive('small', sizes.small), 'supply_small_ratio', 'node'),
    package_cached_ratio: async () =>
      packageCase(ctx, [
        // the supply cases' archive is reused when it has the right size
        await archive(sizes.packageDep === sizes.supply ? 'supply' : 'package-1', sizes.packageDep),
        await archive('package-2', sizes.packageDep),
        await archive('package-3', sizes.packageDep),
      ]),
    push_ready_ratio: () => pushCase(ctx),
    bootstrap_cold_ratio: async () => coldCase(ctx, await fixture()),
    bootstrap_cold_download_ratio: async () => coldDownloadCase(ctx, await fixture()),
    bootstrap_warm_ratio: async () => warmCase(ctx, await fixture()),
    bootstrap_warm_download_ratio: async () => warmDownloadCase(ctx, await fixture()),
    bootstrap_zip_overhead_ratio: async () => zipOverheadCase(await fixture()),
    bootstrap_app_cache_growth_ratio: async () => growthCase(ctx, await fixture()),
    bootstrap_app_cache_growth_download_ratio: async () => growthDownloadCase(ctx, await fixture()),
    supply_peak_rss_mb: async () => peakRssCase(ctx, await archive('rss', sizes.rss)),
  };
  const results: CaseResult[] = [];
  try {
    for (const key of KEYS) {
      if (!only.has(key)) continue;
      // inputs first (their generation is not part of any figure), then let the machine settle
      if (key.startsWith('bootstrap_')) await fixture().catch(() => undefined);
      if (settle) await settleLoad(SETTLE_TARGET, SETTLE_MAX_MS, progress);
      progress(`measuring ${key}`);
      const watch = watchLoad();
      try {
        // TARGETS is the one table of targets: a case's own number never overrides it
        const r = { ...(await cases[key]()), ...TARGETS[key] };
        // a busy neighbour shows up here before it shows up as an odd figure
        r.load = watch.stop();
        results.push(r);
        progress(`${key} = ${r.value?.toFixed(3)} (target ≤ ${r.target})${noisy(r) ? ` noisy: ${r.load.reason}` : ''}`);
      } catch (e) {
        progress(`${key} failed: ${(e as Error).stack ?? e}`);
        results.push({ key, value: null, ...TARGETS[key], figure: '—', baseline: '—', raw: {}, error: (e as Error).message.trim().split('\n').slice(0, 12).join('\n') });
      }
      // each case's scratch files go as soon as it is done (the large ones would add up)
      await fs.rm(path.join(work, key), { recursive: true, force: true });
    }
  } finally {
    await server.close();
    await fs.rm(work, { recursive: true, force: true });
  }
  const m = machine();
  process.stdout.write(renderTable(results, m, runs, quick, ctx.fastRuns));
  const file = path.join(REPO, 'bench', 'results.json');
  await fs.writeFile(file, `${JSON.stringify(resultsJson(results, m, runs, quick, ctx.fastRuns), null, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file) || file} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  return results.some((r) => r.error) ? 2 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 2;
  },
);
