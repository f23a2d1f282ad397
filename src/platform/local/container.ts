// Linux containers for the local platform (CONTRACT §1–§2, DESIGN "The local platform"): made with
// util-linux `unshare` (mount, pid, uts, ipc and, for instances, net namespaces), entered with
// `nsenter`, users dropped with `setpriv`. This is the one place that builds their command lines.
// Every process is tied to the platform's life with PR_SET_PDEATHSIG (`setpriv --pdeathsig`), and
// the pid namespace makes killing the container's init kill everything it holds.

import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { BuildpackError } from '../../errors.js';
import type { LineWriter } from './log-book.js';
import type { ExitInfo, GroupProcess } from './process-group.js';

/** Host tools the container mode runs (absolute paths). */
export interface ContainerTools {
  sh: string;
  unshare: string;
  nsenter: string;
  setpriv: string;
  ip: string;
  /**
   * Not root: every container is in a user namespace of its own, where this user is vcap (uid
   * 2000) holding the capabilities the set-up needs (`unshare --map-user --keep-caps`).
   */
  rootless?: boolean;
}

/** `unshare` flags of the user namespace (rootless), else none. */
export function userNamespaceArgs(tools: ContainerTools): string[] {
  return tools.rootless ? ['--user', `--map-user=${VCAP_UID}`, `--map-group=${VCAP_UID}`, '--keep-caps'] : [];
}

/** The user processes run as inside containers (`vcap` on the platform): uid and gid. */
export const VCAP_UID = 2000;

/** A host path mounted into the container. */
export interface Bind {
  src: string;
  dest: string;
  readOnly?: boolean;
  /** `src` is a file: its mount point is an empty file (and its folders), not a directory. */
  file?: boolean;
}

/** What the container's file system looks like (all `dest` paths are inside the container). */
export interface ContainerLayout {
  /** An empty host directory: the new root's mount point (inside the container's mount namespace only). */
  rootDir: string;
  hostname: string;
  /**
   * A constructed root — /usr/lib, /usr/share, ... of the host read-only, /usr/bin = `stackBin`
   * (the stack's tools only), /etc read-only with `etcFiles` over it (instances and stagings).
   */
  base: { kind: 'stack'; stackBin: string; etcFiles: Record<string, string> };
  /**
   * An overlay at `dest`: `lower` read-only, writes to `upper` (a fresh dir per container).
   * `deferred`: mounted later by `mountOverlay()` (a container made before its droplet is
   * complete); until then its folders wait at DEFERRED, reachable by root only.
   */
  overlay?: { lower: string; upper: string; work: string; dest: string; deferred?: boolean };
  binds: Bind[];
  /** A host folder bound at /tmp (staging: the builder's folders, on one file system); default a tmpfs. */
  tmp?: string;
  /** Directories created inside the container after the mounts (e.g. /home/vcap for staging). */
  dirs?: string[];
  /** A private network namespace with its own `lo` and `eth0` holding `address` (CIDR). */
  network?: { address: string };
}

/** Where a deferred overlay's folders wait inside the container (root only; gone once mounted). */
const DEFERRED = '/.sbp-deferred';

/** The script that mounts a deferred overlay at `dest` from inside the container, then drops its folders. */
export function deferredOverlayScript(layout: { upper: string; work: string }, dest: string): string {
  const d = DEFERRED;
  const upper = `${d}/rw/${path.basename(layout.upper)}`;
  const work = `${d}/rw/${path.basename(layout.work)}`;
  return [
    'set -eu',
    `mount -t overlay sbp-droplet -o ${shq(`lowerdir=${d}/lower,upperdir=${upper},workdir=${work}`)} ${shq(dest)}`,
    `umount ${d}/lower ${d}/rw`,
    `rmdir ${d}/lower ${d}/rw ${d}`,
  ].join('\n');
}

/** Shell single-quoting. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * The script the container's first process runs (as root, in the new namespaces, host tools on
 * PATH): build the file system, bring up the network, print `ready`, then stay as the
 * container's init (pid 1 reaps orphans; the container lives as long as it does). Few commands:
 * each mount is a process, and container start-up is on every push's and restart's path.
 */
export function setupScript(layout: ContainerLayout): string {
  return stackScript(layout, layout.base);
}

