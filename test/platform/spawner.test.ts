// The helper that forks the container processes (spawner.ts): real processes, started by a real
// helper; what the platform reads of them must be what a ChildProcess would have told it.
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HelperSpawner, type SpawnedProcess } from '../../src/platform/local/spawner.js';
import { REPO } from './helpers.js';

const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = (() => {
  try {
    execFileSync(SETPRIV, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function run(p: SpawnedProcess): Promise<{ out: string; err: string; exit: [number | null, string | null]; close: [number | null, string | null] }> {
  let out = '';
  let err = '';
  let exit: [number | null, string | null] = [null, null];
  p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  p.on('exit', (code: number | null, sig: string | null) => (exit = [code, sig]));
  return new Promise((resolve) => p.on('close', (code: number | null, sig: string | null) => resolve({ out, err, exit, close: [code, sig] })));
}

const ppidOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
/** Running (a zombie waiting for a reaper that does not reap is not running). */
const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(hasSetpriv ? describe : describe.skip)('HelperSpawner (container processes forked by a small helper)', () => {
  let spawner: HelperSpawner;
  beforeEach(() => {
    spawner = new HelperSpawner(process.execPath, SETPRIV);
  });

  it('relays stdout and stderr in full, the exit status, and closes after the output', async () => {
    const p = spawner.spawn({ file: '/bin/sh', args: ['-c', 'head -c 300000 /dev/zero | tr "\\0" x; echo; echo oops >&2; exit 3'], env: { PATH: '/usr/bin:/bin' }, stdout: 'pipe', stderr: 'pipe' });
    const r = await run(p);
    expect(r.out.length).to.equal(300001);
    expect(r.err).to.equal('oops\n');
    expect(r.exit).to.deep.equal([3, null]);
    expect(r.close).to.deep.equal([3, null]);
    expect([p.exitCode, p.signalCode]).to.deep.equal([3, null]);
  });

  it('forks in the helper, not in this process, with the environment it is given', async () => {
    const p = spawner.spawn({ file: '/bin/sh', args: ['-c', 'echo "$SBP_X"; exec sleep 5'], env: { SBP_X: 'given' }, stdout: 'pipe', stderr: 'ignore' });
    let out = '';
    p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    while (!out.includes('\n')) await sleep(5);
    expect(out).to.equal('given\n');
    const pid = p.pid as number;
    expect(pid).to.be.a('number');
    const parent = ppidOf(pid);
    expect(parent).not.to.equal(process.pid);
    expect(ppidOf(parent), 'the helper is setpriv, which exec\'d node, a child of this process').to.equal(process.pid);
    expect(p.kill('SIGTERM')).to.equal(true);
    const r = await run(p);
    expect(r.exit).to.deep.equal([null, 'SIGTERM']);
  });

  it('keeps the helper and what it starts out of this process\'s session: a terminal\'s Ctrl-C (SIGINT to the foreground group) reaches neither', async () => {
    const p = spawner.spawn({ file: '/bin/sleep', args: ['5'], env: {}, stdout: 'ignore', stderr: 'ignore' });
    while (p.pid === undefined) await sleep(5);
    // /proc/<pid>/stat after the command: state, ppid, pgrp, session
    const groupOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(2, 4).map(Number);
    const [mine] = [groupOf(process.pid)];
    for (const pid of [ppidOf(p.pid), p.pid]) {
      const [pgrp, session] = groupOf(pid);
      expect(pgrp, `process group of ${pid}`).not.to.equal(mine[0]);
      expect(session, `session of ${pid}`).not.to.equal(mine[1]);
    }
    p.kill('SIGKILL');
    await run(p);
  });

  it('reports a file that cannot be run as the spawn error a ChildProcess gives', async () => {
    const p = spawner.spawn({ file: '/nonexistent/tool', args: [], env: {}, stdout: 'pipe', stderr: 'pipe' });
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => p.once('error', resolve));
    expect(error.code).to.equal('ENOENT');
  });

  it('takes what it started with it when it dies, reports those as killed, and starts anew', async () => {
    // as the platform starts everything: under setpriv --pdeathsig KILL
    const p = spawner.spawn({ file: SETPRIV, args: ['--pdeathsig', 'KILL', '--', '/bin/sleep', '30'], env: {}, stdout: 'pipe', stderr: 'pipe' });
    while (p.pid === undefined) await sleep(5);
    const helperPid = ppidOf(p.pid);
    const ended = run(p);
    process.kill(helperPid, 'SIGKILL');
    expect((await ended).exit).to.deep.equal([null, 'SIGKILL']);
    for (let i = 0; i < 100 && alive(p.pid); i++) await sleep(10);
    expect(alive(p.pid), 'its child got SIGKILL through pdeathsig').to.equal(false);
    const again = await run(spawner.spawn({ file: '/bin/echo', args: ['back'], env: {}, stdout: 'pipe', stderr: 'ignore' }));
    expect(again.out).to.equal('back\n');
  });

  it('keeps this process running while a process lives, and lets it exit once none does', async () => {
    // a process of its own whose only work is a helper-started `sleep 0.3`: it must wait for it, then end
    const script = `import { HelperSpawner } from ${JSON.stringify(path.join(REPO, 'src/platform/local/spawner.ts'))};
const s = new HelperSpawner(process.execPath, ${JSON.stringify(SETPRIV)});
const t = Date.now();
s.spawn({ file: '/bin/sleep', args: ['0.3'], env: {}, stdout: 'ignore', stderr: 'ignore' }).on('close', (c) => console.log('closed', c, Date.now() - t >= 250));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(out).to.equal('closed 0 true\n');
    expect(code).to.equal(0);
  });
});
