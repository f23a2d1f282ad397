// The reference config-server buildpack pushed with the fixture node app, on PLATFORM=local
// (default) or cf: uncached, cached and fully offline zips; the sidecar answering through the app;
// tagged logs; the staging result; crash and restart; per-app overrides; Cloud Controller's rules.

import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageBuildpack } from '../src/packager/package.js';
import { DeployError, type AppSpec, type Deployment } from '../src/platform/index.js';
import { finalBuildpack, fromSidecar, getUntil, logged, makeHarness, PLATFORM, sidecarPort, type Harness } from './helpers/platform.js';
import { NODE_APP, REPO, referenceBuildpack, type ReferenceBuildpack } from './helpers/reference-buildpack.js';

const WEB = '[APP/PROC/WEB/0]';
const SIDECAR = '[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0]';

describe(`the config-server buildpack on the ${PLATFORM} platform`, function () {
  this.timeout(120000);
  let h: Harness;
  let ref: ReferenceBuildpack;
  let cachedZip: string;
  let uncachedZip: string;
  let zipDir: string;
  let deployment: Deployment | undefined;
  let pushes = 0;

  before(async () => {
    h = await makeHarness();
    // Two releases: the manifest's default 0.0.x picks 0.0.0; CONFIG_SERVER_VERSION=0.1.x picks 0.1.0.
    ref = await referenceBuildpack({ versions: ['0.0.0', '0.1.0'], keepNode: PLATFORM === 'cf' });
    cachedZip = (await ref.package(true)).zipPath;
    if (PLATFORM === 'cf') {
      // A foundation cannot reach this machine's 127.0.0.1: uncached, it downloads the real artifact.
      zipDir = await mkdtemp(path.join(os.tmpdir(), 'integration-zips-'));
      uncachedZip = (await packageBuildpack({ dir: REPO, stack: 'cflinuxfs4', cached: false, outputDir: zipDir })).zipPath;
    } else {
      uncachedZip = (await ref.package(false)).zipPath;
    }
  });
  after(async () => {
    await ref?.cleanup();
    if (zipDir) await rm(zipDir, { recursive: true, force: true });
    await h?.cleanup();
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
  });

  /** The node app with the sidecar buildpack first and the final buildpack last. */
  async function spec(buildpack: string, env: Record<string, string> = {}, extra: Partial<AppSpec> = {}): Promise<AppSpec> {
    pushes++;
    return {
      dir: NODE_APP,
      name: `node-app-${pushes}`,
      buildpacks: [buildpack, finalBuildpack()],
      env: { CONFIG_SERVER_PORT: await sidecarPort(), ...env },
      memoryMb: 256,
      ...extra,
    };
  }

  async function push(buildpack: string, env: Record<string, string> = {}, extra: Partial<AppSpec> = {}): Promise<Deployment> {
    deployment = await h.platform.deploy(await spec(buildpack, env, extra));
    return deployment;
  }

  /** A deploy expected to fail: its DeployError (a success is deleted and fails the spec). */
  async function failedPush(buildpack: string, env: Record<string, string> = {}, extra: Partial<AppSpec> = {}): Promise<DeployError> {
    const outcome = await h.platform.deploy(await spec(buildpack, env, extra)).then(
      (d) => d,
      (e: unknown) => e,
    );
    if (!(outcome instanceof DeployError)) {
      deployment = outcome as Deployment;
      expect.fail(`the push should have failed; it ran at ${deployment.url}`);
    }
    return outcome;
  }

  context('when the buildpack is uncached', () => {
    it('downloads config-server at staging and the sidecar answers /config through the app', async () => {
      const d = await push(uncachedZip);
      expect(d.stagingLogs).to.match(/-----> Installing config-server 0\.0\.0/);
      expect(d.stagingLogs).to.include('Download [');
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });
  });

  context('when the buildpack is cached', () => {
    it('copies config-server from the zip, never downloading it', async () => {
      const d = await push(cachedZip);
      expect(d.stagingLogs).to.include('Copy [');
      expect(d.stagingLogs).to.not.include('Download [');
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });

    it('stages and runs with every network attempt failing (the URIs at a closed port)', async () => {
      const offline = await referenceBuildpack({ keepNode: PLATFORM === 'cf' });
      try {
        const zip = (await offline.package(true)).zipPath;
        await offline.stopServer();
        const seen = offline.requests.length;
        // Proxies at the same closed port: any download attempt would fail too.
        const closed = offline.releases[0].uri.replace(/\/[^/]*$/, '');
        const d = await push(zip, { http_proxy: closed, https_proxy: closed, HTTP_PROXY: closed, HTTPS_PROXY: closed });
        expect(d.stagingLogs).to.include('Copy [');
        expect(d.stagingLogs).to.not.include('Download [');
        expect(offline.requests.length).to.equal(seen);
        expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
      } finally {
        await deployment?.delete();
        deployment = undefined;
        await offline.cleanup();
      }
    });
  });

  context('when the app runs', () => {
    it('tags the app and sidecar logs and lists the sidecar in the staging result', async () => {
      const d = await push(cachedZip);
      await getUntil(d, '/config', fromSidecar);
      const logs = await logged(d, `${SIDECAR} OUT config-server listening on`);
      expect(logs).to.include(`${WEB} OUT app listening on`);
      expect(logs).to.include(`${SIDECAR} OUT config-server listening on`);
      const sidecars = d.stagingResult.sidecars ?? [];
      expect(sidecars.map((s) => ({ name: s.name, process_types: s.process_types, memory: s.memory }))).to.deep.equal([
        { name: 'config-server', process_types: ['web'], memory: 64 },
      ]);
      expect(sidecars[0].command).to.match(/config-server/);
    });

    it('restarts the instance when the sidecar is killed, and the app serves again', async () => {
      const d = await push(cachedZip);
      await getUntil(d, '/config', fromSidecar);
      await d.kill('config-server');
      await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
      expect(d.logs()).to.include('"exit_description"=>"APP/PROC/WEB/SIDECAR/CONFIG-SERVER: Exited with status 137"');
      expect(d.logs()).to.include('"crash_count"=>1');
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });

    it('restarts the instance when the app is killed, and the app serves again', async () => {
      const d = await push(cachedZip);
      await getUntil(d, '/config', fromSidecar);
      await d.kill('web');
      await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
      expect(d.logs()).to.include('"exit_description"=>"APP/PROC/WEB: Exited with status 137"');
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });
  });

  context('when the app developer overrides the sidecar', () => {
    it('installs the version CONFIG_SERVER_VERSION asks for', async () => {
      const d = await push(cachedZip, { CONFIG_SERVER_VERSION: '0.1.x' });
      expect(d.stagingLogs).to.include('Sidecar config-server: using CONFIG_SERVER_VERSION=0.1.x');
      expect(d.stagingLogs).to.match(/-----> Installing config-server 0\.1\.0/);
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });

    it('gives the sidecar the memory CONFIG_SERVER_MEMORY asks for', async () => {
      const d = await push(cachedZip, { CONFIG_SERVER_MEMORY: '128' });
      expect(d.stagingResult.sidecars?.map((s) => s.memory)).to.deep.equal([128]);
      const sidecar = (await d.processes()).find((p) => p.name === 'config-server');
      expect(sidecar?.memory_in_mb).to.equal(128);
    });

    it('runs no sidecar when CONFIG_SERVER_DISABLED=true', async () => {
      const d = await push(cachedZip, { CONFIG_SERVER_DISABLED: 'true' });
      expect(d.stagingLogs).to.include('Skipping sidecar config-server: CONFIG_SERVER_DISABLED is set');
      expect(d.stagingResult.sidecars ?? []).to.deep.equal([]);
      expect((await d.processes()).map((p) => p.name)).to.deep.equal(['web']);
      expect((await getUntil(d, '/', (r) => r.status === 200)).status).to.equal(200);
      expect((await d.get('/config')).status).to.equal(502);
    });
  });

  context('failure cases', () => {
    it('refuses a buildpack sidecar named like a user sidecar, with the platform message', async () => {
      const err = await failedPush(cachedZip, {}, { sidecars: [{ name: 'config-server', command: 'sleep 1000', process_types: ['web'] }] });
      expect(err.phase).to.equal('sidecars');
      expect(err.message).to.include("Buildpack defined sidecar 'config-server' conflicts with an existing user-defined sidecar. Consider renaming 'config-server'.");
    });

    it('refuses sidecar memory that is not less than the process memory', async () => {
      const err = await failedPush(cachedZip, {}, { memoryMb: 64 });
      expect(err.phase).to.equal('sidecars');
      expect(err.message).to.include('The memory allocation defined is too large to run with the dependent "web" process');
    });

    it('fails staging on a version no release matches, naming the versions there are', async () => {
      const err = await failedPush(cachedZip, { CONFIG_SERVER_VERSION: '9.x' });
      expect(err.phase).to.equal('staging');
      expect(err.message).to.include('Failed to run all supply scripts');
      expect(err.logs).to.match(/\*\*ERROR\*\*.* no match found for 9\.x in \[0\.0\.0 0\.1\.0\]/);
    });
  });
});
