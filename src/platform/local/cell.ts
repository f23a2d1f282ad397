// The local "cell": decides whether this machine can run containers (else process mode, with one
// notice listing what that mode cannot reproduce), and owns what outlives a single container —
// the stack's tool dir, the cgroup roots, and the janitor that removes a deploy's files and
// groups when the platform process dies without deleting (SIGKILL).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findCgroupRoots, sweepStaleGroups, type CgroupRoots } from './cgroups.js';
import { userNamespaceArgs, VCAP_UID, type ContainerTools } from './container.js';
import { ensureStackBin, ensureStackLocale } from './stack.js';

/** How instances and stagings run. */
export type Isolation = 'container' | 'process';

/** `auto`: containers where possible, else process mode with a notice. */
export type IsolationRequest = 'auto' | Isolation;

export { VCAP_UID };

/** What process mode cannot reproduce (the fallback notice lists it). */
export const PROCESS_MODE_GAPS = [
  'the droplet at /home/vcap (processes run from the deploy dir on this machine)',
  'the stack (host tools and runtimes such as node and python3 are on PATH)',
  'a private network per instance (apps share the host network: ports can collide, 127.0.0.1-only apps pass the health check)',
  'memory, pid, open-file and disk limits (no out-of-memory kills, no full disk)',
  'stopping by pid (process groups are signalled) and destroying the container (daemons can survive)',
  'a fresh container per restart (files of the previous instance survive)',
];

const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

function findTool(name: string): string | undefined {
  for (const dir of TOOL_DIRS) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** What the container mode needs, found on this machine. */
export interface CellSupport {
  tools: ContainerTools;
  /** Absent when not root: a user namespace's containers get no cgroups here. */
  cgroups?: CgroupRoots;
  /**
   * Disk limits: each instance writes into an ext4 image of its disk quota, loop-mounted in its
   * own mount namespace (`mkfs.ext4`, and loop devices; root only). Absent: no disk limit.
   */
  disk?: { mkfs: string };
}

/** What containers in a user namespace (not root) cannot reproduce (their notice lists it). */
export const ROOTLESS_GAPS = ['memory and pid limits (cgroups need root here: no out-of-memory kills)', 'disk limits (loop devices need root)'];

/** The one notice of containers in a user namespace. */
export function rootlessNotice(): string {
  return `local platform: not root, so containers run in a user namespace (this user is vcap inside); they cannot reproduce: ${ROOTLESS_GAPS.join('; ')}`;
}

let probed: CellSupport | string | undefined;

/** Probe once per process: tools, root, cgroups, and a real namespace round trip. */
export function probeContainers(): CellSupport | string {
  if (probed !== undefined) return probed;
  probed = probe();
  return probed;
}

function probe(): CellSupport | string {
  if (process.platform !== 'linux') return `containers need Linux namespaces (this is ${process.platform})`;
  const names = { sh: 'sh', unshare: 'unshare', nsenter: 'nsenter', setpriv: 'setpriv', ip: 'ip', pivot_root: 'pivot_root' } as const;
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(names)) {
    const file = findTool(name);
    if (file) found[key] = file;
    else missing.push(name);
  }
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (util-linux, iproute2)`;
  const rootless = typeof process.getuid === 'function' && process.getuid() !== 0;
  const cgroups = rootless ? undefined : findCgroupRoots();
  if (typeof cgroups === 'string') return cgroups;
  const tools: ContainerTools = { sh: found.sh, unshare: found.unshare, nsenter: found.nsenter, setpriv: found.setpriv, ip: found.ip, rootless };
  const r = spawnSync(found.unshare, [...userNamespaceArgs(tools), '--mount', '--uts', '--ipc', '--pid', '--net', '--fork', '--propagation', 'private', '--', found.sh, '-c', 'mount -t tmpfs probe /mnt && ip link add eth0 type veth peer name eth1'], {
    encoding: 'utf8',
    timeout: 10000,
  });
  if (r.status !== 0) return `namespaces cannot be made here${rootless ? ' (not root: in a user namespace)' : ''}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
  const disk = rootless ? undefined : probeDisk(found.unshare, found.sh);
  return { tools, ...(cgroups ? { cgroups } : {}), ...(disk ? { disk } : {}) };
}

/** mkfs.ext4 and a loop mount of a small image, in a mount namespace of its own (gone with it). */
function probeDisk(unshare: string, sh: string): CellSupport['disk'] {
  const mkfs = findTool('mkfs.ext4');
  if (!mkfs) return undefined;
  const script = `set -e; d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; truncate -s 4M "$d/img"; "$1" -q -F "$d/img"; mkdir "$d/m"; mount -o loop,nodev,nosuid "$d/img" "$d/m"; umount "$d/m"`;
  const r = spawnSync(unshare, ['--mount', '--propagation', 'private', '--', sh, '-c', script, 'sbp-disk-probe', mkfs], { encoding: 'utf8', timeout: 10000 });
  return r.status === 0 ? { mkfs } : undefined;
}

/** The decision for one platform: the mode, and why not containers when not. */
export type CellChoice = { isolation: 'container'; support: CellSupport } | { isolation: 'process'; reason: string; requested: boolean };

