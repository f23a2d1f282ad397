// Where one instance start runs: a fresh container (the droplet at /home/vcap over an overlay,
// the stack, a private network, cgroup limits), or — in process mode — the deploy dir on this
// machine. The runner drives both through the same small interface.

import { randomUUID } from 'node:crypto';
import { chmod, chown, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { BuildpackError } from '../../errors.js';
import { Cell, VCAP_UID, writeEtcFiles } from './cell.js';
import { ContainerCgroup } from './cgroups.js';
import { Container, spawnerFor, stopProcess, type ContainerLayout, type ContainerProcess, type ContainerTools } from './container.js';
import { launcherFile } from './launcher.js';
import type { LineWriter } from './log-book.js';
import { portAnswers } from './ports.js';
import { spawnGroup, stopGroup, type ExitInfo, type GroupProcess } from './process-group.js';
import { Forwarder, HostRoute } from './route.js';

/** One process to start: `launcher app <command> ''` with its env and memory. */
export interface SandboxProcess {
  /** Unique within the instance (`web` or the sidecar's name). */
  name: string;
  command: string;
  env: Record<string, string>;
  memoryMb: number;
  stdout: LineWriter;
  stderr: LineWriter;
}

/** One instance start's environment. */
export interface Sandbox {
  /** The address the health check dials and processes see as theirs. */
  readonly ip: string;
  /** The port the web process listens on (8080 in a container, the host port in process mode). */
  readonly port: number;
  /** The host port routed to `port` (CF_INSTANCE_PORT). */
  readonly hostPort: number;
  spawn(p: SandboxProcess): GroupProcess;
  /** The port health check (CONTRACT §2): a TCP connection to ip:port succeeds. */
  healthy(): Promise<boolean>;
  /** A TCP connection to ip:port as the cell's health check makes it (the http check runs over it). */
  connect(): Promise<net.Socket>;
  /** Stop one process: SIGTERM, `graceMs`, SIGKILL. */
  stop(p: GroupProcess, graceMs: number): Promise<ExitInfo>;
  /** True when the named process was killed for exceeding its memory. */
  outOfMemory(name: string): Promise<boolean>;
  /** Remove everything of this start (processes still alive are killed). */
  destroy(): Promise<void>;
}

export interface SandboxFactory {
  readonly isolation: 'container' | 'process';
  /**
   * The instance guid of start `n`: its container's handle, hence its hostname (Garden names a
   * container's host after its handle; the rep's handle of an LRP is the instance guid). A start
   * made ahead of time has one already. Process mode has no containers: none.
   */
  guidFor?(n: number): string;
  /** A fresh sandbox for the next start; `guid`: its handle (default guidFor(n)). */
  create(n: number, memoryMb: number, processes: Array<{ name: string; memoryMb: number }>, options?: { route?: boolean; guid?: string }): Promise<Sandbox>;
  /** Free what lives as long as the deployment (the host route). */
  close(): Promise<void>;
}

/** The lifecycle dir of a deployment: `launcher` (CONTRACT §2), as /tmp/lifecycle in containers. */
export async function writeLifecycle(dir: string, entrypointPrefix: string | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'launcher'), launcherFile(entrypointPrefix), { mode: 0o755 });
  await chmod(dir, 0o755);
}

/** Process mode: the deploy dir on this machine, process groups, the host port. */
export class ProcessSandboxes implements SandboxFactory {
  readonly isolation = 'process' as const;
  constructor(
    private readonly dropletDir: string,
    private readonly lifecycleDir: string,
    private readonly hostPort: number,
  ) {}

  async create(): Promise<Sandbox> {
    const { dropletDir, lifecycleDir, hostPort } = this;
    return {
      ip: '127.0.0.1',
      port: hostPort,
      hostPort,
      spawn: (p) => spawnGroup(path.join(lifecycleDir, 'launcher'), ['app', p.command, ''], { env: p.env, cwd: dropletDir, stdout: p.stdout, stderr: p.stderr }),
      healthy: () => portAnswers(hostPort, 500),
      connect: async () => net.connect(hostPort, '127.0.0.1'),
      stop: (p, graceMs) => stopGroup(p, graceMs),
      outOfMemory: async () => false,
      destroy: async () => undefined,
    };
  }

  async close(): Promise<void> {}
}

/** A socket that fails at once: a container without a route has nothing to dial. */
function unconnected(): net.Socket {
  const s = new net.Socket();
  process.nextTick(() => s.destroy(new Error('this container has no route')));
  return s;
}

/** The pids limit of an instance container. */
export const INSTANCE_PIDS = 1024;
/** `instance_file_descriptor_limit`. */
export const INSTANCE_NOFILE = 16384;
/** The port every web process listens on inside its container. */
export const CONTAINER_PORT = 8080;

/** A container made for one start: everything but the cgroups, the route and (deferred) the droplet. */
interface BaseContainer {
  n: number;
  name: string;
  ip: string;
  container: Container;
  forwarder: Promise<Forwarder | undefined>;
  /** The droplet is still to be mounted (a container made while staging ran). */
  deferred: boolean;
  overlay: { upper: string; work: string };
  destroy(): Promise<void>;
}

