// How busy the machine was while a case ran. The 1-minute load average (sampled every second,
// before and during the case) counts the benchmark's own processes too; the CPU time of every
// process that is not the benchmark or one of its descendants (from /proc/stat minus this process
// tree's own times) names a neighbour directly. A figure taken while either was high is "noisy":
// shown, recorded, never called met. The steal of /proc/stat (what the hypervisor held back from
// this VM for others) counts as noise too, named apart: it is a neighbour on the host.

import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Noisy above this 1-minute load average at any moment of the case (issue 14: "above 1"). */
export const MAX_LOAD = 1;
/** Noisy when other processes used more than this many cores on average during the case. */
export const MAX_OTHERS_CORES = 0.25;

export interface LoadReport {
  /** 1-minute load average when the case started and ended, and the highest seen in between. */
  before: number;
  after: number;
  max: number;
  /** Cores used on average by processes outside the benchmark's tree; null where /proc is missing. */
  others_cores: number | null;
  /**
   * Cores the hypervisor gave to others while this VM wanted them (`steal` of /proc/stat), on
   * average; null where /proc is missing. A neighbour on the host, not on this machine.
   */
  steal_cores?: number | null;
  noisy: boolean;
  /** Why it is noisy, for the table. */
  reason?: string;
}

/**
 * CPU ticks of this process tree: this process (with its reaped children) and every live
 * descendant (with theirs). Reaped children alone are not enough: the local platform's processes
 * are children of its spawn helper and of container inits, which reap them, and those are reaped
 * by this process only when the case is over (if at all), so their CPU would count as a
 * neighbour's.
 */
function treeTicks(): number {
  const parent = new Map<number, number>();
  const times = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // after the comm field: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(e), Number(f[1]));
    times.set(Number(e), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
  }
  const mine = new Set([process.pid]);
  // parents before children is not guaranteed by pid order: repeat until nothing is added
  for (let added = true; added; ) {
    added = false;
    for (const [pid, ppid] of parent) {
      if (!mine.has(pid) && mine.has(ppid)) {
        mine.add(pid);
        added = true;
      }
    }
  }
  let own = 0;
  for (const pid of mine) own += times.get(pid) ?? 0;
  return own;
}

/** Busy CPU ticks of the whole machine and of this process tree, and the steal, in USER_HZ. */
function ticks(): { busy: number; own: number; steal: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6];
    return { busy, own: treeTicks(), steal: cpu[7] ?? 0 };
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const HZ = 100;

/**
 * Judge a report: noisy when the load average went above MAX_LOAD, a neighbour on this machine
 * used CPU, or the hypervisor held back as much from this VM (steal): each named for what it is.
 */
export function judge(before: number, after: number, max: number, others: number | null, steal: number | null = null): LoadReport {
  const reasons: string[] = [];
  if (max > MAX_LOAD) reasons.push(`load average ${max.toFixed(2)} > ${MAX_LOAD}`);
  if (others !== null && others > MAX_OTHERS_CORES) reasons.push(`other processes used ${others.toFixed(2)} cores`);
  if (steal !== null && steal > MAX_OTHERS_CORES) reasons.push(`the hypervisor took ${steal.toFixed(2)} cores (steal)`);
  return { before, after, max, others_cores: others, steal_cores: steal, noisy: reasons.length > 0, ...(reasons.length ? { reason: reasons.join(', ') } : {}) };
}

/** Start watching; `stop()` gives the report of the time in between. */
export function watchLoad(): { stop(): LoadReport } {
  const before = os.loadavg()[0];
  let max = before;
  const t0 = ticks();
  const start = process.hrtime.bigint();
  const timer = setInterval(() => (max = Math.max(max, os.loadavg()[0])), 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const after = os.loadavg()[0];
      max = Math.max(max, after);
      const t1 = ticks();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // below a second the 10 ms ticks say nothing (a size-only case takes microseconds)
      const long = t0 && t1 && seconds >= 1;
      const others = long ? Math.max(0, (t1.busy - t0.busy - (t1.own - t0.own)) / HZ / seconds) : null;
      const steal = long ? Math.max(0, (t1.steal - t0.steal) / HZ / seconds) : null;
      return judge(before, after, max, others, steal);
    },
  };
}

/**
 * Wait until the 1-minute load average is at most `target` (the previous case's own load
 * decays in about a minute), at most `maxWaitMs`. Resolves with the load it reached.
 */
export async function settleLoad(target: number, maxWaitMs: number, progress: (m: string) => void): Promise<number> {
  const until = Date.now() + maxWaitMs;
  let load = os.loadavg()[0];
  if (load <= target) return load;
  progress(`waiting for the load average (${load.toFixed(2)}) to fall to ${target} (at most ${Math.round(maxWaitMs / 1000)} s)`);
  while (load > target && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 2000));
    load = os.loadavg()[0];
  }
  return load;
}
