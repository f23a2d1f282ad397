// Run the manifest's `pre_package` command in the buildpack directory before files are collected
// (it typically builds the bundles that `include_files` then lists).

import { spawn } from 'node:child_process';
import { PackagerError } from '../errors.js';

/**
 * Run `command` with `sh -c` in `dir`. Resolves with its combined output; on a non-zero exit
 * (or a signal) rejects with a PackagerError carrying that output, so the user sees why.
 */
export function runPrePackage(command: string, dir: string, env: Record<string, string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd: dir, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err) => reject(new PackagerError(`pre_package \`${command}\` could not start: ${err.message}`, 'PRE_PACKAGE_FAILED', { cause: err })));
    child.on('close', (code, signal) => {
      const output = Buffer.concat(chunks).toString('utf8');
      if (code === 0) return resolve(output);
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const shown = output.trimEnd();
      reject(new PackagerError(`pre_package \`${command}\` ${how}${shown ? `:\n${shown}` : ' with no output'}`, 'PRE_PACKAGE_FAILED'));
    });
  });
}
