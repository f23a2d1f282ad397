// Linux containers for the local platform (CONTRACT §1–§2, DESIGN "The local platform"): made with
// util-linux `unshare` (mount, pid, uts, ipc and, for instances, net namespaces), entered with
// `nsenter`, users dropped with `setpriv`. This is the one place that builds their command lines.
// Every process is tied to the platform's life with PR_SET_PDEATHSIG (`setpriv --pdeathsig`), and
// the pid namespace makes killing the container's init kill everything it holds.

import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { BuildpackError } from '../../errors.js';
import type { LineWriter } from './log-book.js';
import type { ExitInfo, GroupProcess } from './process-group.js';
import { helperSpawner, type SpawnedProcess, type Spawner } from './spawner.js';

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

/** Who forks the container processes: this process's small helper (spawner.ts says why). */
export function spawnerFor(tools: ContainerTools): Spawner {
  return helperSpawner(process.execPath, tools.setpriv);
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
  base: { kind: 'stack'; stackBin: string; etcFiles: Record<string, string>; localeDir?: string };
  /**
   * An overlay at `dest`: `lower` read-only, writes to `upper` (a fresh dir per container).
   * `deferred`: mounted later by `mountOverlay()` (a container made before its droplet is
   * complete); until then its folders wait at DEFERRED, reachable by root only.
   */
  overlay?: { lower: string; upper: string; work: string; dest: string; deferred?: boolean };
  binds: Bind[];
  /**
   * The disk limit: the ext4 file system in `image` (its size the quota) is mounted over the host
   * folder `dir` in this container's mount namespace only, before anything else; `dirs` are made
   * in it then (the overlay's upper and work, the /tmp folder), `owned` given to vcap, `sticky`
   * made 1777. What the processes write, /tmp included, then fails with ENOSPC past the quota.
   */
  disk?: { image: string; dir: string; dirs: string[]; owned: string[]; sticky: string[]; reserveBytes?: number };
  /** A host folder bound at /tmp (staging: the builder's folders, on one file system; instances: a fresh folder on disk); default a tmpfs. */
  tmp?: string;
  /** Directories created inside the container after the mounts (e.g. /home/vcap for staging). */
  dirs?: string[];
  /** A private network namespace with its own `lo` and `eth0` holding `address` (CIDR). */
  network?: { address: string };
}

/** Where the folders of an overlay on paths overlayfs cannot take are bound while it is mounted (gone after). */
const OVERLAY_POINTS = '/.sbp-overlay';

/** Where a deferred overlay's folders wait inside the container (root only; gone once mounted). */
const DEFERRED = '/.sbp-deferred';

