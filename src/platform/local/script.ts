// Runs one buildpack script (bin/supply, bin/finalize, ...) as the builder does: argv as given,
// the staging env, stdout to the staging log (or captured), stderr tagged ERR.

import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Container } from './container.js';
import type { LineWriter } from './log-book.js';

/** How a script ended: `exit status N`, or the exec failure Go's os/exec would report. */
export interface ScriptOutcome {
  ok: boolean;
  /** Go's error text: `exit status 1`, `fork/exec <path>: permission denied`, `signal: killed`. */
  error?: string;
  stdout: string;
}

/** True when `file` exists (any type). */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** True when `file` exists and has an execute bit. */
export async function isExecutable(file: string): Promise<boolean> {
  try {
    return ((await stat(file)).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export interface RunScriptOptions {
  env: Record<string, string>;
  cwd: string;
  /** stdout lines (omit with `capture` to keep stdout out of the log). */
  out?: LineWriter;
  err: LineWriter;
  /** Keep stdout in the outcome instead of (as well as) logging it. */
  capture?: boolean;
  /** Aborting kills the script and every process of its group. */
  signal?: AbortSignal;
  /** In a container: run as this user (the builder runs buildpacks as vcap). */
  uid?: number;
  /** In a container: the cgroup.procs files the script joins (the staging's limits), and `ulimit -n`. */
  procsFiles?: string[];
  nofile?: number;
}

/** Spawn `file args...` and wait for it. Never rejects: failures are in the outcome. */
export function runScript(file: string, args: string[], options: RunScriptOptions): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    let stdout = '';
    // its own process group, so that a stop reaches what the script started (tar, curl, ...)
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    child.once('exit', () => options.signal?.removeEventListener('abort', kill));
    child.stdout.on('data', (c: Buffer) => {
      if (options.capture) stdout += c.toString();
      options.out?.write(c);
    });
    child.stderr.on('data', (c: Buffer) => options.err.write(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const reason = e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOENT' ? 'no such file or directory' : e.message;
      resolve({ ok: false, error: `fork/exec ${file}: ${reason}`, stdout });
    });
    child.on('close', (code, signal) => {
      options.out?.end();
      options.err.end();
      if (code === 0) resolve({ ok: true, stdout });
      else resolve({ ok: false, error: signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`, stdout });
    });
  });
}

/**
 * Run a buildpack script inside a staging container: `file` is its path there, `hostFile` the
 * same file on this machine (checked first, so a missing or non-executable script fails with
 * the builder's own `fork/exec` text).
 */
export async function runInContainer(container: Container, hostFile: string, file: string, args: string[], options: RunScriptOptions): Promise<ScriptOutcome> {
  try {
    const st = await stat(hostFile);
    if ((st.mode & 0o111) === 0) return { ok: false, error: `fork/exec ${file}: permission denied`, stdout: '' };
  } catch {
    return { ok: false, error: `fork/exec ${file}: no such file or directory`, stdout: '' };
  }
  let stdout = '';
  const capture: LineWriter = { write: (c) => (stdout += c.toString()), end: () => undefined };
  const out: LineWriter | undefined = options.capture ? capture : options.out;
  const p = container.exec({ argv: [file, ...args], env: options.env, cwd: options.cwd, uid: options.uid, procsFiles: options.procsFiles, nofile: options.nofile }, { stdout: out, stderr: options.err });
  const info = await p.exited;
  // as the builder's exec does, the outcome waits for the script's output to be complete
  await p.closed;
  if (info.status === 0 && !info.signal) return { ok: true, stdout };
  if (info.signal) return { ok: false, error: `signal: ${info.signal === 'SIGKILL' ? 'killed' : info.signal}`, stdout };
  return { ok: false, error: `exit status ${info.status}`, stdout };
}