/** Mounts shared by both kinds, under `$T` (the new /tmp) and `$R` (the new root). */
function bindLines(layout: ContainerLayout, at: (dest: string) => string): string[] {
  const lines: string[] = [];
  if (layout.overlay?.deferred) {
    const o = layout.overlay;
    // upper and work must be under one mount for overlayfs: their common folder is bound
    const rw = path.dirname(o.upper);
    if (path.dirname(o.work) !== rw) throw new BuildpackError('CONTAINER_FAILED', `a deferred overlay needs upper and work in one folder (${o.upper}, ${o.work})`);
    lines.push(`mkdir -m 0700 ${at(DEFERRED)}`, `mkdir ${at(`${DEFERRED}/lower`)} ${at(`${DEFERRED}/rw`)}`);
    lines.push(`mount --bind -o ro ${shq(o.lower)} ${at(`${DEFERRED}/lower`)}`, `mount --bind ${shq(rw)} ${at(`${DEFERRED}/rw`)}`);
  } else if (layout.overlay) {
    const o = layout.overlay;
    lines.push(`mount -t overlay sbp-droplet -o ${shq(`lowerdir=${o.lower},upperdir=${o.upper},workdir=${o.work}`)} ${at(o.dest)}`);
  }
  // `-o ro` with a bind: mount(8) remounts it read-only itself (one process, not two)
  for (const b of layout.binds) lines.push(`mount --rbind${b.readOnly ? ' -o ro' : ''} ${shq(b.src)} ${at(b.dest)}`);
  return lines;
}

function networkLines(layout: ContainerLayout): string[] {
  if (!layout.network) return [];
  // both ends of the veth stay in this namespace: the address exists nowhere else
  const batch = ['link set lo up', 'link add eth0 type veth peer name eth0-peer', `addr add ${layout.network.address} dev eth0`, 'link set eth0-peer up', 'link set eth0 up'];
  return [`printf '%s\\n' ${batch.map(shq).join(' ')} | ip -batch -`];
}

const INIT = `exec /bin/sh -c 'exec >/dev/null 2>&1 </dev/null; while :; do sleep 3600 & wait $!; done'`;

const DEV_LINKS: Record<string, string> = { fd: '/proc/self/fd', stdin: '/proc/self/fd/0', stdout: '/proc/self/fd/1', stderr: '/proc/self/fd/2' };

let topLevel: { dirs: string[]; links: string[]; devLinks: string } | undefined;

/**
 * The host's top-level layout as script lines, read once: `bin`, `sbin`, `lib*` as links (merged
 * /usr; one `ln` for those named as their targets) or folders, and /dev's fd links (one `cp -P`
 * when the host's are the usual ones). Each command is a process on every container's start.
 */
function hostTopLevel(): { dirs: string[]; links: string[]; devLinks: string } {
  if (topLevel) return topLevel;
  const dirs: string[] = [];
  const sameName: string[] = [];
  const links: string[] = [];
  for (const d of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    let target: string | undefined;
    try {
      target = lstatSync(`/${d}`).isSymbolicLink() ? readlinkSync(`/${d}`) : undefined;
      if (!target && !lstatSync(`/${d}`).isDirectory()) continue;
    } catch {
      continue;
    }
    if (target === undefined) dirs.push(d);
    else if (path.posix.basename(target) === d) sameName.push(target);
    else links.push(`ln -s ${shq(target)} "$R/${d}"`);
  }
  if (sameName.length) links.unshift(`ln -s ${sameName.map(shq).join(' ')} "$R/"`);
  const usual = Object.entries(DEV_LINKS).every(([name, target]) => {
    try {
      return readlinkSync(`/dev/${name}`) === target;
    } catch {
      return false;
    }
  });
  const devLinks = usual
    ? `cp -P ${Object.keys(DEV_LINKS).map((n) => `/dev/${n}`).join(' ')} "$R/dev/"`
    : Object.entries(DEV_LINKS).map(([name, target]) => `ln -s ${target} "$R/dev/${name}"`).join(' && ');
  topLevel = { dirs, links, devLinks };
  return topLevel;
}

