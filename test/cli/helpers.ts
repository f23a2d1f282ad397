// CLI test helpers: in-memory io for main(argv, io), and a toolkit root with the shims and
// bundles `init` copies.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIO, RegisterCommand } from '../../src/cli/io.js';
import { tmpDir, writeFiles } from '../packager/helpers.js';
import { buildSupplyBundle } from '../helpers/supply-bundle.js';

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

/** How the toolkit root's dist/supply.cjs was obtained. */
export type BundleSource = 'repo' | 'built' | 'placeholder';

/**
 * A toolkit root for `init --toolkit-root`: a temp copy of the repository's bin/ shims, its
 * dist/supply.cjs (or, while dist/ is not built yet, one bundled here with esbuild from
 * src/bin/supply.ts, or failing that a placeholder — test-only stand-ins), and a manifest.yml
 * whose `node` runtime entry points where the test says (the real one needs the internet).
 */
export async function toolkitRoot(node: { uri: string; sha256: string }): Promise<{ root: string; bundle: BundleSource }> {
  const root = await tmpDir('sbp-toolkit-');
  await writeFiles(root, {
    'package.json': JSON.stringify({ name: 'sidecar-buildpack' }),
    'manifest.yml': `language: toolkit
default_versions:
- name: node
  version: 22.x
dependencies:
# Staging-only Node.js runtime
- name: node
  version: 22.1.0
  uri: ${node.uri}
  sha256: ${node.sha256}
  cf_stacks:
  - cflinuxfs4
`,
  });
  for (const f of ['bin/detect', 'bin/supply']) await writeFiles(root, { [f]: await fs.readFile(path.join(REPO_ROOT, f)) }, 0o755);
  const repoBundle = path.join(REPO_ROOT, 'dist', 'supply.cjs');
  if (existsSync(repoBundle)) {
    await writeFiles(root, { 'dist/supply.cjs': await fs.readFile(repoBundle) });
    // the bundle's lazily loaded part, which it requires on its slower paths (scripts/build.mjs)
    const lazy = path.join(REPO_ROOT, 'dist', 'supply-lazy.cjs');
    if (existsSync(lazy)) await writeFiles(root, { 'dist/supply-lazy.cjs': await fs.readFile(lazy) });
    return { root, bundle: 'repo' };
  }
  try {
    await buildSupplyBundle(path.join(root, 'dist', 'supply.cjs'), 'silent');
    return { root, bundle: 'built' };
  } catch {
    await writeFiles(root, { 'dist/supply.cjs': '// placeholder bundle (test only)\n' });
    return { root, bundle: 'placeholder' };
  }
}