/** The script that mounts a deferred overlay at `dest` from inside the container, then drops its folders. */
export function deferredOverlayScript(layout: { upper: string; work: string }, dest: string, reserveBytes = 0): string {
  const d = DEFERRED;
  const upper = `${d}/rw/${path.basename(layout.upper)}`;
  const work = `${d}/rw/${path.basename(layout.work)}`;
  return [
    'set -eu',
    ...(reserveBytes > 0 ? [`fallocate -l ${Math.floor(reserveBytes)} ${d}/rw/${DROPLET_RESERVE}`] : []),
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
 * container's init (pid 1 reaps orphans; the container lives as long as it does), with the mount
 * tables it reads. Few processes: container start-up is on every push's and restart's path, so
 * the mounts go in two `mount --all` runs, not one process each.
 */
export function setupScript(layout: ContainerLayout): SetupPlan {
  return stackScript(layout, layout.base);
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

/**
 * A field of an fstab(5) line as libmount reads it back: space, tab, newline and backslash in
 * octal escapes, so any path is one field.
 */
export function fstabField(s: string): string {
  return s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** One step of building a container's root: a mount (batched with its neighbours) or a shell line. */
type Step = { mount: [source: string, target: string, type: string, options: string] } | { sh: string };

const mnt = (source: string, target: string, type: string, options: string): Step => ({ mount: [source, target, type, options] });

/**
 * The steps as script lines: each run of consecutive mounts is one `mount --all --fstab <file>`
 * (one process, in order; X-mount.mkdir makes the mount points), so a container's whole root is
 * a handful of processes, not forty. `tables` receives each file's path and text: the caller
 * writes them before the script runs.
 */
function stepLines(steps: Step[], tablePath: (n: number) => string, tables: Array<{ path: string; text: string }>): string[] {
  const lines: string[] = [];
  let batch: string[] = [];
  const flush = () => {
    if (!batch.length) return;
    const file = tablePath(tables.length + 1);
    tables.push({ path: file, text: `${batch.join('\n')}\n` });
    lines.push(`mount --all --fstab ${shq(file)}`);
    batch = [];
  };
  for (const step of steps) {
    if ('sh' in step) {
      flush();
      lines.push(step.sh);
    } else batch.push(`${step.mount.map(fstabField).join(' ')} 0 0`);
  }
  flush();
  return lines;
}

/** An overlay's options where no path holds what the options field cannot (`,` `:` quotes, white space, `\\`). */
const plainOverlayPath = (p: string) => /^[^,:"'\\\s]+$/.test(p);

/** What the container's first process runs, and the mount tables it reads (written by `create`). */
export interface SetupPlan {
  script: string;
  tables: Array<{ path: string; text: string }>;
}

let hostLocaleDir: boolean | undefined;
const hostHasLocales = (): boolean => (hostLocaleDir ??= existsSync('/usr/lib/locale'));

/** Whether the host has /etc/<name> (read once a name: the container's /etc is the host's, read-only). */
const hostEtc = new Map<string, boolean>();
const hostHasEtc = (name: string): boolean => {
  if (!hostEtc.has(name)) hostEtc.set(name, existsSync(`/etc/${name}`));
  return hostEtc.get(name) as boolean;
};

/** An instance: a constructed root — the host's /usr read-only with /usr/bin the stack's tools. */
function stackScript(layout: ContainerLayout, base: { stackBin: string; etcFiles: Record<string, string>; localeDir?: string }): SetupPlan {
  const r = layout.rootDir;
  const at = (dest: string) => path.posix.join(r, dest);
  const R = (dest: string) => `"$R"${shq(dest)}`;
  const top = hostTopLevel();
  const tables: SetupPlan['tables'] = [];
  const tablePath = (n: number) => path.join(path.dirname(r), `.${path.basename(r)}.mounts-${n}`);
  const mkdirAt = 'X-mount.mkdir';
  // 1. the root's file systems; their mount points are made as they are mounted
  const first: Step[] = [
    mnt('sbp-root', r, 'tmpfs', 'mode=0755'),
    mnt('/usr', at('/usr'), 'none', `rbind,ro,${mkdirAt}`),
    mnt(base.stackBin, at('/usr/bin'), 'none', 'bind,ro'),
    // no host tools in sbin or /usr/local
    mnt('sbp-sbin', at('/usr/sbin'), 'tmpfs', 'mode=0755,size=1m'),
    mnt('sbp-local', at('/usr/local'), 'tmpfs', 'mode=0755,size=1m'),
    // the stack's en_US.UTF-8 beside the host's locales (stack.ts): a read-only overlay of both
    ...(base.localeDir && plainOverlayPath(base.localeDir) && hostHasLocales() ? [mnt('sbp-locale', at('/usr/lib/locale'), 'overlay', `lowerdir=${base.localeDir}:/usr/lib/locale`)] : []),
    // not merged: bin and sbin are the stack's tools too, lib* the host's
    ...top.dirs.map((d) => mnt(d === 'bin' || d === 'sbin' ? at('/usr/bin') : `/${d}`, at(`/${d}`), 'none', `rbind,${mkdirAt}`)),
    mnt('/etc', at('/etc'), 'none', `rbind,ro,${mkdirAt}`),
    mnt('sbp-dev', at('/dev'), 'tmpfs', `mode=0755,size=1m,${mkdirAt}`),
    mnt('sbp-shm', at('/dev/shm'), 'tmpfs', `mode=1777,size=64m,${mkdirAt}`),
    mnt('proc', at('/proc'), 'proc', mkdirAt),
    // a bound /tmp (staging) holds the builder's folders: made in it once it is mounted
    ...(layout.tmp ? [mnt(layout.tmp, at('/tmp'), 'none', `bind,${mkdirAt}`)] : []),
  ];
  // 2. folders, links and the empty files that devices and files are bound onto
  const filePoints = layout.binds.filter((b) => b.file).map((b) => b.dest);
  const o = layout.overlay;
  const dirs = [
    ...(layout.tmp ? [] : ['/tmp']),
    '/home',
    '/usr/local/bin',
    '/.sbp-old-root',
    // a deferred droplet is mounted later, from inside: its mount point must be there
    ...(o ? [o.dest] : []),
    ...(layout.dirs ?? []),
    ...filePoints.map((f) => path.posix.dirname(f)),
  ];
  const between: Step[] = [
    { sh: `mkdir -p ${[...new Set(dirs)].map(R).join(' ')}` },
    ...(layout.tmp ? [] : [{ sh: 'chmod 1777 "$R/tmp"' }]),
    // merged /usr: bin, sbin, lib* are links into it, made by one `ln` where they are named as their targets
    ...top.links.map((sh) => ({ sh })),
    { sh: `touch ${[...DEVICES.map((d) => `/dev/${d}`), ...filePoints].map(R).join(' ')}` },
    { sh: top.devLinks },
    ...(o?.deferred ? [{ sh: `mkdir -m 0700 ${R(DEFERRED)}` }] : []),
  ];
  // 3. files over /etc, devices, the droplet and the layout's binds
  const second: Step[] = [
    ...Object.entries(base.etcFiles)
      .filter(([name]) => hostHasEtc(name))
      .map(([name, src]) => mnt(src, at(`/etc/${name}`), 'none', 'bind')),
    ...DEVICES.map((d) => mnt(`/dev/${d}`, at(`/dev/${d}`), 'none', 'bind')),
  ];
  if (o?.deferred) {
    // upper and work must be under one mount for overlayfs: their common folder is bound
    const rw = path.dirname(o.upper);
    if (path.dirname(o.work) !== rw) throw new BuildpackError('CONTAINER_FAILED', `a deferred overlay needs upper and work in one folder (${o.upper}, ${o.work})`);
    second.push(mnt(o.lower, at(`${DEFERRED}/lower`), 'none', `bind,ro,${mkdirAt}`), mnt(rw, at(`${DEFERRED}/rw`), 'none', `bind,${mkdirAt}`));
  } else if (o) {
    const options = `lowerdir=${o.lower},upperdir=${o.upper},workdir=${o.work}`;
    if ([o.lower, o.upper, o.work].every(plainOverlayPath)) second.push(mnt('sbp-droplet', at(o.dest), 'overlay', `${options},${mkdirAt}`));
    else {
      // overlayfs splits its options at `,` and `:`, and no quoting gets such a path through both
      // mount(8) and the kernel: the folders are bound to plain points in the new root and named
      // relative to them (upper and work by their common folder: they must be under one mount)
      const rw = path.dirname(o.upper);
      if (path.dirname(o.work) !== rw || ![o.upper, o.work].map((p) => path.basename(p)).every(plainOverlayPath)) {
        throw new BuildpackError('CONTAINER_FAILED', `an overlay on such paths needs upper and work with plain names in one folder (${o.upper}, ${o.work})`);
      }
      const x = OVERLAY_POINTS;
      const relative = `lowerdir=lower,upperdir=rw/${path.basename(o.upper)},workdir=rw/${path.basename(o.work)}`;
      second.push(
        mnt(o.lower, at(`${x}/lower`), 'none', `bind,ro,${mkdirAt}`),
        mnt(rw, at(`${x}/rw`), 'none', `bind,${mkdirAt}`),
        { sh: `(cd ${R(x)} && mount -t overlay sbp-droplet -o ${relative} ${R(o.dest)})` },
        { sh: `umount ${R(`${x}/lower`)} ${R(`${x}/rw`)} && rmdir ${R(`${x}/lower`)} ${R(`${x}/rw`)} ${R(x)}` },
      );
    }
  }
  for (const b of layout.binds) second.push(mnt(b.src, at(b.dest), 'none', `rbind${b.readOnly ? ',ro' : ''}${b.file ? '' : `,${mkdirAt}`}`));
  const lines = [
    'set -eu',
    `R=${shq(r)}`,
    ...diskLines(layout),
    ...stepLines([...first, ...between, ...second], tablePath, tables),
    ...networkLines(layout),
    `[ ! -x /usr/bin/hostname ] || hostname ${shq(layout.hostname)}`,
    'cd "$R"',
    'pivot_root . .sbp-old-root',
    'cd /',
    'PATH=/usr/bin:/bin',
    'umount -l /.sbp-old-root',
    'rmdir /.sbp-old-root',
    'echo ready',
    INIT,
  ];
  return { script: lines.join('\n'), tables };
}

/** The layout's disk image mounted over its folder, and the folders made in it (see ContainerLayout.disk). */
function diskLines(layout: ContainerLayout): string[] {
  const d = layout.disk;
  if (!d) return [];
  const q = (ps: string[]) => ps.map(shq).join(' ');
  return [
    `mount -o loop,nodev,nosuid ${shq(d.image)} ${shq(d.dir)}`,
    `mkdir -p ${q(d.dirs)}`,
    ...(d.owned.length ? [`chown ${VCAP_UID}:${VCAP_UID} ${q(d.owned)}`] : []),
    ...(d.sticky.length ? [`chmod 1777 ${q(d.sticky)}`] : []),
    ...(d.reserveBytes ? [`fallocate -l ${Math.floor(d.reserveBytes)} ${shq(path.join(d.dir, DROPLET_RESERVE))}`] : []),
  ];
}

/**
 * A file at the disk's root, outside every folder the container sees, as large as the droplet: a
 * cell unpacks the droplet into the container, so it counts against the disk quota there.
 */
const DROPLET_RESERVE = '.sbp-droplet';

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
    private readonly init: SpawnedProcess,
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
    const plan = setupScript(layout);
    await Promise.all(plan.tables.map((t) => writeFile(t.path, t.text, { mode: 0o600 })));
    const dropTables = () => void Promise.all(plan.tables.map((t) => rm(t.path, { force: true }))).catch(() => undefined);
    const init = spawnerFor(tools).spawn({ file: tools.setpriv, args: unshareArgs(tools, layout, plan.script), env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdout: 'pipe', stderr: 'pipe' });
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
      dropTables();
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
    const child = spawnerFor(this.tools).spawn({
      file: this.tools.setpriv,
      args: execArgs(this.tools, this.initPid, spec, this.withNet),
      env: spec.env,
      stdout: io.stdout ? 'pipe' : 'ignore',
      stderr: io.stderr ? 'pipe' : 'ignore',
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
  async mountOverlay(layout: { upper: string; work: string }, dest: string, reserveBytes = 0): Promise<void> {
    const userns = this.tools.rootless ? ['-U', '--preserve-credentials'] : [];
    const child = spawnerFor(this.tools).spawn({
      file: this.tools.setpriv,
      args: ['--pdeathsig', 'KILL', '--', this.tools.nsenter, '-t', String(this.initPid), ...userns, '-m', '--', '/bin/sh', '-c', deferredOverlayScript(layout, dest, reserveBytes)],
      env: { PATH: '/usr/bin:/bin' },
      stdout: 'ignore',
      stderr: 'pipe',
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
