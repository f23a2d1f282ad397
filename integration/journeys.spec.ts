// Journeys end to end on PLATFORM=local (default) or cf: a supply buildpack written by hand (a
// shell bin/supply writing its own launch.yml) gets its sidecar run; and the sidecar tutorial of
// the source documents (journey 5) reproduced with its manifest and the config-server buildpack.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveBuildpacks } from '../src/cli/commands/push.js';
import { readAppManifest, type Deployment } from '../src/platform/index.js';
import { finalBuildpack, fromSidecar, getUntil, logged, makeHarness, PLATFORM, sidecarPort, type Harness } from './helpers/platform.js';
import { HANDMADE_BP, NODE_APP, REPO, RUBY_APP, referenceBuildpack, type ReferenceBuildpack } from './helpers/reference-buildpack.js';

/** An app whose `GET /sidecar` asks the handmade sidecar on $HANDMADE_PORT. */
const HANDMADE_APP: Record<string, string> = {
  'package.json': '{ "name": "handmade-app", "private": true }\n',
  Procfile: 'web: node server.js\n',
  'server.js': `const http = require('node:http');
http.createServer((req, res) => {
  if (req.url !== '/sidecar') return res.end('hello from the app\\n');
  http.get({ host: '127.0.0.1', port: Number(process.env.HANDMADE_PORT), path: '/' }, (up) => {
    let body = '';
    up.on('data', (c) => (body += c));
    up.on('end', () => res.end(body));
  }).on('error', (e) => { res.statusCode = 502; res.end(e.message); });
}).listen(Number(process.env.PORT), () => console.log('app listening on ' + process.env.PORT));
`,
};

/** Ruby with bundler can run the tutorial's own Ruby app; else its Node port stands in. */
function rubyRuns(): boolean {
  return spawnSync('bundle', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe(`journeys on the ${PLATFORM} platform`, function () {
  this.timeout(120000);
  let h: Harness;
  let deployment: Deployment | undefined;
  let tmp: string;

  before(async () => {
    h = await makeHarness();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'journeys-'));
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    await h?.cleanup();
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
  });

  context('when a supply buildpack written by hand declares a sidecar in its own launch.yml', () => {
    it('runs the sidecar beside the app, tagged, and the app reaches it', async () => {
      const app = path.join(tmp, 'handmade-app');
      await mkdir(app, { recursive: true });
      for (const [name, text] of Object.entries(HANDMADE_APP)) await writeFile(path.join(app, name), text);
      // On cf each container has its own localhost: the listener's default port will do.
      const port = PLATFORM === 'cf' ? '8089' : await sidecarPort();
      deployment = await h.platform.deploy({ dir: app, name: 'handmade-app', buildpacks: [HANDMADE_BP, finalBuildpack()], env: { HANDMADE_PORT: port }, memoryMb: 256 });
      const d = deployment;
      expect(d.stagingLogs).to.include("Declared sidecar 'handmade' in deps/0/launch.yml");
      expect(d.stagingResult.sidecars).to.deep.equal([{ name: 'handmade', process_types: ['web'], command: 'node $DEPS_DIR/0/bin/listener.js', memory: 32 }]);
      const answer = await getUntil(d, '/sidecar', (r) => r.status === 200);
      expect(answer.body).to.equal('hello from the handmade sidecar (MEMORY_LIMIT=32m)\n');
      const logs = await logged(d, '[APP/PROC/WEB/SIDECAR/HANDMADE/0] OUT handmade sidecar listening on');
      expect(logs).to.include('[APP/PROC/WEB/SIDECAR/HANDMADE/0] OUT handmade sidecar listening on');
      expect(logs).to.include('[APP/PROC/WEB/0] OUT app listening on');
    });
  });

  context('when the sidecar tutorial is reproduced (journey 5)', () => {
    let ref: ReferenceBuildpack;
    before(async () => {
      ref = await referenceBuildpack({ keepNode: PLATFORM === 'cf' });
    });
    after(() => ref?.cleanup());

    it("answers /config through the sidecar, and killing it logs the tutorial's exit_description", async () => {
      const zip = (await ref.package(true)).zipPath;
      const manifest = path.join(RUBY_APP, 'manifest.yml');
      const appManifest = await readAppManifest(manifest);
      // The manifest names config-server_buildpack and ruby_buildpack: the zip stands for the
      // first (as `push -b ZIP` does); locally the fixture final buildpack stands for the second.
      const { buildpacks } = resolveBuildpacks({
        given: [zip],
        manifestBuildpacks: appManifest.buildpacks,
        manifestDir: RUBY_APP,
        cwd: REPO,
        platform: PLATFORM,
        toolkitRoot: () => REPO,
      });
      expect(buildpacks[0]).to.equal(zip);
      const useRuby = PLATFORM === 'cf' || rubyRuns();
      const env: Record<string, string> = PLATFORM === 'cf' ? {} : { CONFIG_SERVER_PORT: await sidecarPort() };
      deployment = await h.platform.deploy({ dir: useRuby ? RUBY_APP : NODE_APP, manifest, buildpacks, env });
      const d = deployment;
      expect(d.stagingLogs).to.match(/-----> Installing config-server 0\.0\.0/);
      expect(d.stagingResult.sidecars?.map((s) => s.name)).to.deep.equal(['config-server']);
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);

      await d.kill('config-server');
      await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
      expect(d.logs()).to.match(/\[API\/0\] OUT App instance exited with guid \S+ payload: \{.*"reason"=>"CRASHED", "exit_description"=>"APP\/PROC\/WEB\/SIDECAR\/CONFIG-SERVER: Exited with status 137", "crash_count"=>1/);
      expect(fromSidecar(await getUntil(d, '/config', fromSidecar))).to.equal(true);
    });
  });
});
