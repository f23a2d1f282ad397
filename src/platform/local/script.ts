// Runs one buildpack script (bin/supply, bin/finalize, ...) as the builder does: argv as given,
// the staging env, stdout to the staging log (or captured), stderr tagged ERR.

import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
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
}

/** Spawn `file args...` and wait for it. Never rejects: failures are in the outcome. */
export function runScript(file: string, args: string[], options: RunScriptOptions): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    let stdout = '';
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