/** An instance: a constructed root — the host's /usr read-only with /usr/bin the stack's tools. */
function stackScript(layout: ContainerLayout, base: { stackBin: string; etcFiles: Record<string, string> }): string {
  const R = (dest: string) => `"$R"${shq(dest)}`;
  const dirs = ['/usr', '/etc', '/proc', '/dev', '/tmp', '/home', ...(layout.overlay ? [layout.overlay.dest] : []), ...layout.binds.filter((b) => !b.file).map((b) => b.dest), ...(layout.dirs ?? [])];
  // a file's mount point: an empty file, in folders made for it (after /tmp and /home exist)
  const filePoints = layout.binds.filter((b) => b.file).map((b) => `mkdir -p ${R(path.posix.dirname(b.dest))} && : > ${R(b.dest)}`);
  const top = hostTopLevel();
  // a bound /tmp (staging) holds folders made once it is mounted; else /tmp is a folder of the root
  const later = (d: string) => Boolean(layout.tmp) && d.startsWith('/tmp/');
  const lines = [
    'set -eu',
    `R=${shq(layout.rootDir)}`,
    'mount -t tmpfs -o mode=0755 sbp-root "$R"',
    `mkdir -p ${[...dirs.filter((d) => !later(d)), ...top.dirs.map((d) => `/${d}`)].map(R).join(' ')}`,
    ...(layout.tmp ? [] : ['chmod 1777 "$R/tmp"']),
    // merged /usr: bin, sbin, lib* are links into it, made by one `ln` where they are named as their targets
    ...top.links,
    'mount --rbind -o ro /usr "$R/usr"',
    `mount --bind -o ro ${shq(base.stackBin)} "$R/usr/bin"`,
    // no host tools in sbin or /usr/local
    'mount -t tmpfs -o mode=0755,size=1m sbp-sbin "$R/usr/sbin"',
    'mount -t tmpfs -o mode=0755,size=1m sbp-local "$R/usr/local"',
    'mkdir "$R/usr/local/bin"',
    // not merged: bin and sbin are the stack's tools too, lib* the host's
    ...top.dirs.map((d) => `mount --rbind ${d === 'bin' || d === 'sbin' ? '"$R/usr/bin"' : shq(`/${d}`)} "$R/${d}"`),
    'mount --rbind -o ro /etc "$R/etc"',
    ...Object.entries(base.etcFiles).map(([name, src]) => `[ ! -e "$R/etc/${name}" ] || mount --bind ${shq(src)} "$R/etc/${name}"`),
    'mount -t tmpfs -o mode=0755,size=1m sbp-dev "$R/dev"',
    `mkdir "$R/dev/shm" && touch ${DEVICES.map((d) => `"$R/dev/${d}"`).join(' ')}`,
    ...DEVICES.map((d) => `mount --bind /dev/${d} "$R/dev/${d}"`),
    top.devLinks,
    'mount -t tmpfs -o mode=1777,size=64m sbp-shm "$R/dev/shm"',
    'mount -t proc proc "$R/proc"',
    ...(layout.tmp ? [`mount --bind ${shq(layout.tmp)} "$R/tmp"`, `mkdir -p ${dirs.filter(later).map(R).join(' ') || '"$R/tmp"'}`] : []),
    ...filePoints,
    ...bindLines(layout, R),
    ...networkLines(layout),
    `[ ! -x /usr/bin/hostname ] || hostname ${shq(layout.hostname)}`,
    'cd "$R"',
    'mkdir .sbp-old-root',
    'pivot_root . .sbp-old-root',
    'cd /',
    'PATH=/usr/bin:/bin',
    'umount -l /.sbp-old-root',
    'rmdir /.sbp-old-root',
    'echo ready',
    INIT,
  ];
  return lines.join('\n');
}

/** `unshare` flags: a net namespace only when the layout has a network. */
export function unshareArgs(tools: ContainerTools, layout: ContainerLayout, script: string): string[] {
  const ns = [...userNamespaceArgs(tools), '--mount', '--uts', '--ipc', '--pid', ...(layout.network ? ['--net'] : [])];
  return ['--pdeathsig', 'KILL', '--', tools.unshare, ...ns, '--fork', '--kill-child', '--propagation', 'private', '--', tools.sh, '-c', script, 'sbp-container-init'];
}

