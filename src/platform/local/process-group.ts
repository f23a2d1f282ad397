// Child processes in their own process group, so that a signal reaches the command and every
// child it started; stopping is SIGTERM, a grace period, then SIGKILL (as the platform does).

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { LineWriter } from './log-book.js';

/** How a process ended: the shell-style status (`128 + signal` when killed by one). */
export interface ExitInfo {
  status: number;
  signal: NodeJS.Signals | null;
}

export interface GroupProcess {
  readonly pid: number;
  /** Resolves when the group leader has exited. */
  readonly exited: Promise<ExitInfo>;
  /** True until the leader exits. */
  running(): boolean;
  /** Send `signal` to the whole group (ignored once the group is gone). */
  signal(signal: NodeJS.Signals): void;
}

export interface SpawnGroupOptions {
  env: Record<string, string>;
  cwd: string;
  stdout: LineWriter;
  stderr: LineWriter;
}

/** Start `file args...` as the leader of a new process group. */
export function spawnGroup(file: string, args: string[], options: SpawnGroupOptions): GroupProcess {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let alive = true;
  child.stdout.on('data', (c: Buffer) => options.stdout.write(c));
  child.stderr.on('data', (c: Buffer) => options.stderr.write(c));
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('error', () => {
      alive = false;
      resolve({ status: 127, signal: null });
    });
    child.on('exit', (code, signal) => {
      alive = false;
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      // Let the pipes drain before the last line is flushed.
      child.stdout.once('close', () => options.stdout.end());
      child.stderr.once('close', () => options.stderr.end());
      resolve({ status, signal });
    });
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    exited,
    running: () => alive,
    signal: (sig) => signalGroup(pid, sig),
  };
}

/** Signal every process of group `pgid`; a group that is gone is not an error. */
export function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while any live (non-zombie) process of group `pgid` exists. Zombies are skipped: where
 * PID 1 reaps orphans late (containers), a killed group would otherwise look alive for seconds.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // No /proc: trust kill(-pgid, 0).
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // The process went away while we looked.
    }
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stop the group: SIGTERM, wait up to `graceMs` for every member to exit, then SIGKILL and wait
 * until the group is gone. Resolves with the leader's exit.
 */
export async function stopGroup(p: GroupProcess, graceMs: number): Promise<ExitInfo> {
  p.signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(p.pid) && Date.now() < deadline) await sleep(20);
  if (groupAlive(p.pid)) p.signal('SIGKILL');
  const info = await p.exited;
  // Members other than the leader may take a moment to be reaped after SIGKILL.
  while (groupAlive(p.pid)) await sleep(10);
  return info;
}
