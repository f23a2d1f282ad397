// More of the local platform: user sidecars from an app manifest, the command override, the app
// cache across pushes, health-check failure, and misuse of kill.

import { expect } from 'chai';
import path from 'node:path';
import { LocalPlatform } from '../../src/platform/local/index.js';
import { freePort } from '../../src/platform/local/ports.js';
import { DeployError, type Deployment } from '../../src/platform/types.js';
import { eventually, FINAL_BP, nodeWebApp, supplyBuildpack, tempDir, writeTree } from './helpers.js';

describe('LocalPlatform (manifest, cache, rules)', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let platform: LocalPlatform;
  const deployments: Deployment[] = [];

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    platform = new LocalPlatform({
      hostEnv: { PATH: process.env.PATH },
      workRoot: path.join(root, 'work'),
      backoffMs: () => 20,
      stopGraceMs: 300,
      healthCheckTimeoutMs: 10000,
    });
  });
  afterEach(async () => {
    for (const d of deployments.splice(0)) await d.delete();
    await cleanup();
  });

  describe('#deploy', () => {
    context('when the app manifest declares a user sidecar', () => {
      it('runs it with origin user and its own MEMORY_LIMIT', async () => {
        const port = await freePort();
        const appDir = await writeTree(path.join(root, 'app'), {
          ...nodeWebApp(),
          'sidecar.js': `require('node:http').createServer((q, s) => s.end('user sidecar ' + process.env.MEMORY_LIMIT)).listen(${port}, '127.0.0.1');\n`,
          'manifest.yml': `applications:
- name: with-user-sidecar
  memory: 256M
  env:
    HANDMADE_PORT: ${port}
  sidecars:
  - name: helper
    process_types: [web]
    command: node sidecar.js
    memory: 16M
`,
        });
        const d = await platform.deploy({ dir: appDir, buildpacks: [FINAL_BP], manifest: path.join(appDir, 'manifest.yml') });
        deployments.push(d);
        expect(d.name).to.equal('with-user-sidecar');
        const body = await eventually(async () => {
          const r = await d.get('/sidecar');
          if (r.status !== 200) throw new Error(r.body);
          return r.body;
        });
        expect(body).to.equal('user sidecar 16m');
        expect((await d.get('/env/MEMORY_LIMIT')).body).to.equal('240m');
        expect((await d.processes()).find((p) => p.name === 'helper')).to.deep.include({ origin: 'user', memory_in_mb: 16, running: true });
        expect(d.logs()).to.include('[APP/PROC/WEB/SIDECAR/HELPER/0] OUT Invoking start command.');
      });
    });

    context('when a command is given', () => {
      it('overrides the staged web command', async () => {
        const appDir = await writeTree(path.join(root, 'app'), { ...nodeWebApp(), 'other.js': 'require("node:http").createServer((q, s) => s.end("other")).listen(Number(process.env.PORT));\n' });
        const d = await platform.deploy({ dir: appDir, buildpacks: [FINAL_BP], command: 'node other.js' });
        deployments.push(d);
        expect((await d.get('/')).body).to.equal('other');
        expect(d.stagingResult.process_types.web).to.equal('node server.js');
      });
    });

    context('when an onLog listener is configured', () => {
      it('streams every line, staging first, as it happens', async () => {
        const lines: string[] = [];
        const streaming = new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), stopGraceMs: 300, onLog: (l) => lines.push(l) });
        const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
        const d = await streaming.deploy({ dir: appDir, buildpacks: [FINAL_BP] });
        deployments.push(d);
        expect(lines.find((l) => l.startsWith('[STG/0]'))).to.equal('[STG/0] OUT Creating container');
        expect(lines.join('\n') + '\n').to.equal(d.logs());
      });
    });

    context('when the same app name is pushed twice', () => {
      it('keeps the app cache between pushes', async () => {
        const bp = await supplyBuildpack(path.join(root, 'counter'), 'n=$(cat "$2/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$2/n"; echo "push number $n"');
        const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
        const first = await platform.deploy({ dir: appDir, name: 'cached', buildpacks: [bp, FINAL_BP] });
        await first.delete();
        const second = await platform.deploy({ dir: appDir, name: 'cached', buildpacks: [bp, FINAL_BP] });
        deployments.push(second);
        expect(second.stagingLogs).to.include('[STG/0] OUT push number 2\n');
      });
    });
  });

  context('failure cases', () => {
    it('fails the start when web never answers on its port', async () => {
      const quick = new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), stopGraceMs: 200, healthCheckTimeoutMs: 300 });
      const appDir = await writeTree(path.join(root, 'app'), { 'app.sh': 'echo "not listening"; sleep 30\n' });
      const err = (await quick.deploy({ dir: appDir, buildpacks: [FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('starting');
      expect(err.message).to.include('Instance never healthy after 300ms');
      expect(err.logs).to.include('"reason"=>"CRASHED"');
    });

    it('refuses to kill a process the instance does not have', async () => {
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const d = await platform.deploy({ dir: appDir, buildpacks: [FINAL_BP] });
      deployments.push(d);
      await d.kill('nope').then(
        () => expect.fail('killed'),
        (e: unknown) => expect((e as Error).message).to.equal("no process named 'nope' in the instance"),
      );
    });

    it('fails the push when a user sidecar is invalid, before staging', async () => {
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const err = (await platform
        .deploy({ dir: appDir, buildpacks: [FINAL_BP], memoryMb: 64, sidecars: [{ name: 's', command: 'x', process_types: ['web'], memory: 64 }] })
        .catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('sidecars');
      expect(err.logs).not.to.include('[STG/0]');
    });

    it('reports a manifest that cannot be read', async () => {
      const err = (await platform.deploy({ dir: root, buildpacks: [FINAL_BP], manifest: path.join(root, 'missing.yml') }).catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('manifest');
    });
  });
});
