// Test harness for the generated sidecar scripts: writes a rendered sidecar into a temp deps dir,
// runs scripts in real shells as real child processes, and serves a switchable HTTP check target
// on 127.0.0.1 (ok / failing / hanging / closed) that records what it answered and when.

import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SidecarSpec } from '../../src/manifest/types.js';
import { launcherArgs } from '../../src/platform/local/launcher.js';
import { sidecarSpec, writeSidecar } from '../helpers/sidecar-spec.js';

export type Shell = 'sh' | 'bash';
export const SHELLS: Shell[] = ['sh', 'bash'];

/** The shared plain spec, named `agent` (the scripts' marks and paths below use that name). */
export function spec(over: Partial<SidecarSpec> = {}): SidecarSpec {
  return sidecarSpec({ name: 'agent', dependency: 'agent', command: 'bin/agent', ...over });
}

/** Every Droplet and Target made and not yet released: a test's leftovers, whatever variable held them. */
const live = new Set<Droplet | Target>();

/** Registers (call inside a describe) an afterEach that removes every Droplet and closes every Target the test made. */
export function releaseAfterEach(): void {
  afterEach(async () => {
    const made = [...live];
    live.clear();
    for (const x of made) await (x instanceof Droplet ? x.remove() : x.close());
  });
}

/** A temp deps dir holding one rendered sidecar and its "binary" (a shell script). */
export class Droplet {
  private constructor(readonly root: string, readonly deps: string, readonly command: string, readonly spec: SidecarSpec) {}

  static async create(s: SidecarSpec, binary: string, idx = '0'): Promise<Droplet> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-'));
    const deps = path.join(root, 'deps');
    const command = await writeSidecar(deps, s, binary, idx);
    await fs.mkdir(path.join(root, 'app'));
    await fs.mkdir(path.join(root, 'marks'));
    const droplet = new Droplet(root, deps, command, s);
    live.add(droplet);
    return droplet;
  }

  file(rel: string): string {
    return path.join(this.deps, '0', rel);
  }

  mark(name: string): string {
    return path.join(this.root, 'marks', name);
  }

  async readMark(name: string): Promise<string | undefined> {
    return fs.readFile(this.mark(name), 'utf8').catch(() => undefined);
  }

  /** argv that runs the launch.yml command like the launcher (`bash -c`), the wrapper under `shell`. */
  launchArgv(shell: Shell): string[] {
    return ['bash', '-c', `exec ${shell} ${this.command}`];
  }

  env(extra: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', DEPS_DIR: this.deps, MARKS: path.join(this.root, 'marks'), LANG: 'C' };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
    return env;
  }

  async remove(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

/** A running child with its output so far and the order of its stdout lines. */
export class Run {
  stdout = '';
  stderr = '';
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly pid: number;

  constructor(argv: string[], env: Record<string, string>, cwd?: string) {
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = child.pid ?? -1;
    child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  kill(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }
}

/** Poll until `check` holds (no timing assertion: mocha's timeout is the only bound). */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 15000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export type Mode = 'ok' | 'fail' | 'hang';

/** The check target: a real listener on 127.0.0.1 whose answers the test switches. */
export class Target {
  mode: Mode = 'ok';
  /** [mode answered, Date.now()] per request. */
  readonly answers: { mode: Mode; path: string; at: number }[] = [];
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly port: number) {
    live.add(this);
  }

  /** Reserve a free port without listening yet (the sidecar "starts later"). */
  static async reserve(): Promise<Target> {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    return new Target(port);
  }

  static async listening(mode: Mode = 'ok'): Promise<Target> {
    const t = await Target.reserve();
    t.mode = mode;
    await t.listen();
    return t;
  }

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.answers.push({ mode: this.mode, path: req.url ?? '', at: Date.now() });
      if (this.mode === 'hang') return; // never answer
      res.writeHead(this.mode === 'ok' ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(this.mode);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  okCount(): number {
    return this.answers.filter((a) => a.mode === 'ok').length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise((r) => this.server!.close(r));
    this.server = undefined;
  }
}

/** A PATH dir with the tools the scripts need but no curl: forces the bash /dev/tcp fallback. */
export async function pathWithoutCurl(dir: string): Promise<string> {
  const tools = ['sh', 'bash', 'dash', 'env', 'timeout', 'sleep', 'date', 'awk', 'mawk', 'cat', 'printf', 'kill', 'dirname'];
  await fs.mkdir(dir, { recursive: true });
  for (const t of tools) {
    for (const d of ['/usr/bin', '/bin']) {
      const src = path.join(d, t);
      const ok = await fs.access(src).then(() => true, () => false);
      if (ok) {
        await fs.symlink(src, path.join(dir, t)).catch(() => undefined);
        break;
      }
    }
  }
  return dir;
}

/**
 * Run `command` the way the platform's launcher runs any process of an instance or a task
 * (CONTRACT §2, src/platform/local/launcher.ts): `bash -c <launcher script> launcher <app> <command>`,
 * sourcing `<root>/profile.d/*`, where the droplet's hooks are copied first as a final buildpack
 * copies them (`<idx>_<file>`).
 */
export async function launchProcess(droplet: Droplet, command: string, env: Record<string, string | undefined>): Promise<Run> {
  const target = path.join(droplet.root, 'profile.d');
  await fs.mkdir(target, { recursive: true });
  for (const f of await fs.readdir(droplet.file('profile.d'))) await fs.copyFile(path.join(droplet.file('profile.d'), f), path.join(target, `0_${f}`));
  await fs.mkdir(path.join(droplet.root, 'tmp'), { recursive: true });
  return new Run(['/bin/bash', ...launcherArgs(path.join(droplet.root, 'app'), command)], droplet.env({ HOME: path.join(droplet.root, 'app'), TMPDIR: path.join(droplet.root, 'tmp'), ...env }));
}

/** True while a process with this pid runs (a zombie, dead but not yet reaped by its new parent, does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
