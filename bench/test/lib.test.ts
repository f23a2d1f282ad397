// The benchmark's own parts: statistics, timing of child processes, generated inputs, the file
// server, the child environment and the report. Run with `npx mocha bench/test/*.test.ts`.

import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { childEnv, type CaseResult } from '../lib/context.js';
import { makeRandomTgz, makeRealRuntimeTgz, sha256File, treeBytes } from '../lib/inputs.js';
import { median, sample, timeRun } from '../lib/measure.js';
import { judge, watchLoad } from '../lib/load.js';
import { machine, met, noisy, renderTable, resultsJson } from '../lib/report.js';
import { startFileServer } from '../lib/server.js';

function get(url: string): Promise<{ status: number; body: Buffer; length?: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), length: res.headers['content-length'] }));
    }).on('error', reject);
  });
}

describe('bench lib', () => {
  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-test-'));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('#median', () => {
    it('takes the middle value of an odd count and the mean of the two middle values of an even count', () => {
      expect(median([5, 1, 3])).to.equal(3);
      expect(median([4, 1, 3, 2])).to.equal(2.5);
    });
    context('failure cases', () => {
      it('refuses an empty list', () => {
        expect(() => median([])).to.throw(RangeError);
      });
    });
  });

  describe('#timeRun', () => {
    it('times a child and collects its output', async () => {
      const r = await timeRun('sh', ['-c', 'echo out; echo err >&2; sleep 0.05']);
      expect(r.stdout).to.equal('out\n');
      expect(r.stderr).to.equal('err\n');
      expect(r.ms).to.be.greaterThan(0);
    });
    context('failure cases', () => {
      it('rejects with the output when the child exits non-zero', async () => {
        const e = await timeRun('sh', ['-c', 'echo why; exit 3']).catch((x: Error) => x);
        expect((e as Error).message).to.contain('exited 3').and.contain('why');
      });
      it('kills a hung child after the timeout and says so', async () => {
        const e = await timeRun('sleep', ['30'], { timeoutMs: 100 }).catch((x: Error) => x);
        expect((e as Error).message).to.contain('hung: killed');
      });
    });
  });

  describe('#sample', () => {
    it('warms each side up once, then runs both `runs` times, each after its own prepare', async () => {
      const calls: string[] = [];
      const trial = (name: string) => ({
        prepare: async () => void calls.push(`${name}:prepare`),
        run: async () => (calls.push(name), name === 'f' ? 2 : 1),
      });
      const s = await sample(trial('f'), trial('b'), 3);
      expect(s.figure).to.deep.equal([2, 2, 2]);
      expect(s.baseline).to.deep.equal([1, 1, 1]);
      expect(calls.filter((c) => c === 'f')).to.have.length(4);
      expect(calls.filter((c) => c === 'b:prepare')).to.have.length(4);
      expect(calls.slice(0, 4)).to.deep.equal(['f:prepare', 'f', 'b:prepare', 'b']);
    });
  });

  describe('#makeRandomTgz', () => {
    it('makes an incompressible .tgz holding bin/payload and about the requested bytes of data', async () => {
      const a = await makeRandomTgz(path.join(tmp, 'p.tgz'), 3 * 1024 * 1024 + 5);
      expect(a.bytes).to.be.within(3 * 1024 * 1024, 3 * 1024 * 1024 + 64 * 1024);
      expect(a.sha256).to.equal(createHash('sha256').update(await fs.readFile(a.file)).digest('hex'));
      const list = spawnSync('tar', ['-tzvf', a.file]).stdout.toString();
      expect(list).to.match(/^-rwxr-xr-x .* bin\/payload$/m);
      expect(list).to.match(/ 3145733 .* data\/part-0$/m);
      expect(await fs.access(`${a.file}.src`).then(() => 'exists', () => 'gone')).to.equal('gone');
    });
    it('makes different data each time', async () => {
      const a = await makeRandomTgz(path.join(tmp, 'a.tgz'), 4096);
      const b = await makeRandomTgz(path.join(tmp, 'b.tgz'), 4096);
      expect(a.sha256).not.to.equal(b.sha256);
    });
  });

  describe('#makeRealRuntimeTgz', () => {
    it('packs this node binary itself as bin/node, with the sizes of the binary and of its gzip', async function () {
      this.timeout(120000);
      const a = await makeRealRuntimeTgz(path.join(tmp, 'rt.tgz'), process.execPath);
      const dir = path.join(tmp, 'rt');
      await fs.mkdir(dir);
      spawnSync('tar', ['-xzf', a.file, '-C', dir]);
      const r = spawnSync(path.join(dir, 'bin', 'node'), ['-p', 'process.version']);
      expect(r.stdout.toString().trim()).to.equal(process.version);
      expect(a.binaryBytes).to.equal((await fs.stat(await fs.realpath(process.execPath))).size);
      expect(a.binaryGzipBytes).to.be.within(1, a.bytes);
      for (const e of a.extras) expect((await fs.stat(path.join(dir, e))).isDirectory(), e).to.equal(true);
      expect(a.sha256).to.equal(await sha256File(a.file));
    });
  });

  describe('#treeBytes', () => {
    it('adds the sizes of the regular files below a dir, 0 for a missing one', async () => {
      const d = path.join(tmp, 'tree');
      await fs.mkdir(path.join(d, 'a', 'b'), { recursive: true });
      await fs.writeFile(path.join(d, 'x'), 'abc');
      await fs.writeFile(path.join(d, 'a', 'b', 'y'), Buffer.alloc(1000));
      await fs.symlink('x', path.join(d, 'link'));
      expect(await treeBytes(d)).to.equal(1003);
      expect(await treeBytes(path.join(tmp, 'missing'))).to.equal(0);
    });
  });

  describe('#startFileServer', () => {
    it('serves added files with their length and counts requests', async () => {
      const file = path.join(tmp, 'served.bin');
      await fs.writeFile(file, 'hello');
      const server = await startFileServer();
      try {
        const url = server.add('/x/served.bin', file);
        const r = await get(url);
        expect(r.status).to.equal(200);
        expect(r.body.toString()).to.equal('hello');
        expect(r.length).to.equal('5');
        expect(server.requests.get('/x/served.bin')).to.equal(1);
        expect(await sha256File(file)).to.equal(createHash('sha256').update('hello').digest('hex'));
      } finally {
        await server.close();
      }
    });
    context('failure cases', () => {
      it('answers 404 for a path it does not serve', async () => {
        const server = await startFileServer();
        try {
          expect((await get(`${server.base}/nope`)).status).to.equal(404);
        } finally {
          await server.close();
        }
      });
    });
  });

  describe('#childEnv', () => {
    it('drops proxy settings in any case and BP_DEBUG, keeping the rest', () => {
      const env = childEnv({ PATH: '/bin', HTTP_PROXY: 'x', https_proxy: 'y', NO_PROXY: 'z', all_proxy: 'w', BP_DEBUG: '1' });
      expect(env).to.deep.equal({ PATH: '/bin' });
    });
    it('drops what changes how node starts (a foundation sets none of it), so both sides of a ratio start node alike', () => {
      const env = childEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', NODE_OPTIONS: '--require x', NODE_COMPILE_CACHE: '/c', NODE_ENV: 'production' });
      expect(env).to.deep.equal({ PATH: '/bin', NODE_ENV: 'production' });
    });
  });

  describe('report', () => {
    const ok: CaseResult = { key: 'a_ratio', value: 0.9, unit: 'ratio', target: 1, figure: '0.9 s', baseline: '1.0 s', raw: { x: 1 } };
    const miss: CaseResult = { key: 'b_ms', value: 60, unit: 'ms', target: 50, figure: '1 s', baseline: '1 s', raw: {} };
    const failed: CaseResult = { key: 'c_ratio', value: null, unit: 'ratio', target: 2, figure: '—', baseline: '—', raw: {}, error: 'boom' };

    it('marks each figure against its upper-bound target', () => {
      expect([ok, miss, failed].map(met)).to.deep.equal([true, false, false]);
      const table = renderTable([ok, miss, failed], machine(), 5, false);
      expect(table).to.match(/a_ratio\s+0\.9 s\s+1\.0 s\s+0\.90\s+≤ 1\s+✓/);
      expect(table).to.match(/b_ms\s+.*60\.0 ms\s+≤ 50 ms\s+✗/);
      expect(table).to.match(/c_ratio\s+.*error.*✗/);
      expect(table).to.contain('c_ratio: boom').and.contain('cores');
    });
    it('never calls a time taken on a busy machine met: it shows it as noisy, with why; sizes cannot be noisy', () => {
      const busy = judge(0.4, 1.3, 1.3, 0.1);
      const neighbour = judge(0.2, 0.3, 0.3, 0.9);
      const quiet = judge(0.2, 0.6, 0.6, 0.02, 0.05);
      const host = judge(0.2, 0.6, 0.6, 0.02, 0.4);
      expect([busy.noisy, neighbour.noisy, quiet.noisy, host.noisy]).to.deep.equal([true, true, false, true]);
      expect(host.reason).to.equal('the hypervisor took 0.40 cores (steal)');
      const noisyOk: CaseResult = { ...ok, key: 'n_ratio', load: busy };
      const size: CaseResult = { ...ok, key: 's_ratio', timed: false, load: busy };
      expect([noisyOk, size, { ...ok, load: quiet }].map(met)).to.deep.equal([false, true, true]);
      expect([noisyOk, size].map(noisy)).to.deep.equal([true, false]);
      const table = renderTable([noisyOk, { ...ok, key: 'm_ratio', load: neighbour }], machine(), 5, false);
      expect(table).to.match(/n_ratio\s+.*0\.90\s+≤ 1\s+noisy \(load average 1\.30 > 1\)/);
      expect(table).to.match(/m_ratio\s+.*noisy \(other processes used 0\.90 cores\)/);
      const json = resultsJson([noisyOk], machine(), 5, false);
      expect(json.met).to.deep.equal({ n_ratio: false });
      expect(json.noisy).to.deep.equal({ n_ratio: true });
      expect((json.raw as Record<string, { load: unknown }>).n_ratio.load).to.deep.equal(busy);
    });
    it('watches the load of a stretch of time: the load average and the CPU of other processes', async () => {
      const w = watchLoad();
      await new Promise((r) => setTimeout(r, 50));
      const report = w.stop();
      expect(report.max).to.be.at.least(report.before);
      expect(report.others_cores === null || report.others_cores >= 0).to.equal(true);
    });
    it("counts a grandchild's CPU as the benchmark's own, not a neighbour's (the platform's processes are not its children)", async function () {
      if (!existsSync('/proc/self/stat')) this.skip();
      this.timeout(10000);
      const w = watchLoad();
      // sh stays alive, so the busy loop it starts is reaped by it, never by this process
      const child = spawn('/bin/sh', ['-c', 'timeout 1.2 sh -c "while :; do :; done"; sleep 0.3'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1300));
      const report = w.stop();
      await new Promise((r) => child.on('exit', r));
      expect(report.others_cores, JSON.stringify(report)).to.be.below(0.5);
    });
    it('writes the keys at the top level, with targets, raw medians and the machine', () => {
      const json = resultsJson([ok, failed], machine(), 5, true);
      expect(json.a_ratio).to.equal(0.9);
      expect(json.c_ratio).to.equal(null);
      expect(json.raw).to.deep.equal({ a_ratio: { x: 1 }, c_ratio: { error: 'boom' } });
      expect(json.quick).to.equal(true);
      expect((json.machine as { node: string }).node).to.equal(process.version);
    });
  });
});