/** Container mode: a fresh container per start. */
export class ContainerSandboxes implements SandboxFactory {
  readonly isolation = 'container' as const;
  private readonly route = new HostRoute();
  private listening: Promise<void> | undefined;
  private warm: Promise<BaseContainer> | undefined;
  private closed = false;

  constructor(
    private readonly cell: Cell,
    /** `diskMb`: the disk quota of each container (CC's disk_quota, default 1024). */
    private readonly o: { dropletDir: string; lifecycleDir: string; instancesDir: string; hostPort: number; nodePath: string; diskMb: number },
  ) {}

  private readonly guids = new Map<number, string>();

  guidFor(n: number): string {
    const known = this.guids.get(n);
    if (known) return known;
    const guid = randomUUID();
    this.guids.set(n, guid);
    return guid;
  }

  private reserve: Promise<number> | undefined;

  /**
   * What of the disk quota the droplet takes, as on a cell, which unpacks it into the container:
   * its size on disk (each inode once), at most the quota less 16 MiB (a droplet larger than the
   * quota is not refused here, as the text a cell gives is not known).
   */
  private dropletReserve(): Promise<number> {
    this.reserve ??= diskBytes(this.o.dropletDir).then((bytes) => Math.max(0, Math.min(bytes, (this.o.diskMb - 16) * 1024 * 1024)));
    return this.reserve;
  }

  /** The host port routed to this instance (CF_INSTANCE_PORT). */
  get hostPort(): number {
    return this.o.hostPort;
  }

  /**
   * Make start `n`'s container now, before its droplet (the folder `droplet`, which becomes the
   * droplet dir by a rename) is complete: root, network and forwarder
   * are ready when `create(n)` takes it and mounts the droplet. It is as fresh as any (nothing
   * runs in it before); `close()` removes it when no start took it.
   */
  prewarm(n: number, droplet: string): void {
    if (this.warm || this.closed) return;
    this.warm = this.base(n, true, droplet);
    this.warm.catch(() => undefined);
  }

  /** The container of start `n`: root, network, forwarder (`routed`), the droplet now or deferred (from `deferredFrom`). */
  private async base(n: number, routed: boolean, deferredFrom?: string, guid = this.guidFor(n)): Promise<BaseContainer> {
    const deferred = deferredFrom !== undefined;
    const stackBin = await this.cell.prepare();
    const name = this.cell.nextName();
    const dir = path.join(this.o.instancesDir, String(n));
    await rm(dir, { recursive: true, force: true });
    // upper and work in one folder: a deferred overlay binds it whole (overlayfs wants them under one mount)
    const rw = path.join(dir, 'rw');
    const overlay = { upper: path.join(rw, 'upper'), work: path.join(rw, 'work') };
    // /tmp is on disk, as the container's own /tmp is on a cell (a tmpfs would charge what the
    // app writes there to its memory limit, and an app that fits on a foundation would be killed)
    const tmp = path.join(rw, 'tmp');
    await mkdir(path.join(dir, 'root'), { recursive: true });
    await mkdir(rw);
    let disk: ContainerLayout['disk'];
    if (this.cell.support.disk) {
      // the disk quota: the writable folders live in a file system of that size (made in the container)
      const image = path.join(dir, 'disk.img');
      await makeDiskImage(this.cell.support.tools, this.cell.support.disk.mkfs, image, this.o.diskMb);
      // a droplet being staged is counted once it is complete (mountOverlay)
      const reserveBytes = deferred ? 0 : await this.dropletReserve();
      disk = { image, dir: rw, dirs: [overlay.upper, overlay.work, tmp], owned: [overlay.upper], sticky: [tmp], reserveBytes };
    } else {
      for (const d of [overlay.upper, overlay.work, tmp]) await mkdir(d);
      await chmod(tmp, 0o1777);
      // rootless: this user's files are vcap's inside already
      if (!this.cell.support.tools.rootless) await chown(overlay.upper, VCAP_UID, VCAP_UID);
    }
    const { ip, address } = this.cell.address(n);
    const etcFiles = await writeEtcFiles(path.join(dir, 'etc'), guid, ip);
    let container: Container | undefined;
    let forwarder: Promise<Forwarder | undefined> = Promise.resolve(undefined);
    const destroy = async () => {
      const f = await forwarder.catch(() => undefined);
      await f?.stop();
      await container?.destroy();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      container = await Container.create(this.cell.support.tools, {
        rootDir: path.join(dir, 'root'),
        hostname: guid,
        base: { kind: 'stack', stackBin, etcFiles, localeDir: await this.cell.locale() },
        overlay: { lower: deferredFrom ?? this.o.dropletDir, ...overlay, dest: '/home/vcap', deferred },
        tmp,
        ...(disk ? { disk } : {}),
        binds: [{ src: this.o.lifecycleDir, dest: '/tmp/lifecycle', readOnly: true }],
        network: { address },
      });
    } catch (e) {
      await destroy();
      throw e;
    }
    if (routed) {
      // the forwarder starts beside the processes: only the health check and the route wait for it
      const sockets = { route: path.join(this.cell.socketDir, `${name}.r`), health: path.join(this.cell.socketDir, `${name}.h`) };
      forwarder = Forwarder.start(this.cell.support.tools, this.o.nodePath, container.initPid, sockets, ip, CONTAINER_PORT);
      forwarder.catch(() => undefined);
    }
    return { n, name, ip, container, forwarder, deferred, overlay, destroy };
  }

