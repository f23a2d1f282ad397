// Test helper: run a child process without blocking the event loop (a test's HTTP server often
// lives in this same process, which spawnSync would starve) and collect what it printed.

import { spawn, type ChildProcess } from 'node:child_process';

/** How a child ended and what it printed; `status` as spawnSync names it. */
export interface SpawnResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runAsync}. */
export interface RunAsyncOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with the child as soon as it is spawned (to kill it at some point, say). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * Runs `cmd args` with stdin closed and resolves once it has exited and its output is drained;
 * rejects only when it cannot be started.
 */
export function runAsync(cmd: string, args: string[], options: RunAsyncOptions = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
