import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { tgzBuffer } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { cleanup, tmpDir } from '../packager/helpers.js';
import { runAsync } from '../helpers/spawn.js';
import { cli, toolkitRoot } from './helpers.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('zips made by `package`, staged by their own bin/supply', () => {
  afterEach(cleanup);

  context('when unzipped and staged through its own bin/supply with the HTTP server stopped', () => {
    it('installs the sidecar from the zip and declares it in launch.yml', async function () {
      const server = await TestServer.start();
      const agent = await tmpDir('sbp-agent-');
      await fs.mkdir(path.join(agent, 'bin'));
      await fs.writeFile(path.join(agent, 'bin', 'agent'), '#!/bin/sh\necho agent\n', { mode: 0o755 });
      const tgz = path.join(agent, 'agent.tgz');
      expect(spawnSync('tar', ['-czf', tgz, '-C', agent, 'bin']).status).to.equal(0);
      const body = await fs.readFile(tgz);
      server.route('/agent-1.0.0.tgz', serve.bytes(body));
      // a staging runtime archive (a cached zip keeps only its bin/node)
      const nodeTgz = await tgzBuffer({ 'bin/node': '#!/bin/sh\necho not node\n' });
      server.route('/node.tgz', serve.bytes(nodeTgz));
      const toolkit = await toolkitRoot({ uri: server.url('/node.tgz'), sha256: sha(nodeTgz) });
      if (toolkit.bundle === 'placeholder') {
        await server.close();
        this.skip(); // no supply bundle could be built: nothing to stage with
      }

      const work = await tmpDir('sbp-stage-');
      expect((await cli(['init', 'bp', '--name', 'agent', '--toolkit-root', toolkit.root], { cwd: work })).code).to.equal(0);
      const bp = path.join(work, 'bp');
      await fs.writeFile(path.join(bp, 'agent.tgz'), body);
      const upd = await cli(['dependency', 'update', 'agent', '--version', '1.0.0', '--uri', server.url('/agent-1.0.0.tgz'), '--file', 'agent.tgz', '--default'], { cwd: bp });
      expect(upd.code, upd.stderr).to.equal(0);
      const pkg = await cli(['package', '--cached', '--stack', 'cflinuxfs4', '--json', '--cachedir', path.join(work, 'cache')], { cwd: bp, env: { HOME: work } });
      expect(pkg.code, pkg.stderr).to.equal(0);
      await server.close();

      const unpacked = path.join(work, 'unpacked');
      expect(spawnSync('unzip', ['-q', JSON.parse(pkg.stdout).zipPath, '-d', unpacked]).status).to.equal(0);
      const [build, cache, deps] = ['app', 'app-cache', 'deps'].map((d) => path.join(work, d));
      for (const d of [build, cache, deps]) await fs.mkdir(d);
      const staged = spawnSync(path.join(unpacked, 'bin', 'supply'), [build, cache, deps, '0'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, CF_STACK: 'cflinuxfs4', HOME: work },
      });
      expect(staged.status, staged.stdout + staged.stderr).to.equal(0);
      expect(staged.stdout).not.to.include('Download [');
      const launch = YAML.parse(await fs.readFile(path.join(deps, '0', 'launch.yml'), 'utf8'));
      expect(launch.processes.map((p: { type: string }) => p.type)).to.deep.equal(['agent']);
      expect(launch.processes[0].platforms.cloudfoundry.sidecar_for).to.deep.equal(['web']);
      expect(YAML.parse(await fs.readFile(path.join(deps, '0', 'config.yml'), 'utf8'))).to.deep.include({ name: 'agent', version: '0.1.0' });
    });
  });

  context('when the zip is uncached', () => {
    it('stages by downloading the dependency from its uri', async function () {
      const server = await TestServer.start();
      try {
        const agent = await tmpDir('sbp-agent-');
        await fs.mkdir(path.join(agent, 'bin'));
        await fs.writeFile(path.join(agent, 'bin', 'agent'), '#!/bin/sh\necho agent\n', { mode: 0o755 });
        const tgz = path.join(agent, 'agent.tgz');
        expect(spawnSync('tar', ['-czf', tgz, '-C', agent, 'bin']).status).to.equal(0);
        server.route('/agent-1.0.0.tgz', serve.bytes(await fs.readFile(tgz)));
        const toolkit = await toolkitRoot({ uri: server.url('/node.tgz'), sha256: sha('unused') });
        if (toolkit.bundle === 'placeholder') this.skip();
        const work = await tmpDir('sbp-stage-');
        await cli(['init', 'bp', '--name', 'agent', '--toolkit-root', toolkit.root], { cwd: work });
        const bp = path.join(work, 'bp');
        expect((await cli(['dependency', 'update', 'agent', '--version', '1.0.0', '--uri', server.url('/agent-1.0.0.tgz'), '--default'], { cwd: bp })).code).to.equal(0);
        const pkg = await cli(['package', '--stack', 'cflinuxfs4', '--json'], { cwd: bp, env: { HOME: work } });
        expect(pkg.code, pkg.stderr).to.equal(0);
        const unpacked = path.join(work, 'unpacked');
        expect(spawnSync('unzip', ['-q', JSON.parse(pkg.stdout).zipPath, '-d', unpacked]).status).to.equal(0);
        const [build, cache, deps] = ['app', 'app-cache', 'deps'].map((d) => path.join(work, d));
        for (const d of [build, cache, deps]) await fs.mkdir(d);
        const before = server.count('/agent-1.0.0.tgz');
        // asynchronous: the test server in this process must keep answering while supply runs
        const staged = await runAsync(path.join(unpacked, 'bin', 'supply'), [build, cache, deps, '0'], { env: { PATH: process.env.PATH, CF_STACK: 'cflinuxfs4', HOME: work } });
        expect(staged.status, staged.stdout + staged.stderr).to.equal(0);
        expect(staged.stdout).to.include(`Download [${server.url('/agent-1.0.0.tgz')}]`);
        expect(server.count('/agent-1.0.0.tgz')).to.equal(before + 1);
      } finally {
        await server.close();
      }
    });
  });
});