  /** `route: false` (tasks): no forwarder, and the app's route is left alone. */
  async create(n: number, memoryMb: number, processes: Array<{ name: string; memoryMb: number }>, options: { route?: boolean; guid?: string } = {}): Promise<Sandbox> {
    const routed = options.route ?? true;
    if (routed) {
      this.listening ??= this.route.listen(this.o.hostPort);
      await this.listening;
    }
    const b = (routed ? await this.takeWarm(n) : undefined) ?? (await this.base(n, routed, undefined, options.guid ?? this.guidFor(n)));
    // not root (a user namespace): no cgroups, so no memory or pids limits (the rootless notice says so)
    const roots = this.cell.support.cgroups;
    const cgroup = roots ? new ContainerCgroup(roots, b.name) : undefined;
    const groupOf = (p: string) => `p-${processes.findIndex((q) => q.name === p)}`;
    const destroy = async () => {
      if (routed) this.route.routeTo(undefined);
      await b.destroy();
      await cgroup?.remove();
    };
    try {
      if (b.deferred) await b.container.mountOverlay(b.overlay, '/home/vcap', this.cell.support.disk ? await this.dropletReserve() : 0);
      await cgroup?.create(memoryMb, INSTANCE_PIDS);
      // each process's own memory group, its limit as the platform computes it
      for (const p of processes) await cgroup?.createProcessGroup(groupOf(p.name), p.memoryMb);
    } catch (e) {
      await destroy();
      throw e;
    }
    if (routed) {
      void b.forwarder.then(
        (f) => f && this.route.routeTo(f.routeSocket),
        () => undefined,
      );
    }
    const c = b.container;
    const forwarder = b.forwarder;
    return {
      ip: b.ip,
      port: CONTAINER_PORT,
      hostPort: this.o.hostPort,
      spawn: (p) => {
        return c.exec(
          { argv: ['/tmp/lifecycle/launcher', 'app', p.command, ''], env: p.env, cwd: '/home/vcap', uid: VCAP_UID, procsFiles: cgroup?.procsFiles(groupOf(p.name)) ?? [], nofile: INSTANCE_NOFILE },
          { stdout: p.stdout, stderr: p.stderr },
        );
      },
      healthy: async () => {
        const f = await forwarder.catch(() => undefined);
        return f ? f.healthy() : false;
      },
      // the forwarder dials the container's address from inside its network namespace
      connect: async () => {
        const f = await forwarder.catch(() => undefined);
        return f ? net.connect(f.routeSocket) : unconnected();
      },
      stop: (p, graceMs) => stopProcess(p as ContainerProcess, graceMs),
      outOfMemory: async (p) => (cgroup ? cgroup.oomKilled(groupOf(p)) : false),
      destroy,
    };
  }

  /** The prewarmed container when it was made for start `n` and is alive; else none (and it goes). */
  private async takeWarm(n: number): Promise<BaseContainer | undefined> {
    const warm = this.warm;
    this.warm = undefined;
    const b = await warm?.catch(() => undefined);
    if (!b) return undefined;
    if (b.n === n && b.container.alive()) return b;
    await b.destroy();
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.takeWarm(-1);
    if (this.listening) await this.route.close();
  }
}

/**
 * A sparse file holding an empty ext4 file system with about `quotaMb` MB free (the metadata of
 * `-i 16384` without journal or reserved blocks is 3 % of it: the image is that much larger).
 */
export async function makeDiskImage(tools: ContainerTools, mkfs: string, image: string, quotaMb: number): Promise<void> {
  const bytes = (Math.ceil(quotaMb * 1.035) + 1) * 1024 * 1024;
  const fh = await open(image, 'wx', 0o600);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
  const p = spawnerFor(tools).spawn({ file: mkfs, args: ['-q', '-F', '-m', '0', '-O', '^has_journal,^resize_inode', '-i', '16384', image], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdout: 'ignore', stderr: 'pipe' });
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => {
    p.once('error', () => resolve(127));
    p.once('close', (c: number | null) => resolve(c));
  });
  if (code !== 0) throw new BuildpackError('CONTAINER_FAILED', `cannot make the instance's disk (${mkfs} exit status ${code}): ${err.trim() || 'no message'}`);
}

/** Bytes `dir` takes on disk: allocated blocks of every file, folder and link, each inode once. */
export async function diskBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    total += st.blocks * 512;
    if (st.isDirectory()) await Promise.all((await readdir(p).catch(() => [] as string[])).map((e) => walk(path.join(p, e))));
  };
  await walk(dir);
  return total;
}
