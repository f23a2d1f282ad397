// bin/supply's peak memory downloading a large dependency, and the cost of the staging Node
// bootstrap (PATH without node, runtime already in CACHE) over plain node-on-PATH.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { makeNoNodePath } from '../../test/helpers/no-node-path.js';
import { makeBenchBuildpack } from '../lib/buildpack.js';
import type { BenchContext, CaseResult } from '../lib/context.js';
import { makeRuntimeTgz, type GeneratedArchive } from '../lib/inputs.js';
import { median, sample, timeRun } from '../lib/measure.js';
import { PAYLOAD_SIDECAR, freshDir, payloadDependency, secs, settle, supplySetup, supplyTrial, type SupplySetup } from './supply.js';

const GNU_TIME = '/usr/bin/time';

/** GNU time reports the child's peak RSS (`%M`, KiB); it is present on most Linux machines. */
function hasGnuTime(): boolean {
  return existsSync(GNU_TIME);
}

/** Peak RSS in KiB of one bin/supply run, via GNU time, or by polling VmHWM of the (exec'd) node process. */
async function peakRssKiB(s: SupplySetup): Promise<{ kib: number; ms: number; via: string }> {
  const args = [s.build, s.cache, s.deps, '0'];
  const supply = path.join(s.bp, 'bin', 'supply');
  if (hasGnuTime()) {
    const r = await timeRun(GNU_TIME, ['-f', 'PEAK_RSS_KIB=%M', supply, ...args], { env: s.env });
    const m = /PEAK_RSS_KIB=(\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no peak RSS in the output of ${GNU_TIME}:\n${r.stderr}`);
    return { kib: Number(m[1]), ms: r.ms, via: `${GNU_TIME} -f %M (max RSS of bin/supply and its children)` };
  }
  // Fallback: bin/supply execs node in place, so its pid becomes the node process; VmHWM only grows.
  const { spawn } = await import('node:child_process');
  const start = process.hrtime.bigint();
  const child = spawn(supply, args, { env: s.env, stdio: 'ignore' });
  let hwm = 0;
  const timer = setInterval(() => {
    fs.readFile(`/proc/${child.pid}/status`, 'utf8').then(
      (t) => {
        const m = /VmHWM:\s+(\d+) kB/.exec(t);
        if (m) hwm = Math.max(hwm, Number(m[1]));
      },
      () => undefined,
    );
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`bin/supply exited ${code}`);
  return { kib: hwm, ms: Number(process.hrtime.bigint() - start) / 1e6, via: '/proc/<pid>/status VmHWM polled every 10 ms' };
}

/** supply_peak_rss_mb: median peak RSS of bin/supply downloading and installing the large archive (cold caches). */
export async function peakRssCase(ctx: BenchContext, archive: GeneratedArchive): Promise<CaseResult> {
  const key = 'supply_peak_rss_mb';
  const s = await supplySetup(ctx, key, payloadDependency(ctx, `/${key}/payload.tgz`, archive));
  const kib: number[] = [];
  const ms: number[] = [];
  let via = '';
  for (let i = 0; i <= ctx.runs; i++) {
    await freshDir(s.deps);
    await freshDir(s.cache);
    await settle();
    const r = await peakRssKiB(s);
    via = r.via;
    // run 0 is the warm-up
    if (i > 0) {
      kib.push(r.kib);
      ms.push(r.ms);
    }
  }
  await fs.rm(s.deps, { recursive: true, force: true });
  await fs.rm(s.cache, { recursive: true, force: true });
  const mib = median(kib) / 1024;
  return {
    key,
    value: mib,
    unit: 'MiB',
    target: 120,
    figure: `${mib.toFixed(1)} MiB`,
    baseline: '—',
    raw: { peak_rss_kib: kib, median_peak_rss_mib: mib, wall_ms: ms, wall_median_ms: median(ms), input_bytes: archive.bytes, measured_with: via },
  };
}

/**
 * bootstrap_node_ms: bin/supply on a PATH without node (runtime already in CACHE, served once),
 * 1 MiB dependency in the app cache, minus the same with node on PATH. Same buildpack, same cache.
 */
export async function bootstrapCase(ctx: BenchContext, archive: GeneratedArchive): Promise<CaseResult> {
  const key = 'bootstrap_node_ms';
  const root = path.join(ctx.work, key);
  await fs.mkdir(root, { recursive: true });
  const runtime = await makeRuntimeTgz(path.join(root, 'node-runtime.tgz'), process.execPath);
  const runtimePath = `/${key}/node-runtime.tgz`;
  const bp = await makeBenchBuildpack(path.join(root, 'buildpack'), {
    dependencies: [payloadDependency(ctx, `/${key}/payload.tgz`, archive), { name: 'node', version: '22.0.0', uri: ctx.server.add(runtimePath, runtime.file), sha256: runtime.sha256 }],
    sidecars: [PAYLOAD_SIDECAR],
  });
  const noNodePath = await makeNoNodePath();
  try {
    const base = { bp, build: path.join(root, 'build'), cache: path.join(root, 'cache'), deps: path.join(root, 'deps') };
    await fs.mkdir(base.build, { recursive: true });
    await fs.mkdir(base.cache, { recursive: true });
    const stackEnv = { ...ctx.env, CF_STACK: 'cflinuxfs4' };
    const withoutNode: SupplySetup = { ...base, env: { ...stackEnv, PATH: noNodePath } };
    const withNode: SupplySetup = { ...base, env: stackEnv };
    // prime: the runtime is downloaded once into CACHE, the payload into the app cache
    await freshDir(base.deps);
    const first = await timeRun(path.join(bp, 'bin', 'supply'), [base.build, base.cache, base.deps, '0'], { env: withoutNode.env });
    if (!first.stdout.includes('Installing node')) throw new Error(`the runtime was not installed on the first run:\n${first.stdout}`);
    const samples = await sample(supplyTrial(withoutNode, 'Using cached payload 1.0.0'), supplyTrial(withNode, 'Using cached payload 1.0.0'), ctx.fastRuns);
    const runtimeRequests = ctx.server.requests.get(runtimePath) ?? 0;
    const diff = samples.figureMedian - samples.baselineMedian;
    return {
      key,
      value: diff,
      unit: 'ms',
      target: 50,
      figure: secs(samples.figureMedian),
      baseline: secs(samples.baselineMedian),
      raw: {
        without_node_median_ms: samples.figureMedian,
        with_node_median_ms: samples.baselineMedian,
        without_node_ms: samples.figure,
        with_node_ms: samples.baseline,
        runtime_downloads: runtimeRequests,
        input_bytes: archive.bytes,
      },
    };
  } finally {
    await fs.rm(noNodePath, { recursive: true, force: true });
  }
}
