// Child processes used by the extractors (the system `tar` and `xz`): start, collect stderr,
// wait for exit, and kill on failure so nothing keeps writing after an error.

import { spawn, type ChildProcess } from 'node:child_process';
import { BuildpackError } from '../errors.js';

/** How a helper ended; `killed` when we killed it (its failure then says nothing about the input). */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  killed: boolean;
}

/** A running helper process and the promise of its outcome. */
export interface Child {
  proc: ChildProcess;
  /** Resolves when the process has exited: its code (null when killed) and the tail of stderr. */
  exited: Promise<ChildExit>;
  kill(): Promise<void>;
}

/** Start `command` with piped stdio (stdout ignored unless `stdout`). Missing tools fail with TOOL_MISSING. */
export function startChild(command: string, args: string[], options: { stdout?: boolean } = {}): Child {
  const proc = spawn(command, args, { stdio: ['pipe', options.stdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 16384) stderr += d.toString();
  });
  // A child that died early makes writes to its stdin fail with EPIPE: the exit status tells why.
  proc.stdin?.on('error', () => undefined);
  let killed = false;
  const exited = new Promise<ChildExit>((resolve, reject) => {
    proc.on('error', (e) => reject(new BuildpackError('TOOL_MISSING', `could not run ${command}: ${e.message}`, { cause: e })));
    proc.on('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim(), killed }));
  });
  exited.catch(() => undefined);
  return {
    proc,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        killed = true;
        proc.kill('SIGKILL');
      }
      await exited.catch(() => undefined);
    },
  };
}
