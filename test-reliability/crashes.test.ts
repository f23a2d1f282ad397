// Crashes and concurrency (issue 6): concurrent stagings sharing one app cache, concurrent cached
// packagings sharing one download cache, bin/supply and `package --cached` killed with SIGKILL
// at random points (seeds logged; replay with RELIABILITY_SEED), then a normal run that must
// succeed with verified files and leave no partial file or process behind.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { serve, TestServer } from '../test/helpers/http-server.js';
import { sha256, sha256File } from '../test/helpers/archives.js';
import { runAsync, type SpawnResult } from '../test/helpers/spawn.js';
import { canMount, useTmpfs } from '../test/helpers/tmpfs.js';
import { agentManifest, agentTgz, makeBuildpack, processesGone, prng, REPO, runSupply, seedFor, stagingDirs, tempLeftovers, tempRoot, tree, verifyCache, verifyInstalled } from './helpers/staging.js';

const KILLS = 50;

describe('reliability: crashes and concurrency', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  let dep: Awaited<ReturnType<typeof agentTgz>>;

  before(async () => {
    dep = await agentTgz(2 * 1024 * 1024);
  });
  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
    server.route('/agent.tgz', serve.bytes(dep.body));
  });
  afterEach(async () => {
    await server.close();
    await root.remove();
  });

  const buildpack = (): Promise<string> => makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url('/agent.tgz'), sha256: dep.sha256 }));

  describe('faults of the environment (issue 13 item 11): a typed error saying what and where, exit 1, never exit 70', () => {
    const mount = useTmpfs();

    it('a full deps dir is reported as disk full, and the next staging with room succeeds', async function () {
      if (!canMount()) this.skip(); // mounting a small tmpfs needs root
      const bp = await buildpack();
      const dirs = await stagingDirs(root.dir);
      await mount(dirs.deps, 1024);
      const run = await runSupply(bp, dirs);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stdout).to.match(/\*\*ERROR\*\*.* could not write the files of agent\.tgz into .*\/deps\/0\/agent: no space left on the device \(disk full\) \(ENOSPC\)/);
      expect(run.stderr).not.to.include('a bug');
      expect(await tree(dirs.deps), 'nothing half-written is left in the full deps dir').to.deep.equal(['0/']);
      const roomy = { ...(await stagingDirs(root.dir)), cache: dirs.cache };
      const again = await runSupply(bp, roomy);
      expect(again.code, again.stdout + again.stderr).to.equal(0);
      expect(await verifyInstalled(roomy.deps, dep.files)).to.deep.equal([]);
    });

    it('a full app cache is reported as disk full, leaving no partial file', async function () {
      if (!canMount()) this.skip();
      const bp = await buildpack();
      const dirs = await stagingDirs(root.dir);
      await mount(dirs.cache, 1024);
      const run = await runSupply(bp, dirs);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stdout).to.match(/\*\*ERROR\*\*.* could not write the download of agent\.tgz into the app cache .*: no space left on the device \(disk full\)/);
      expect(run.stderr).not.to.include('a bug');
      expect(await tree(dirs.cache)).to.deep.equal(['dependencies/']);
    });

    it('a reader of its output that goes away (the pipe closed) does not fail the staging', async () => {
      const bp = await buildpack();
      const dirs = await stagingDirs(root.dir);
      const run = await runSupply(bp, dirs, { onSpawn: (child) => child.stdout?.destroy() });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).not.to.include('EPIPE');
      expect(await verifyInstalled(dirs.deps, dep.files)).to.deep.equal([]);
    });

    it('cache/dependencies being a file is named', async () => {
      const bp = await buildpack();
      const dirs = await stagingDirs(root.dir);
      await fs.writeFile(path.join(dirs.cache, 'dependencies'), 'junk');
      const run = await runSupply(bp, dirs);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      expect(run.stdout).to.include(`${path.join(dirs.cache, 'dependencies')}: a file is in the way where a directory should be`);
      expect(run.stderr).not.to.include('a bug');
    });

    it('a poisoned app-cache entry (a directory where the file should be) is removed and fetched again', async () => {
      const bp = await buildpack();
      const dirs = await stagingDirs(root.dir);
      expect((await runSupply(bp, dirs)).code).to.equal(0);
      const [entry] = await fs.readdir(path.join(dirs.cache, 'dependencies'));
      const file = path.join(dirs.cache, 'dependencies', entry, 'agent.tgz');
      await fs.rm(file);
      await fs.mkdir(path.join(file, 'junk'), { recursive: true });
      for (let i = 0; i < 2; i++) {
        const run = await runSupply(bp, { ...(await stagingDirs(root.dir)), cache: dirs.cache });
        expect(run.code, run.stdout + run.stderr).to.equal(0);
      }
      expect(await sha256File(file)).to.equal(dep.sha256);
      expect(server.count('/agent.tgz')).to.equal(2);
    });
  });

  describe('8 stagings at once sharing one app cache', () => {
    for (const warm of [false, true]) {
      it(`all succeed and every cached file verifies (${warm ? 'warm' : 'cold'} cache)`, async () => {
        const bp = await buildpack();
        const cache = path.join(root.dir, 'shared-cache');
        await fs.mkdir(cache);
        if (warm) expect((await runSupply(bp, await stagingDirs(root.dir, cache))).code).to.equal(0);
        const all = await Promise.all(Array.from({ length: 8 }, async () => {
          const dirs = await stagingDirs(root.dir, cache);
          return { dirs, run: await runSupply(bp, dirs) };
        }));
        for (const { dirs, run } of all) {
          expect(run.code, run.stdout + run.stderr).to.equal(0);
          expect(await verifyInstalled(dirs.deps, dep.files)).to.deep.equal([]);
          expect(await tempLeftovers(dirs.deps)).to.deep.equal([]);
          expect(await tree(dirs.tmp)).to.deep.equal([]);
        }
        const cached = await verifyCache(cache, dep.sha256);
        expect(cached.files).to.have.length(1);
        expect(cached.bad).to.deep.equal([]);
        expect(cached.other, 'temp files left in the app cache').to.deep.equal([]);
        if (warm) expect(server.count('/agent.tgz')).to.equal(1);
      });
    }
  });

  describe(`bin/supply killed with SIGKILL at random points, ${KILLS} times`, () => {
    it('each following normal staging with the same cache succeeds with a verified dependency', async () => {
      const seed = seedFor('bin/supply SIGKILL');
      const random = prng(seed);
      const bp = await buildpack();
      const cache = path.join(root.dir, 'cache');
      await fs.mkdir(cache);
      // How long a normal (downloading) staging takes here: kill points are spread over it.
      const t0 = Date.now();
      const probe = await runSupply(bp, await stagingDirs(root.dir, path.join(root.dir, 'probe-cache')));
      const span = Math.max(150, Date.now() - t0);
      expect(probe.code).to.equal(0);
      let killedMidway = 0;
      for (let i = 0; i < KILLS; i++) {
        // Every third kill starts from a cold cache, so kill points also fall inside downloads.
        if (i % 3 === 0) await fs.rm(path.join(cache, 'dependencies'), { recursive: true, force: true });
        const at = Math.floor(random() * span);
        const killedDirs = await stagingDirs(root.dir, cache);
        const killed = await runSupply(bp, killedDirs, { killAfterMs: at });
        if (killed.signal === 'SIGKILL') killedMidway++;
        const context = `kill #${i} at ${at} ms (seed ${seed})`;
        expect(await processesGone(killed.marker), `${context}: processes left`).to.deep.equal([]);
        // Atomic installs: the killed staging's dependency dir is absent or complete.
        if (await fs.stat(path.join(killedDirs.deps, '0', 'agent')).catch(() => null)) {
          expect(await verifyInstalled(killedDirs.deps, dep.files).then((p) => p.filter((x) => !/^no /.test(x))), `${context}: half-installed`).to.deep.equal([]);
        }
        const dirs = await stagingDirs(root.dir, cache);
        const run = await runSupply(bp, dirs);
        expect(run.code, `${context}: ${run.stdout}${run.stderr}`).to.equal(0);
        expect(await verifyInstalled(dirs.deps, dep.files), context).to.deep.equal([]);
        const cached = await verifyCache(cache, dep.sha256);
        expect(cached.bad, context).to.deep.equal([]);
        expect(cached.files, context).to.have.length(1);
        expect(cached.other, `${context}: partial files left in the app cache`).to.deep.equal([]);
        await fs.rm(path.dirname(killedDirs.build), { recursive: true });
        await fs.rm(path.dirname(dirs.build), { recursive: true });
      }
      console.log(`      ${killedMidway}/${KILLS} runs were killed before they finished`);
      expect(killedMidway).to.be.greaterThan(KILLS / 2);
    });
  });

  describe('package --cached', () => {
    async function packagingBuildpack(): Promise<string> {
      const dir = path.join(root.dir, 'pkg-bp');
      await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
      await fs.writeFile(path.join(dir, 'bin', 'supply'), '#!/bin/sh\n', { mode: 0o755 });
      await fs.writeFile(path.join(dir, 'VERSION'), '1.2.3\n');
      await fs.writeFile(path.join(dir, 'manifest.yml'), `${agentManifest({ uri: server.url('/agent.tgz'), sha256: dep.sha256 })}include_files: [bin/supply, VERSION, manifest.yml]\n`);
      return dir;
    }
    function runPackage(dir: string, cacheDir: string, out: string, killWhen?: () => boolean): Promise<SpawnResult> {
      let timer: NodeJS.Timeout | undefined;
      const args = [path.join(REPO, 'dist/cli.cjs'), 'package', '--cached', '--stack', 'cflinuxfs4', '--cachedir', cacheDir, '--dir', dir, '--output', out, '--json'];
      return runAsync(process.execPath, args, {
        env: { PATH: process.env.PATH, HOME: root.dir },
        onSpawn: (child) => {
          if (killWhen) timer = setInterval(() => killWhen() && child.kill('SIGKILL'), 10);
        },
      }).finally(() => clearInterval(timer));
    }
    async function expectCorrectZip(zipPath: string): Promise<void> {
      const x = path.join(root.dir, `unzipped-${Math.random().toString(36).slice(2)}`);
      expect(spawnSync('unzip', ['-q', zipPath, '-d', x]).status).to.equal(0);
      const manifest = await fs.readFile(path.join(x, 'manifest.yml'), 'utf8');
      const file = /file: (dependencies\/[0-9a-f]{32}\/agent\.tgz)/.exec(manifest)?.[1];
      expect(file, manifest).to.be.a('string');
      expect(await sha256File(path.join(x, file!))).to.equal(dep.sha256);
      expect(await fs.readFile(path.join(x, 'VERSION'), 'utf8')).to.equal('1.2.3');
    }

    it('killed mid-download, then rerun: a correct zip and no partial file left', async () => {
      const seed = seedFor('package --cached SIGKILL');
      const random = prng(seed);
      const dir = await packagingBuildpack();
      const cacheDir = path.join(root.dir, 'download-cache');
      const out = path.join(root.dir, 'out');
      await fs.mkdir(out);
      // A slow first response, so the kill lands while bytes are arriving.
      const cutAfter = 64 * 1024 + Math.floor(random() * (dep.body.length - 128 * 1024));
      let sent = 0;
      server.route('/agent.tgz', serve.sequence((_req, res) => {
        res.writeHead(200, { 'content-length': dep.body.length });
        const tick = setInterval(() => {
          if (res.destroyed || sent >= dep.body.length) return clearInterval(tick);
          res.write(dep.body.subarray(sent, sent + 32 * 1024));
          sent += 32 * 1024;
        }, 5);
      }, serve.bytes(dep.body)));
      const killed = await runPackage(dir, cacheDir, out, () => sent >= cutAfter);
      expect(killed.signal, `killed after ${sent} bytes (seed ${seed})`).to.equal('SIGKILL');
      const rerun = await runPackage(dir, cacheDir, out);
      expect(rerun.status, rerun.stderr).to.equal(0);
      const result = JSON.parse(rerun.stdout) as { zipPath: string; sha256: string };
      expect(sha256(await fs.readFile(result.zipPath))).to.equal(result.sha256);
      await expectCorrectZip(result.zipPath);
      expect(await tree(out)).to.deep.equal([path.basename(result.zipPath)]);
      const cacheFiles = (await tree(cacheDir)).filter((p) => !p.endsWith('/'));
      expect(cacheFiles, 'only the verified file in the download cache').to.have.length(1);
      expect(await sha256File(path.join(cacheDir, cacheFiles[0]))).to.equal(dep.sha256);
    });

    it('8 cached packagings at once sharing one download cache: all zips correct', async () => {
      const dir = await packagingBuildpack();
      const cacheDir = path.join(root.dir, 'download-cache');
      const runs = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const out = path.join(root.dir, `out-${i}`);
        await fs.mkdir(out);
        return runPackage(dir, cacheDir, out);
      }));
      const digests = new Set<string>();
      for (const r of runs) {
        expect(r.status, r.stderr).to.equal(0);
        const result = JSON.parse(r.stdout) as { zipPath: string; sha256: string };
        await expectCorrectZip(result.zipPath);
        digests.add(result.sha256);
      }
      expect(digests.size, 'reproducible: the same zip every time').to.equal(1);
      const cacheFiles = (await tree(cacheDir)).filter((p) => !p.endsWith('/'));
      expect(cacheFiles).to.have.length(1);
      expect(await sha256File(path.join(cacheDir, cacheFiles[0]))).to.equal(dep.sha256);
    });
  });
});
