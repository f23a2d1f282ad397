// CLI test helpers: in-memory io for main(argv, io), and a toolkit root with the shims and
// bundles `init` copies.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIO, RegisterCommand } from '../../src/cli/io.js';
import { tmpDir, writeFiles } from '../packager/helpers.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in-process with memory streams. */
export async function cli(argv: string[], options: { cwd: string; env?: Record<string, string | undefined>; tty?: boolean; commands?: RegisterCommand[] }): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s), isTTY: options.tty === true, columns: 80 },
    env: options.env ?? { HOME: options.cwd },
    cwd: options.cwd,
  };
  const code = await main(argv, io, ...(options.commands ? [options.commands] : []));
  return { code, stdout: out.join(''), stderr: err.join('') };
}

export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * The toolkit root `init` copies from: the repository itself when its bundles are built;
 * otherwise (dist/ not built yet) a temp copy with placeholder bundles — test-only stand-ins.
 */
export async function toolkitRoot(): Promise<{ root: string; placeholder: boolean }> {
  if (existsSync(path.join(REPO_ROOT, 'dist', 'supply.cjs'))) return { root: REPO_ROOT, placeholder: false };
  const root = await tmpDir('sbp-toolkit-');
  await writeFiles(root, {
    'package.json': JSON.stringify({ name: 'sidecar-buildpack' }),
    'manifest.yml': await fs.readFile(path.join(REPO_ROOT, 'manifest.yml'), 'utf8'),
    'dist/supply.cjs': '// placeholder bundle (test only)\n',
  });
  for (const f of ['bin/detect', 'bin/supply']) await writeFiles(root, { [f]: await fs.readFile(path.join(REPO_ROOT, f)) }, 0o755);
  return { root, placeholder: true };
}
