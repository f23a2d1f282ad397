// `npm run bench [-- --quick] [-- --runs N] [-- --only key,key]`: measures the figures of issue 5
// next to their baselines, prints the table and writes bench/results.json. Never fails on a missed
// target (a benchmark, not a test); exits 2 only when a measurement itself could not be made.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageCase } from './cases/package.js';
import { pushCase } from './cases/push.js';
import { bootstrapCase, peakRssCase } from './cases/supply-extra.js';
import { appCacheCase, cachedBuildpackCase, downloadCase } from './cases/supply.js';
import { REPO } from './lib/buildpack.js';
import { childEnv, sizesFor, type BenchContext, type CaseResult } from './lib/context.js';
import { makeRandomTgz, type GeneratedArchive } from './lib/inputs.js';
import { machine, renderTable, resultsJson } from './lib/report.js';
import { startFileServer } from './lib/server.js';

const KEYS = [
  'supply_app_cache_ratio',
  'supply_cached_bp_ratio',
  'supply_download_ratio',
  'supply_small_ratio',
  'supply_peak_rss_mb',
  'package_cached_ratio',
  'push_ready_ratio',
  'bootstrap_node_ms',
] as const;
type Key = (typeof KEYS)[number];

const TARGETS: Record<Key, { target: number; unit: CaseResult['unit'] }> = {
  supply_app_cache_ratio: { target: 1.0, unit: 'ratio' },
  supply_cached_bp_ratio: { target: 1.0, unit: 'ratio' },
  supply_download_ratio: { target: 1.1, unit: 'ratio' },
  supply_small_ratio: { target: 3, unit: 'ratio' },
  supply_peak_rss_mb: { target: 120, unit: 'MiB' },
  package_cached_ratio: { target: 1.2, unit: 'ratio' },
  push_ready_ratio: { target: 2, unit: 'ratio' },
  bootstrap_node_ms: { target: 50, unit: 'ms' },
};

function parseArgs(argv: string[]): { quick: boolean; runs: number; only: Set<Key> } {
  const quick = argv.includes('--quick');
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive integer');
  const onlyAt = argv.indexOf('--only');
  const only = new Set<Key>(onlyAt >= 0 ? (argv[onlyAt + 1].split(',') as Key[]) : KEYS);
  for (const k of only) if (!KEYS.includes(k)) throw new Error(`--only: unknown key ${k} (keys: ${KEYS.join(', ')})`);
  return { quick, runs, only };
}

async function main(): Promise<number> {
  const { quick, runs, only } = parseArgs(process.argv.slice(2));
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
  const cases: Record<Key, () => Promise<CaseResult>> = {
    supply_app_cache_ratio: async () => appCacheCase(ctx, await archive('supply', sizes.supply), 'supply_app_cache_ratio', 'two-pass'),
    supply_cached_bp_ratio: async () => cachedBuildpackCase(ctx, await archive('supply', sizes.supply)),
    supply_download_ratio: async () => downloadCase(ctx, await archive('supply', sizes.supply)),
    supply_small_ratio: async () => appCacheCase(ctx, await archive('small', sizes.small), 'supply_small_ratio', 'node'),
    bootstrap_node_ms: async () => bootstrapCase(ctx, await archive('small', sizes.small)),
    package_cached_ratio: async () =>
      packageCase(ctx, [
        // the supply cases' archive is reused when it has the right size
        await archive(sizes.packageDep === sizes.supply ? 'supply' : 'package-1', sizes.packageDep),
        await archive('package-2', sizes.packageDep),
        await archive('package-3', sizes.packageDep),
      ]),
    push_ready_ratio: () => pushCase(ctx),
    supply_peak_rss_mb: async () => peakRssCase(ctx, await archive('rss', sizes.rss)),
  };
  const results: CaseResult[] = [];
  try {
    for (const key of KEYS) {
      if (!only.has(key)) continue;
      progress(`measuring ${key}`);
      const loadBefore = os.loadavg()[0];
      try {
        const r = await cases[key]();
        // a busy neighbour shows up here before it shows up as an odd figure
        r.raw.load_avg_1m = { before: loadBefore, after: os.loadavg()[0] };
        results.push(r);
        progress(`${key} = ${r.value?.toFixed(3)} (target ≤ ${r.target})`);
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
