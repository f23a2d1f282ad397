// How the cf platform runs the `cf` CLI: an injected runner (a real child process by default),
// so tests can put a recording stub `cf` on PATH.

import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Run `cf <args>` with exactly `env`; never rejects for a non-zero exit. */
  run(args: string[], env: Record<string, string>): Promise<CommandResult>;
}

/** Spawns `bin` (default `cf`, found on env.PATH) as a child process. */
export function spawnRunner(bin = 'cf'): CommandRunner {
  return {
    run(args, env) {
      return new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + `${bin}: ${e.message}\n` }));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    },
  };
}
