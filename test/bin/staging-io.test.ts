// A staging writes a few dozen small files and reads a few, one after the other, with nothing
// else to do, and writes a download as it comes: its file calls are synchronous
// (src/sync-fs.ts). Each fs.promises call is a round trip through libuv's thread pool, which
// node starts (4 threads) on first use only; so a staging that never starts it made none. An
// 8 MiB staging from the app cache took 64 -> 56 ms without them.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeBenchBuildpack, type BenchDependency } from '../../bench/lib/buildpack.js';
import { sha256, tgzBuffer } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { runAsync } from '../helpers/spawn.js';
import { useTmpDirs } from '../helpers/tmp.js';

// printed at exit: how many threads the process has (node's own, plus the pool once started)
// and whether node's web streams were loaded (node-fetch's fetch-blob asks for them at load, unless
// the build leaves its streams.cjs out: scripts/build.mjs), and net (process.stdout on a pipe is a
// net.Socket: the log is written to the descriptor instead, src/log/fd-sink.ts)
const PRELOAD =
  "process.on('exit', () => require('fs').writeSync(2, `threads=${require('fs').readdirSync('/proc/self/task').length} webstreams=${process.moduleLoadList.some((m) => m.endsWith('webstreams/readablestream'))} net=${process.moduleLoadList.includes('NativeModule net')}\\n`));\n";

function threads(stderr: string): number {
  const m = /threads=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no thread count in: ${stderr}`);
  return Number(m[1]);
}

describe('staging file work without the thread pool (bin/supply from a download, the app cache or a cached buildpack)', function () {
  this.timeout(60_000);
  const tmpDir = useTmpDirs('staging-io-');
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => server.close());

  const PROBE = '#!/bin/sh\necho probe\n';

  async function setup(cached: boolean) {
    const root = await tmpDir();
    const preload = path.join(root, 'threads.cjs');
    await fs.writeFile(preload, PRELOAD);
    const archive = await tgzBuffer({ 'bin/probe': PROBE, 'share/data': Buffer.alloc(3 * 1024 * 1024, 7) });
    const route = `/probe-${path.basename(root)}.tgz`;
    server.route(route, serve.bytes(archive));
    const dep: BenchDependency = { name: 'probe', version: '1.0.0', uri: server.url(route), sha256: sha256(archive) };
    if (cached) {
      dep.cachedFrom = path.join(root, 'probe.tgz');
      await fs.writeFile(dep.cachedFrom, archive);
    }
    const bp = await makeBenchBuildpack(path.join(root, 'bp'), { dependencies: [dep], sidecars: [{ name: 'probe', dependency: 'probe', command: 'bin/probe' }] });
    const [app, cache, deps] = ['app', 'cache', 'deps'].map((d) => path.join(root, d));
    for (const d of [app, cache]) await fs.mkdir(d, { recursive: true });
    const env = { PATH: process.env.PATH ?? '', CF_STACK: 'cflinuxfs4', HOME: root };
    const stage = async () => {
      await fs.rm(deps, { recursive: true, force: true });
      await fs.mkdir(path.join(deps, '0'), { recursive: true });
      return runAsync('node', ['-r', preload, path.join(bp, 'dist', 'supply.cjs'), app, cache, deps, '0'], { env });
    };
    // node's own threads, counted the same way
    const bare = await runAsync('node', ['-r', preload, '-e', '0'], { env });
    return { stage, deps, own: threads(bare.stderr), bp, app, cache, env };
  }

  it('downloaded, then from the app cache: installed and launch.yml written, and the pool never started', async () => {
    const s = await setup(false);
    const first = await s.stage();
    expect(first.status, first.stdout + first.stderr).to.equal(0);
    expect(first.stdout).to.include('Download [');
    // the download too: its pieces are written as they come, synchronously
    expect(threads(first.stderr), 'threads of the downloading staging against node -e 0').to.equal(s.own);
    expect(first.stderr, 'node-fetch loaded without web streams').to.include('webstreams=false');
    const warm = await s.stage();
    expect(warm.status, warm.stdout + warm.stderr).to.equal(0);
    expect(warm.stdout).to.include('Using cached probe 1.0.0');
    expect(await fs.readFile(path.join(s.deps, '0', 'probe', 'bin', 'probe'), 'utf8')).to.equal(PROBE);
    expect(await fs.readFile(path.join(s.deps, '0', 'launch.yml'), 'utf8')).to.include('sidecar_for');
    expect(threads(warm.stderr), 'threads of the staging against node -e 0').to.equal(s.own);
    expect(warm.stderr, 'its log written to the pipe without net').to.include('net=false');
  });

  it('from a cached buildpack: the same', async () => {
    const s = await setup(true);
    const r = await s.stage();
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('Copy [');
    expect(r.stderr, 'its log written to the pipe without net').to.include('net=false');
    expect(await fs.readFile(path.join(s.deps, '0', 'probe', 'bin', 'probe'), 'utf8')).to.equal(PROBE);
    expect(threads(r.stderr), 'threads of the staging against node -e 0').to.equal(s.own);
  });

  it('stages to the end when the reader of its output goes away (EPIPE), with its own exit status', async () => {
    const s = await setup(true);
    await fs.mkdir(path.join(s.deps, '0'), { recursive: true });
    const child = spawn('node', [path.join(s.bp, 'dist', 'supply.cjs'), s.app, s.cache, s.deps, '0'], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // before the first line
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(0);
    expect(await fs.readFile(path.join(s.deps, '0', 'probe', 'bin', 'probe'), 'utf8')).to.equal(PROBE);
    expect(await fs.readFile(path.join(s.deps, '0', 'launch.yml'), 'utf8')).to.include('sidecar_for');
  });
});
