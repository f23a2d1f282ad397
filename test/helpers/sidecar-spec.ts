// Test helper: a valid SidecarSpec to vary per test, and a rendered sidecar written into a deps dir
// with a stand-in "binary" so its scripts can run for real.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SidecarSpec } from '../../src/manifest/types.js';
import { renderSidecar, splitCommand } from '../../src/sidecar/render.js';

/** The plainest valid spec (a `config-server` for `web`, no env, no checks) with `over` on top. */
export function sidecarSpec(over: Partial<SidecarSpec> = {}): SidecarSpec {
  return {
    name: 'config-server',
    dependency: 'config-server',
    command: 'bin/config-server',
    args: [],
    process_types: ['web'],
    env: {},
    ...over,
  };
}

/**
 * Writes what `renderSidecar(s, idx)` renders under `deps/idx`, and `binary` (mode 755) where the
 * spec's command points, as staging would lay them out. Returns the launch.yml command.
 */
export async function writeSidecar(deps: string, s: SidecarSpec, binary: string, idx = '0'): Promise<string> {
  const rendered = renderSidecar(s, idx);
  for (const f of rendered.files) {
    const p = path.join(deps, idx, f.path);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, f.contents, { mode: f.mode });
  }
  const bin = path.join(deps, idx, s.dependency, splitCommand(s.command).file);
  await fs.mkdir(path.dirname(bin), { recursive: true });
  await fs.writeFile(bin, binary, { mode: 0o755 });
  return rendered.process.command;
}
