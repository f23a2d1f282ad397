// Reliability-suite helpers: a throwaway supply buildpack made of the repository's real bin/supply
// shim and committed dist/supply.cjs bundle, a runner for it as a child process, and the
// "nothing left behind" checks (temp files, processes) every scenario ends with.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTree, sha256, sha256File, tgzBuffer } from '../../test/helpers/archives.js';
import { runAsync } from '../../test/helpers/spawn.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A dependency line of the generated manifest. */
export interface DepLine {
  name?: string;
  version?: string;
  uri: string;
  sha256: string;
  file?: string;
}

/** The manifest of a one-sidecar buildpack: sidecar `agent` runs `bin/agent` of dependency `agent`. */
export function agentManifest(dep: DepLine, extra = ''): string {
  return `language: reliability
default_versions:
- name: ${dep.name ?? 'agent'}
  version: 1.x
dependencies:
- name: ${dep.name ?? 'agent'}
  version: ${JSON.stringify(dep.version ?? '1.0.0')}
  uri: ${JSON.stringify(dep.uri)}
  sha256: ${JSON.stringify(dep.sha256)}
  cf_stacks: [cflinuxfs4]
${dep.file ? `  file: ${JSON.stringify(dep.file)}\n` : ''}sidecars:
- name: agent
  dependency: ${dep.name ?? 'agent'}
  command: bin/agent
${extra}`;
}

/** The agent dependency as a .tgz: `bin/agent` plus `padding` random bytes in `data/blob`. */
export async function agentTgz(padding = 0): Promise<{ body: Buffer; sha256: string; files: Record<string, Buffer> }> {
  const files: Record<string, Buffer> = { 'bin/agent': Buffer.from('#!/bin/sh\necho agent "$@"\n') };
  if (padding > 0) files['data/blob'] = randomBytes(padding);
  const body = await tgzBuffer(files);
  return { body, sha256: sha256(body), files };
}

/** Write a buildpack at `dir`: the real shims and bundle, VERSION, and `manifest` as manifest.yml. */
export async function makeBuildpack(dir: string, manifest: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
  for (const f of ['bin/supply', 'bin/detect']) await fs.copyFile(path.join(REPO, f), path.join(dir, f));
  for (const f of ['bin/supply', 'bin/detect']) await fs.chmod(path.join(dir, f), 0o755);
  for (const f of ['dist/supply.cjs', 'dist/supply-lazy.cjs']) await fs.copyFile(path.join(REPO, f), path.join(dir, f));
  await fs.writeFile(path.join(dir, 'VERSION'), '9.9.9\n');
  await fs.writeFile(path.join(dir, 'manifest.yml'), manifest);
  return dir;
}

/** The four staging dirs of one `bin/supply` run, plus the private TMPDIR it is given. */
export interface StagingDirs {
  build: string;
  cache: string;
  deps: string;
  tmp: string;
}

/** Fresh build/deps/tmp dirs under `root`; `cache` is shared when given. */
export async function stagingDirs(root: string, cache?: string): Promise<StagingDirs> {
  const base = await fs.mkdtemp(path.join(root, 'staging-'));
  const dirs = {
    build: path.join(base, 'build'),
    cache: cache ?? path.join(base, 'cache'),
    deps: path.join(base, 'deps'),
    tmp: path.join(base, 'tmp'),
  };
  for (const d of Object.values(dirs)) await fs.mkdir(d, { recursive: true });
  return dirs;
}

/** The outcome of one `bin/supply` run. */
export interface SupplyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** A unique value put in the child's environment, to find its processes in /proc. */
  marker: string;
}

/** Options of {@link runSupply}. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** SIGKILL the shim after this many ms (a crash at a random point). */
  killAfterMs?: number;
  /** Called with the child once spawned. */
  onSpawn?: (child: ChildProcess) => void;
}

/** Run `<bp>/bin/supply BUILD CACHE DEPS 0` as the builder does, with a minimal staging env. */
export async function runSupply(bp: string, dirs: StagingDirs, options: RunOptions = {}): Promise<SupplyRun> {
  const marker = `reliability-${randomBytes(8).toString('hex')}`;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CF_STACK: 'cflinuxfs4', HOME: dirs.build, TMPDIR: dirs.tmp, LANG: 'C.UTF-8', RELIABILITY_MARKER: marker };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  let timer: NodeJS.Timeout | undefined;
  const onSpawn = (child: ChildProcess): void => {
    options.onSpawn?.(child);
    if (options.killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  };
  const r = await runAsync(path.join(bp, 'bin/supply'), [dirs.build, dirs.cache, dirs.deps, '0'], { env, onSpawn }).finally(() => clearTimeout(timer));
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, marker };
}