/** The host-side prefix that puts a process into cgroups and limits before it execs `argv`. */
export function joinArgs(tools: ContainerTools, procsFiles: string[], nofile: number | undefined, argv: string[]): string[] {
  const script = `while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; ${nofile ? `ulimit -n ${nofile}; ` : ''}exec "$@"`;
  return ['--pdeathsig', 'KILL', '--', tools.sh, '-c', script, 'sbp-join', ...procsFiles, '--', ...argv];
}

/** How a process is started inside a container. */
export interface ExecSpec {
  argv: string[];
  env: Record<string, string>;
  /** Working directory inside the container. */
  cwd: string;
  /** Run as this user (uid = gid); root when absent. */
  uid?: number;
  /** cgroup.procs files to join before entering. */
  procsFiles?: string[];
  /** `ulimit -n`. */
  nofile?: number;
}

/** `setpriv ... nsenter ... [setpriv --reuid ...] argv`: a process inside container `initPid`. */
export function execArgs(tools: ContainerTools, initPid: number, spec: ExecSpec, withNet: boolean): string[] {
  // nsenter's --wd names a host path: the directory is changed inside, by the container's sh
  // rootless: into the user namespace first, keeping this user's ids (vcap there)
  const userns = tools.rootless ? ['-U', '--preserve-credentials'] : [];
  const enter = [tools.nsenter, '-t', String(initPid), ...userns, '-m', '-u', '-i', '-p', ...(withNet ? ['-n'] : []), '-r', '-w', '--', '/bin/sh', '-c', 'cd "$1" && shift && exec "$@"', 'sbp-cd', spec.cwd];
  // rootless processes are vcap already, without capabilities once they exec
  const user =
    spec.uid === undefined || tools.rootless ? [] : ['/usr/bin/setpriv', `--reuid=${spec.uid}`, `--regid=${spec.uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];
  return joinArgs(tools, spec.procsFiles ?? [], spec.nofile, [...enter, ...user, ...spec.argv]);
}

/** Pids of `pid`'s children (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process inside a container. `pid` is the process itself (nsenter's child), not nsenter. */
export interface ContainerProcess extends GroupProcess {
  /** The process's own pid as the host sees it, once known. */
  innerPid(): Promise<number | undefined>;
  /** Resolves once its stdout and stderr are closed (after `exited`). */
  readonly closed: Promise<void>;
}

export interface ExecIo {
  stdout?: LineWriter;
  stderr?: LineWriter;
}

function exitInfo(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  return { status: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0), signal };
}

/** A running container: its init's host pid, and processes started in it. */
export class Container {
  private destroyed: Promise<void> | undefined;
  private readonly initExit: Promise<void>;

  private constructor(
    private readonly tools: ContainerTools,
    private readonly init: ChildProcess,
    readonly initPid: number,
    private readonly withNet: boolean,
  ) {
    this.initExit = new Promise((resolve) => {
      if (init.exitCode !== null || init.signalCode !== null) resolve();
      else init.once('exit', () => resolve());
    });
  }

  /** Create the container; resolves once its root and network are up. */
  static async create(tools: ContainerTools, layout: ContainerLayout, signal?: AbortSignal): Promise<Container> {
    const init = spawn(tools.setpriv, unshareArgs(tools, layout, setupScript(layout)), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stderr = '';
    init.stderr?.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString();
    });
    const abort = () => init.kill('SIGKILL');
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (c: Buffer) => {
          out += c.toString();
          if (out.includes('ready\n')) {
            init.stdout?.off('data', onData);
            init.stdout?.resume();
            resolve();
          }
        };
        init.stdout?.on('data', onData);
        init.once('error', (e) => reject(new BuildpackError('CONTAINER_FAILED', `cannot start ${tools.unshare}: ${e.message}`, { cause: e })));
        init.once('exit', (code, sig) =>
          reject(new BuildpackError('CONTAINER_FAILED', `the container could not be created (${sig ? `signal ${sig}` : `exit status ${code}`}): ${stderr.trim() || 'no message'}`)),
        );
      });
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    // setpriv exec'd unshare (same pid); unshare's only child is the container's init
    let initPid: number | undefined;
    for (let i = 0; i < 100 && initPid === undefined; i++) {
      initPid = childPids(init.pid ?? -1)[0];
      if (initPid === undefined) await sleep(5);
    }
    if (initPid === undefined) {
      init.kill('SIGKILL');
      throw new BuildpackError('CONTAINER_FAILED', 'the container started but its init process could not be found');
    }
    return new Container(tools, init, initPid, Boolean(layout.network));
  }

  /** Start `spec.argv` inside the container. */
  exec(spec: ExecSpec, io: ExecIo = {}): ContainerProcess {
    const child = spawn(this.tools.setpriv, execArgs(this.tools, this.initPid, spec, this.withNet), {
      env: spec.env,
      stdio: ['ignore', io.stdout ? 'pipe' : 'ignore', io.stderr ? 'pipe' : 'ignore'],
    });
    let alive = true;
    let inner: number | undefined;
    child.stdout?.on('data', (c: Buffer) => io.stdout?.write(c));
    child.stderr?.on('data', (c: Buffer) => io.stderr?.write(c));
    // exited: the process itself ended (a child it left behind may still hold its stdout);
    // closed: its output is complete too
    const closed = new Promise<void>((resolve) => {
      child.on('close', () => {
        io.stdout?.end();
        io.stderr?.end();
        resolve();
      });
      child.on('error', () => resolve());
    });
    const exited = new Promise<ExitInfo>((resolve) => {
      child.on('error', () => {
        alive = false;
        resolve({ status: 127, signal: null });
      });
      child.on('exit', (code, sig) => {
        alive = false;
        // what it wrote before exiting is still in the pipe: let it be read (the output closes
        // then, unless a child it left behind holds it open)
        const info = exitInfo(code, sig);
        const timer = setTimeout(() => resolve(info), 100);
        void closed.then(() => {
          clearTimeout(timer);
          resolve(info);
        });
      });
    });
    // nsenter forks the process into the pid namespace: that child is "the process"
    const innerPid = async (): Promise<number | undefined> => {
      for (let i = 0; inner === undefined && alive && i < 200; i++) {
        inner = childPids(child.pid ?? -1)[0];
        if (inner === undefined) await sleep(5);
      }
      return inner;
    };
    void innerPid();
    return {
      get pid() {
        return inner ?? child.pid ?? -1;
      },
      exited,
      closed,
      running: () => alive,
      innerPid,
      signal: (sig) => {
        void innerPid().then((p) => {
          if (p === undefined || !alive) return;
          try {
            process.kill(p, sig);
          } catch {
            // already gone
          }
        });
      },
    };
  }

  /**
   * Mount the layout's deferred overlay (CONTRACT §2: the droplet at /home/vcap): runs as root in
   * the container's mount namespace, before any process of the app is started.
   */
  async mountOverlay(layout: { upper: string; work: string }, dest: string): Promise<void> {
    const userns = this.tools.rootless ? ['-U', '--preserve-credentials'] : [];
    const child = spawn(this.tools.setpriv, ['--pdeathsig', 'KILL', '--', this.tools.nsenter, '-t', String(this.initPid), ...userns, '-m', '--', '/bin/sh', '-c', deferredOverlayScript(layout, dest)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new BuildpackError('CONTAINER_FAILED', `the droplet could not be mounted at ${dest} (exit status ${code}): ${err.trim() || 'no message'}`);
  }

  /** True while the container's init lives. */
  alive(): boolean {
    return this.init.exitCode === null && this.init.signalCode === null;
  }

  /** Destroy the container: SIGKILL its init, so the kernel kills every process in it. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      try {
        process.kill(this.initPid, 'SIGKILL');
      } catch {
        // already gone
      }
      this.init.kill('SIGKILL');
      await this.initExit;
    })();
    return this.destroyed;
  }
}

/** SIGTERM the process's own pid, wait up to `graceMs`, then SIGKILL it (CONTRACT §2 "Stopping"). */
export async function stopProcess(p: ContainerProcess, graceMs: number): Promise<ExitInfo> {
  if (!p.running()) return p.exited;
  p.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((r) => (timer = setTimeout(() => r('grace'), graceMs)));
  const first = await Promise.race([p.exited, grace]);
  clearTimeout(timer);
  if (first === 'grace') p.signal('SIGKILL');
  return p.exited;
}
