// bin/supply's peak memory downloading a large dependency (the node-less bootstrap cases are in
// bootstrap.ts).

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { BenchContext, CaseResult } from '../lib/context.js';
import type { GeneratedArchive } from '../lib/inputs.js';
import { median, timeRun } from '../lib/measure.js';
import { freshDir, payloadDependency, settle, supplySetup, type SupplySetup } from './supply.js';

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
