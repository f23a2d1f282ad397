// ContainerCgroup's files, on a folder standing in for the cgroup file system: which limits it
// writes where, for v1 (memory and pids hierarchies) and v2 (one unified hierarchy). The kernel's
// side (limits enforced, OOM kills) is proven in integration/containers.spec.ts on this machine's
// cgroups; v2 machines are not reachable here, so this is what pins the v2 layout.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cell } from '../../src/platform/local/cell.js';
import { ContainerCgroup } from '../../src/platform/local/cgroups.js';

const MiB = 1024 * 1024;

describe('ContainerCgroup (the files it writes)', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cgroups-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });
  const read = (...p: string[]) => fs.readFile(path.join(tmp, ...p), 'utf8');

  it('v2: one group per container with memory.max, no swap and pids.max, a child group per process, controllers enabled down to them', async () => {
    const root = path.join(tmp, 'unified');
    const cg = new ContainerCgroup({ version: 2, memory: root, pids: root }, '42-1');
    await cg.create(256, 1024);
    await cg.createProcessGroup('p-0', 192);
    await cg.createProcessGroup('p-1', 64);
    expect(await read('unified', 'cgroup.subtree_control')).to.equal('+memory +pids');
    expect(await read('unified', '42-1', 'cgroup.subtree_control')).to.equal('+memory +pids');
    expect(await read('unified', '42-1', 'memory.max')).to.equal(String(256 * MiB));
    expect(await read('unified', '42-1', 'memory.swap.max')).to.equal('0');
    expect(await read('unified', '42-1', 'pids.max')).to.equal('1024');
    expect(await read('unified', '42-1', 'p-0', 'memory.max')).to.equal(String(192 * MiB));
    expect(await read('unified', '42-1', 'p-1', 'memory.swap.max')).to.equal('0');
    // processes join their own leaf group only (v2 has no processes in inner groups)
    expect(cg.procsFiles('p-1')).to.deep.equal([path.join(root, '42-1', 'p-1', 'cgroup.procs')]);
  });

  it('v1: the memory limit (and memsw where accounted) in the memory hierarchy, pids.max in the pids one; processes join both', async () => {
    const [mem, pids] = [path.join(tmp, 'memory'), path.join(tmp, 'pids')];
    const cg = new ContainerCgroup({ version: 1, memory: mem, pids }, '42-2');
    await cg.create(128, 512);
    await cg.createProcessGroup('p-0', 100);
    expect(await read('memory', '42-2', 'memory.limit_in_bytes')).to.equal(String(128 * MiB));
    expect(await read('memory', '42-2', 'memory.memsw.limit_in_bytes')).to.equal(String(128 * MiB));
    expect(await read('pids', '42-2', 'pids.max')).to.equal('512');
    expect(await read('memory', '42-2', 'p-0', 'memory.limit_in_bytes')).to.equal(String(100 * MiB));
    expect(cg.procsFiles('p-0')).to.deep.equal([path.join(mem, '42-2', 'p-0', 'cgroup.procs'), path.join(pids, '42-2', 'cgroup.procs')]);
  });

  it('reads an OOM kill from memory.events (v2) and memory.oom_control (v1)', async () => {
    const root = path.join(tmp, 'unified');
    const v2 = new ContainerCgroup({ version: 2, memory: root, pids: root }, '42-3');
    await v2.create(64, 100);
    await v2.createProcessGroup('p-0', 64);
    expect(await v2.oomKilled('p-0')).to.equal(false);
    await fs.writeFile(path.join(root, '42-3', 'p-0', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n');
    expect(await v2.oomKilled('p-0')).to.equal(false);
    await fs.writeFile(path.join(root, '42-3', 'p-0', 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n');
    expect(await v2.oomKilled('p-0')).to.equal(true);
    const mem = path.join(tmp, 'memory');
    const v1 = new ContainerCgroup({ version: 1, memory: mem, pids: path.join(tmp, 'pids') }, '42-4');
    await v1.create(64, 100);
    await fs.writeFile(path.join(mem, '42-4', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(await v1.oomKilled()).to.equal(true);
  });
});

describe('Cell container names', () => {
  it('are unique in the process across platforms (two cells must never share a cgroup)', () => {
    const support = { tools: { sh: '/bin/sh', unshare: 'unshare', nsenter: 'nsenter', setpriv: 'setpriv', ip: 'ip' } };
    const a = new Cell(support, path.join(os.tmpdir(), 'cell-a'), os.tmpdir());
    const b = new Cell(support, path.join(os.tmpdir(), 'cell-b'), os.tmpdir());
    const names = [a.nextName(), b.nextName(), a.nextName(), b.nextName()];
    expect(new Set(names).size).to.equal(4);
    for (const n of names) expect(n).to.match(new RegExp(`^${process.pid}-\\d+$`));
  });
});
