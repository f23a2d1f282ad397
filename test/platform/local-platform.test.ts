// The local platform end to end with real child processes: a node app plus the handmade
// sidecar, tagged logs, launcher env and profile.d arguments, crash/restart, clean delete.

import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalPlatform } from '../../src/platform/local/index.js';
import { portAnswers, freePort } from '../../src/platform/local/ports.js';
import { DeployError, type Deployment } from '../../src/platform/types.js';
import { eventually, FINAL_BP, HANDMADE_BP, nodeWebApp, tempDir, writeTree } from './helpers.js';

/** Pids of live processes whose environment mentions `needle` (an app env var of this test). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone already, or not ours.
    }
  }
  return found;
}

describe('LocalPlatform', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let platform: LocalPlatform;
  let deployment: Deployment | undefined;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    platform = new LocalPlatform({
      hostEnv: { PATH: process.env.PATH },
      workRoot: path.join(root, 'work'),
      backoffMs: () => 50,
      stopGraceMs: 500,
      healthCheckTimeoutMs: 10000,
    });
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
    await cleanup();
  });

  async function pushWithSidecar(extraEnv: Record<string, string> = {}) {
    const sidecarPort = await freePort();
    const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
    deployment = await platform.deploy({
      dir: appDir,
      name: 'demo',
      buildpacks: [HANDMADE_BP, FINAL_BP],
      env: { HANDMADE_PORT: String(sidecarPort), ...extraEnv },
      memoryMb: 256,
    });
    return { deployment, sidecarPort };
  }

  describe('#deploy', () => {
    context('when a supply buildpack declares a sidecar', () => {
      it('runs the app and the sidecar side by side, with tagged logs', async () => {
        const { deployment: d } = await pushWithSidecar();
        expect(d.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(await d.get('/')).to.deep.equal({ status: 200, body: 'hello from the app' });
        const viaApp = await eventually(async () => {
          const r = await d.get('/sidecar');
          if (r.status !== 200) throw new Error(r.body);
          return r;
        });
        expect(viaApp.body).to.equal('hello from the handmade sidecar (MEMORY_LIMIT=32m)\n');
        expect((await d.get('/env/MEMORY_LIMIT')).body).to.equal('224m');
        // container mode (always on Linux CI): the droplet at /home/vcap, HOME the app dir
        expect((await d.get('/env/DEPS_DIR')).body).to.equal('/home/vcap/deps');
        expect((await d.get('/env/HOME')).body).to.equal('/home/vcap/app');
        expect(d.stagingLogs).to.include('[STG/0] OUT -----> Handmade sidecar buildpack');
        expect(d.stagingResult.sidecars).to.have.length(1);
        const logs = d.logs();
        expect(logs).to.include('[APP/PROC/WEB/0] OUT Invoking pre-start scripts.\n');
        expect(logs).to.include('[APP/PROC/WEB/0] OUT Invoking start command.\n');
        expect(logs).to.match(/\[APP\/PROC\/WEB\/0\] OUT app listening on \d+/);
        expect(logs).to.match(/\[APP\/PROC\/WEB\/SIDECAR\/HANDMADE\/0\] OUT handmade sidecar listening on \d+/);
        const procs = await d.processes();
        expect(procs.map((p) => `${p.name}:${p.kind}:${p.origin ?? '-'}:${p.running}`)).to.deep.equal([
          'web:web:-:true',
          'handmade:sidecar:buildpack:true',
        ]);
      });

      it('sources profile.d scripts with $1 = app dir and $2 = the command', async () => {
        const { deployment: d } = await pushWithSidecar();
        const appDir = (await d.get('/env/HOME')).body;
        const logs = d.logs();
        expect(logs).to.include(`[APP/PROC/WEB/0] OUT handmade profile.d: dir=${appDir} command=node server.js\n`);
        expect(logs).to.include(
          `[APP/PROC/WEB/SIDECAR/HANDMADE/0] OUT handmade profile.d: dir=${appDir} command=node $DEPS_DIR/0/bin/listener.js\n`,
        );
        expect((await d.get('/env/HANDMADE_PROFILE_SEEN')).body).to.equal('yes');
      });
    });

    context('when the sidecar is killed', () => {
      it('stops the instance, logs the crash and restarts it', async () => {
        const { deployment: d } = await pushWithSidecar();
        await d.kill('handmade');
        await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 15000 });
        expect(d.restartCount).to.equal(1);
        const r = await eventually(async () => {
          const res = await d.get('/sidecar');
          if (res.status !== 200) throw new Error(res.body);
          return res;
        });
        expect(r.body).to.include('hello from the handmade sidecar');
        const logs = d.logs();
        expect(logs).to.include('[APP/PROC/WEB/SIDECAR/HANDMADE/0] OUT Exit status 137\n');
        expect(logs).to.match(
          /\[API\/0\] OUT App instance exited with guid [0-9a-f-]+ payload: \{.*"reason"=>"CRASHED", "exit_description"=>"APP\/PROC\/WEB\/SIDECAR\/HANDMADE: Exited with status 137", "crash_count"=>1, /,
        );
      });
    });

    context('when the web process is killed', () => {
      it('restarts the instance too', async () => {
        const { deployment: d } = await pushWithSidecar();
        await d.kill('web');
        await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 15000 });
        expect(d.logs()).to.include('"exit_description"=>"APP/PROC/WEB: Exited with status 137"');
        expect((await d.get('/')).status).to.equal(200);
      });
    });
  });

  describe('#delete', () => {
    it('leaves no process and no bound port', async () => {
      const marker = `MARKER=${path.basename(root)}`;
      const { deployment: d, sidecarPort } = await pushWithSidecar({ MARKER: path.basename(root) });
      const port = Number(new URL(d.url).port);
      expect(await processesMentioning(marker)).to.have.length.greaterThan(1);
      await d.delete();
      expect(await processesMentioning(marker)).to.deep.equal([]);
      expect(await portAnswers(port)).to.equal(false);
      expect(await portAnswers(sidecarPort)).to.equal(false);
    });
  });

  context('failure cases', () => {
    it('rejects with the staging logs when staging fails', async () => {
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const nosupply = await writeTree(path.join(root, 'nosupply'), { 'bin/detect#x': '#!/bin/sh\nexit 0\n' });
      const err = await platform.deploy({ dir: appDir, buildpacks: [nosupply, FINAL_BP] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DeployError);
      expect((err as DeployError).phase).to.equal('staging');
      expect((err as DeployError).exitStatus).to.equal(225);
      expect((err as DeployError).logs).to.include('[STG/0] OUT Exit status 225');
    });

    it('rejects a buildpack sidecar named like a user sidecar', async () => {
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const err = (await platform
        .deploy({ dir: appDir, buildpacks: [HANDMADE_BP, FINAL_BP], sidecars: [{ name: 'handmade', command: 'sleep 100', process_types: ['web'] }] })
        .catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('sidecars');
      expect(err.message).to.equal("Buildpack defined sidecar 'handmade' conflicts with an existing user-defined sidecar. Consider renaming 'handmade'.");
    });

    it('rejects sidecar memory not below the process memory', async () => {
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const err = (await platform.deploy({ dir: appDir, buildpacks: [HANDMADE_BP, FINAL_BP], memoryMb: 32 }).catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('sidecars');
      expect(err.message).to.equal('The memory allocation defined is too large to run with the dependent "web" process');
    });

    it('rejects an app that crashes on start, with its logs', async () => {
      const appDir = await writeTree(path.join(root, 'app'), { 'app.sh': 'echo "going down"; exit 4\n' });
      const err = (await platform.deploy({ dir: appDir, buildpacks: [FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('starting');
      expect(err.message).to.include('APP/PROC/WEB: Exited with status 4');
      expect(err.logs).to.include('[APP/PROC/WEB/0] OUT going down\n');
    });
  });
});