/** Decide the isolation for `request`; throws when containers are required but impossible. */
export function chooseIsolation(request: IsolationRequest): CellChoice {
  if (request === 'process') return { isolation: 'process', reason: 'process mode was requested', requested: true };
  const support = probeContainers();
  if (typeof support !== 'string') return { isolation: 'container', support };
  if (request === 'container') throw new Error(`container mode was requested but ${support}`);
  return { isolation: 'process', reason: support, requested: false };
}

/** The one notice process mode prints. */
export function processModeNotice(reason: string): string {
  return `local platform: running in process mode (${reason}); it cannot reproduce: ${PROCESS_MODE_GAPS.join('; ')}`;
}

/** Files every instance container gets: /etc/passwd and /etc/group with vcap, /etc/hosts. */
export async function writeEtcFiles(dir: string, hostname: string, address: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    passwd: `root:x:0:0:root:/root:/bin/bash\nvcap:x:${VCAP_UID}:${VCAP_UID}::/home/vcap:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    group: `root:x:0:\nvcap:x:${VCAP_UID}:\nnogroup:x:65534:\n`,
    hosts: `127.0.0.1 localhost\n${address} ${hostname}\n`,
    hostname: `${hostname}\n`,
  };
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = path.join(dir, name);
    await writeFile(out[name], text);
  }
  return out;
}

/**
 * The janitor: one detached shell per platform process, reading a pipe from it. Each line is a
 * path to remove; when the pipe closes (this process exited, however it died) it removes them
 * and the cgroups named `<pid>-*`, then exits.
 */
export class Janitor {
  private child: ChildProcess | undefined;

  constructor(private readonly cgroups: CgroupRoots | undefined) {}

  /** Remove `dir` when this process is gone (a no-op if it was removed before). */
  register(dir: string): void {
    if (!this.child) this.start();
    this.child?.stdin?.write(`${dir}\n`);
  }

  private start(): void {
    const pid = String(process.pid);
    const script = [
      'set --',
      'while IFS= read -r d; do set -- "$@" "$d"; done',
      'for d in "$@"; do rm -rf -- "$d"; done',
      'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do',
      '  left=0',
      '  for root in "$SBP_CG1" "$SBP_CG2"; do [ -n "$root" ] || continue; for g in "$root"/"$SBP_PID"-*; do [ -d "$g" ] || continue; for c in "$g"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done; rmdir "$g" 2>/dev/null || left=1; done; done',
      '  [ $left = 0 ] && break; sleep 0.2',
      'done',
    ].join('\n');
    this.child = spawn('/bin/sh', ['-c', script, 'sbp-janitor'], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin', SBP_PID: pid, SBP_CG1: this.cgroups?.memory ?? '', SBP_CG2: this.cgroups?.pids ?? '' },
    });
    this.child.on('error', () => undefined);
    this.child.stdin?.on('error', () => undefined);
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

let janitor: Janitor | undefined;

/** This process's janitor (one, whatever the number of platforms). */
export function processJanitor(cgroups: CgroupRoots | undefined): Janitor {
  janitor ??= new Janitor(cgroups);
  return janitor;
}

/**
 * Containers made by this process so far: their names (cgroups, sockets) are `<pid>-<count>`.
 * One count for the process, not per Cell: two platforms in one process must not share a name
 * (the second would write its limits into the first's live cgroup).
 */
let containerCount = 0;

/** Per platform process: the stack dir, cgroup sweep, socket dir, janitor. */
export class Cell {
  private stackBin: Promise<string> | undefined;
  private stackLocale: Promise<string | undefined> | undefined;
  readonly socketDir: string;

  constructor(
    readonly support: CellSupport,
    private readonly workRoot: string,
    private readonly tmpRoot: string,
  ) {
    // unix socket paths must stay short (108 bytes), so they live under the temp dir
    this.socketDir = path.join(tmpRoot, `sbp-${process.pid}`);
  }

  /** Remove `dir` (a deploy dir) if this process dies before it does. */
  removeOnExit(dir: string): void {
    processJanitor(this.support.cgroups).register(dir);
  }

  /** Everything a container needs once per platform: stack bin, janitor, socket dir. */
  async prepare(): Promise<string> {
    void this.locale();
    this.stackBin ??= (async () => {
      if (this.support.cgroups) await sweepStaleGroups(this.support.cgroups);
      await mkdir(this.socketDir, { recursive: true });
      this.removeOnExit(this.socketDir);
      return ensureStackBin(this.workRoot);
    })();
    return this.stackBin;
  }

  /** The stack's en_US.UTF-8 locale folder, when the host lacks it (stack.ts); made once per machine. */
  locale(): Promise<string | undefined> {
    this.stackLocale ??= ensureStackLocale(this.tmpRoot);
    return this.stackLocale;
  }

  /** A name unique among this process's containers: `<pid>-<n>` (the janitor's pattern). */
  nextName(): string {
    return `${process.pid}-${++containerCount}`;
  }

  /** A distinct /30 for the nth container (each in its own namespace; distinct only for clarity). */
  address(n: number): { address: string; ip: string } {
    const block = (n % 16383) * 4;
    const ip = `10.255.${Math.floor(block / 256)}.${(block % 256) + 2}`;
    return { ip, address: `${ip}/30` };
  }
}
