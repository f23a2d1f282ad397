// The benchmark's output: a table on stdout (figure, baseline, value, target, ✓/✗), the
// machine it ran on, and results.json (the issue's keys at the top level plus raw medians).

import os from 'node:os';
import type { CaseResult } from './context.js';

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  platform: string;
  memory_mib: number;
}

export function machine(): Machine {
  return {
    cores: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_mib: Math.round(os.totalmem() / 1024 / 1024),
  };
}

/** Whether the figure is a time taken while the machine was busy (then it is never called met). */
export function noisy(r: CaseResult): boolean {
  return r.timed !== false && r.load?.noisy === true;
}

/** Whether a result meets its target (every target is an upper bound) on a quiet machine. */
export function met(r: CaseResult): boolean {
  return r.value !== null && r.value <= r.target && !noisy(r);
}

function verdict(r: CaseResult): string {
  if (r.value === null) return '✗';
  if (noisy(r)) return `noisy (${r.load!.reason})`;
  return met(r) ? '✓' : '✗';
}

function formatValue(r: CaseResult): string {
  if (r.value === null) return 'error';
  if (r.unit === 'ratio') return r.value.toFixed(2);
  return `${r.value.toFixed(1)} ${r.unit === 'MiB' ? 'MiB' : 'ms'}`;
}

function formatTarget(r: CaseResult): string {
  return `≤ ${r.unit === 'ratio' ? r.target.toFixed(r.target % 1 ? 1 : 0) : `${r.target} ${r.unit}`}`;
}

/** The human table (plain text, aligned columns). */
export function renderTable(results: CaseResult[], m: Machine, runs: number, quick: boolean, fastRuns = runs): string {
  const head = ['key', 'figure', 'baseline', 'value', 'target', ''];
  const rows = results.map((r) => [r.key, r.figure, r.baseline, formatValue(r), formatTarget(r), verdict(r)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [
    `machine: ${m.cores} cores (${m.cpu}), ${m.memory_mib} MiB, node ${m.node}, ${m.platform}`,
    `medians of ${runs} runs (${fastRuns} for sub-second figures) after one warm-up${quick ? ' (--quick: smaller inputs)' : ''}; baselines measured in the same run, interleaved`,
    ...(quick ? ['--quick: the supply ratios of its 8 MiB inputs are dominated by start-up time; only a full run compares with the targets'] : []),
    `load average (1 min) now: ${os.loadavg()[0].toFixed(2)}; a time taken while the load average was above 1 or other processes used CPU is marked noisy and never met (raw.*.load)`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  for (const r of results) if (r.error) out.push('', `${r.key}: ${r.error}`);
  return `${out.join('\n')}\n`;
}

/** results.json: `{ <key>: value, ..., targets, met, raw: { <key>: {...} }, machine, runs, quick, date }`. */
export function resultsJson(results: CaseResult[], m: Machine, runs: number, quick: boolean, fastRuns = runs): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const r of results) json[r.key] = r.value;
  json.targets = Object.fromEntries(results.map((r) => [r.key, r.target]));
  json.met = Object.fromEntries(results.map((r) => [r.key, met(r)]));
  json.noisy = Object.fromEntries(results.map((r) => [r.key, noisy(r)]));
  json.raw = Object.fromEntries(results.map((r) => [r.key, { ...r.raw, ...(r.load ? { load: r.load } : {}), ...(r.error ? { error: r.error } : {}) }]));
  json.machine = m;
  json.runs = runs;
  json.fast_runs = fastRuns;
  json.quick = quick;
  json.date = new Date().toISOString();
  return json;
}
