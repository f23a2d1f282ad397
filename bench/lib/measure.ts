// Timing primitives of the benchmark: run a child process and time it (wall clock, spawn to
// close), and sample a figure against its baseline: one warm-up each, then N interleaved runs.

import { spawn } from 'node:child_process';
import path from 'node:path';

/** One finished child process. */
export interface RunResult {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) and reject after this long: a hung run must not hang the benchmark. Default 300 s. */
  timeoutMs?: number;
}

/** Run `cmd args`, timing it from spawn to the close of its stdio; rejects on a non-zero exit. */
export function timeRun(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const r = { ms, code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      const how = timedOut ? `hung: killed after ${Math.round(ms / 1000)} s` : `exited ${code ?? signal}`;
      if (code !== 0) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} ${how}\n${r.stdout}${r.stderr}`));
      else resolve(r);
    });
  });
}

/** Time an async function (wall clock). */
export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One timed thing: `prepare` (untimed) then `run`, which returns its own duration in ms. */
export interface Trial {
  prepare?: () => Promise<void>;
  run: () => Promise<number>;
}

/** Raw samples of a figure and its baseline, in ms. */
export interface Samples {
  figure: number[];
  baseline: number[];
  figureMedian: number;
  baselineMedian: number;
}

/**
 * Warm up both once, then alternate figure and baseline `runs` times (interleaving spreads any
 * drift of the machine — page cache, CPU frequency, a neighbour — over both sides equally).
 */
export async function sample(figure: Trial, baseline: Trial, runs: number): Promise<Samples> {
  const once = async (t: Trial): Promise<number> => {
    await t.prepare?.();
    return t.run();
  };
  await once(figure);
  await once(baseline);
  const f: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    // alternate which side goes first, so neither always runs right after the other's cleanup
    if (i % 2 === 0) {
      f.push(await once(figure));
      b.push(await once(baseline));
    } else {
      b.push(await once(baseline));
      f.push(await once(figure));
    }
  }
  return { figure: f, baseline: b, figureMedian: median(f), baselineMedian: median(b) };
}