/** Pids of live (non-zombie) processes whose environment holds `needle`. */
export async function processesWith(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /.test(stat)) continue;
      const environ = await fs.readFile(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // gone already, or not readable
    }
  }
  return found;
}

/** Wait (bounded) until no process carries `marker`; returns the pids still alive at the end. */
export async function processesGone(marker: string, attempts = 50): Promise<number[]> {
  let alive = await processesWith(marker);
  for (let i = 0; i < attempts && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    alive = await processesWith(marker);
  }
  return alive;
}

/** Every path under `dir`, relative (directories with a trailing `/`); [] when it does not exist. */
export function tree(dir: string): Promise<string[]> {
  return listTree(dir, { skipUnreadable: true });
}

/** Temp names the toolkit uses (`.<name>.<tag>-<pid>-<hex>`) or the shim (`.tmp.<pid>`). */
const TEMP = /(^|\/)\.[^/]*\.(download|extract|zip|old|tmp)-\d+-[0-9a-f]+\/?$|(^|\/)\.tmp\.\d+\/?$/;

/** Temp or partial files left under `dir` (see TEMP). */
export async function tempLeftovers(dir: string): Promise<string[]> {
  return (await tree(dir)).filter((p) => TEMP.test(p));
}

/**
 * After a failed staging: no temp file anywhere, no dependency dir in the deps dir, an empty
 * TMPDIR, no process left. Returns the problems found.
 */
export async function leftoversAfterFailure(dirs: StagingDirs, run: SupplyRun, dependency = 'agent'): Promise<string[]> {
  const problems: string[] = [];
  for (const d of [dirs.deps, dirs.cache, dirs.build]) for (const t of await tempLeftovers(d)) problems.push(`temp left: ${path.join(d, t)}`);
  for (const t of await tree(path.join(dirs.deps, '0'))) if (t === `${dependency}/` || t.startsWith(`${dependency}/`)) problems.push(`half-installed: deps/0/${t}`);
  for (const t of await tree(dirs.tmp)) problems.push(`TMPDIR not empty: ${t}`);
  for (const pid of await processesGone(run.marker)) problems.push(`process left: ${pid}`);
  return problems;
}

/** Every app-cache file (key dir/name), and any that does not hash to `expected`. */
export async function verifyCache(cache: string, expected: string): Promise<{ files: string[]; bad: string[]; other: string[] }> {
  const all = await tree(path.join(cache, 'dependencies'));
  const files = all.filter((p) => /^[0-9a-f]{64}\/[^/]+$/.test(p));
  const other = all.filter((p) => !files.includes(p) && !/^[0-9a-f]{64}\/$/.test(p));
  const bad: string[] = [];
  for (const f of files) if ((await sha256File(path.join(cache, 'dependencies', f))) !== expected) bad.push(f);
  return { files, bad, other };
}

/** The installed dependency's files equal `files` (bin/agent executable). Returns problems. */
export async function verifyInstalled(deps: string, files: Record<string, Buffer>, dependency = 'agent'): Promise<string[]> {
  const dir = path.join(deps, '0', dependency);
  const problems: string[] = [];
  for (const [rel, content] of Object.entries(files)) {
    const got = await fs.readFile(path.join(dir, rel)).catch(() => undefined);
    if (!got) problems.push(`missing ${rel}`);
    else if (!got.equals(content)) problems.push(`${rel} differs`);
  }
  const st = await fs.stat(path.join(dir, 'bin/agent')).catch(() => undefined);
  if (st && (st.mode & 0o111) === 0) problems.push('bin/agent not executable');
  for (const f of ['launch.yml', 'config.yml']) if (!(await fs.stat(path.join(deps, '0', f)).catch(() => undefined))) problems.push(`no ${f}`);
  return problems;
}

/** A seed for random scenarios: RELIABILITY_SEED when set (to replay a failure), else fresh; logged. */
export function seedFor(title: string): number {
  const fromEnv = process.env.RELIABILITY_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  console.log(`      [seed] ${title}: RELIABILITY_SEED=${seed}`);
  return seed;
}

/** A small deterministic PRNG (mulberry32) for kill points and the like. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A temp root under os.tmpdir(), removed by the returned function. */
export async function tempRoot(prefix = 'reliability-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}
