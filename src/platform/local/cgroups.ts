// Memory and pids limits for containers (CONTRACT §2: the cell enforces memory and pid limits and
// reports an out-of-memory kill). cgroup v1 (separate memory and pids hierarchies) or v2 (one
// unified hierarchy), whichever the machine mounts; groups live under this process's own cgroup.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The hierarchies limits are set in. */
export interface CgroupRoots {
  version: 1 | 2;
  /** v1: the memory hierarchy's dir for our groups; v2: the unified one. */
  memory: string;
  /** v1: the pids hierarchy's dir for our groups; v2: same as memory. */
  pids: string;
}

const GROUP_DIR = 'sidecar-buildpack';

interface Mount {
  point: string;
  fsType: string;
  superOptions: string[];
}

function mounts(): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right] = line.split(' - ');
      const fields = left.split(' ');
      const [fsType, , superOptions] = right.split(' ');
      return { point: fields[4].replace(/\\040/g, ' '), fsType, superOptions: (superOptions ?? '').split(',') };
    });
}

/** This process's cgroup path in the hierarchy holding `controller` ('' = the v2 one). */
function ownPath(controller: string): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, p] = line.split(':');
    if (p === undefined) continue;
    if (controller === '' ? controllers === '' : controllers.split(',').includes(controller)) return p;
  }
  return undefined;
}

/** Where this machine lets us put memory and pids groups, or why it does not. */
export function findCgroupRoots(): CgroupRoots | string {
  let all: Mount[];
  try {
    all = mounts();
  } catch (e) {
    return `cannot read /proc/self/mountinfo: ${(e as Error).message}`;
  }
  const v1 = (c: string) => all.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(c));
  const mem = v1('memory');
  const pids = v1('pids');
  if (mem && pids) {
    const memPath = ownPath('memory');
    const pidsPath = ownPath('pids');
    if (memPath === undefined || pidsPath === undefined) return 'this process is in no memory/pids cgroup';
    return { version: 1, memory: path.join(mem.point, memPath, GROUP_DIR), pids: path.join(pids.point, pidsPath, GROUP_DIR) };
  }
  const unified = all.find((m) => m.fsType === 'cgroup2');
  const own = ownPath('');
  if (unified && own !== undefined) {
    const base = path.join(unified.point, own);
    const controllers = existsSync(path.join(base, 'cgroup.controllers')) ? readFileSync(path.join(base, 'cgroup.controllers'), 'utf8') : '';
    if (!/\bmemory\b/.test(controllers) || !/\bpids\b/.test(controllers)) return `cgroup v2 at ${base} offers no memory and pids controllers`;
    // v2: no processes in inner groups, so ours go beside this process's group
    const dir = path.join(path.dirname(base), `${GROUP_DIR}-${process.pid}`);
    return { version: 2, memory: dir, pids: dir };
  }
  return 'no cgroup memory and pids controllers are mounted';
}

/** One container's groups: the container itself, and one memory group per process inside it. */
export class ContainerCgroup {
  private readonly children = new Set<string>();

  constructor(
    private readonly roots: CgroupRoots,
    readonly name: string,
  ) {}

  private dir(kind: 'memory' | 'pids', child?: string): string {
    const base = path.join(kind === 'memory' ? this.roots.memory : this.roots.pids, this.name);
    return child ? path.join(base, child) : base;
  }

  /** Create the container's groups: `memoryMb` for everything in it, at most `pids` tasks. */
  async create(memoryMb: number, pids: number): Promise<void> {
    const bytes = String(memoryMb * 1024 * 1024);
    if (this.roots.version === 1) {
      await mkdir(this.dir('memory'), { recursive: true });
      await mkdir(this.dir('pids'), { recursive: true });
      await limitV1(this.dir('memory'), bytes);
      await writeFile(path.join(this.dir('pids'), 'pids.max'), String(pids));
    } else {
      await enableV2(this.roots.memory);
      await mkdir(this.dir('memory'), { recursive: true });
      await writeFile(path.join(this.dir('memory'), 'memory.max'), bytes);
      await writeFile(path.join(this.dir('memory'), 'memory.swap.max'), '0').catch(() => undefined);
      await writeFile(path.join(this.dir('memory'), 'pids.max'), String(pids));
      await enableV2(this.dir('memory'));
    }
  }

  /** A memory group for one process of the container (its own limit, under the container's). */
  async createProcessGroup(child: string, memoryMb: number): Promise<void> {
    const bytes = String(memoryMb * 1024 * 1024);
    await mkdir(this.dir('memory', child), { recursive: true });
    this.children.add(child);
    if (this.roots.version === 1) await limitV1(this.dir('memory', child), bytes);
    else {
      await writeFile(path.join(this.dir('memory', child), 'memory.max'), bytes);
      await writeFile(path.join(this.dir('memory', child), 'memory.swap.max'), '0').catch(() => undefined);
    }
  }

  /** The `cgroup.procs` files a process joins (by writing its pid) before it enters the container. */
  procsFiles(child?: string): string[] {
    if (this.roots.version === 2) return [path.join(this.dir('memory', child), 'cgroup.procs')];
    return [path.join(this.dir('memory', child), 'cgroup.procs'), path.join(this.dir('pids'), 'cgroup.procs')];
  }

  /** True when the kernel's OOM killer killed a process in the group (the container's when no child). */
  async oomKilled(child?: string): Promise<boolean> {
    const file = path.join(this.dir('memory', child), this.roots.version === 1 ? 'memory.oom_control' : 'memory.events');
    try {
      const m = /^oom_kill (\d+)$/m.exec(await readFile(file, 'utf8'));
      return Boolean(m && Number(m[1]) > 0);
    } catch {
      return false;
    }
  }

  /** Remove the groups (they must be empty: call after the container is destroyed). */
  async remove(): Promise<void> {
    for (const child of this.children) await removeGroup(this.dir('memory', child));
    await removeGroup(this.dir('memory'));
    if (this.roots.version === 1) await removeGroup(this.dir('pids'));
  }
}

async function limitV1(dir: string, bytes: string): Promise<void> {
  await writeFile(path.join(dir, 'memory.limit_in_bytes'), bytes);
  // swap counts too where the kernel accounts it, so the limit is not dodged by swapping
  await writeFile(path.join(dir, 'memory.memsw.limit_in_bytes'), bytes).catch(() => undefined);
}

async function enableV2(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'cgroup.subtree_control'), '+memory +pids').catch(() => undefined);
}

/** rmdir a group, retrying briefly while the kernel finishes releasing its last tasks. */
async function removeGroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Remove groups left by platform processes that died without cleaning up (SIGKILL): their names
 * start with `<pid>-` and that pid is gone.
 */
export async function sweepStaleGroups(roots: CgroupRoots): Promise<void> {
  for (const base of new Set([roots.memory, roots.pids])) {
    let names: string[];
    try {
      names = await readdir(base);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^(\d+)-/.exec(name);
      if (!m || existsSync(`/proc/${m[1]}`)) continue;
      const dir = path.join(base, name);
      for (const child of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (child.isDirectory()) await removeGroup(path.join(dir, child.name));
      }
      await removeGroup(dir);
    }
  }
}
