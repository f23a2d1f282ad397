// Local platform under repeated crashes (issue 6): a buildpack made with this toolkit (real
// bin/supply, real launch wrapper) runs a node sidecar beside a node app; the sidecar is killed
// 20 times in a row; every kill is one restart after which the app and the sidecar serve again,
// no process piles up, and `delete` leaves no process of the instance (/proc) and no port bound.

import { expect } from 'chai';
import path from 'node:path';
import { LocalPlatform } from '../src/platform/local/index.js';
import { freePort, portAnswers } from '../src/platform/local/ports.js';
import type { Deployment } from '../src/platform/types.js';
import { serve, TestServer } from '../test/helpers/http-server.js';
import { sha256, tgzBuffer } from '../test/helpers/archives.js';
import { eventually, FINAL_BP, nodeWebApp, writeTree } from '../test/platform/helpers.js';
import { addStagingRuntime } from '../test/helpers/node-runtime.js';
import { agentManifest, makeBuildpack, processesWith, tempRoot } from './helpers/staging.js';

const KILLS = 20;

const AGENT_JS = `const http = require('node:http');
// a fresh container per start reuses pids (its own pid namespace): the start id tells them apart
const id = require('node:crypto').randomUUID();
http.createServer((req, res) => res.end('agent ' + id)).listen(Number(process.env.AGENT_PORT), '127.0.0.1', () => console.log('agent listening'));
`;

describe('reliability: local platform under repeated sidecar crashes', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  let deployment: Deployment | undefined;

  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
    await server.close();
    await root.remove();
  });

  it(`restarts the instance ${KILLS} times for ${KILLS} sidecar kills, serving after each; delete leaves nothing running`, async () => {
    const body = await tgzBuffer({ 'bin/agent': '#!/bin/sh\nexec node "$(dirname "$0")/../lib/agent.js"\n', 'lib/agent.js': AGENT_JS });
    server.route('/agent.tgz', serve.bytes(body));
    const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url('/agent.tgz'), sha256: sha256(body) }, '  memory: 32\n'));
    // the stack has no node: staging runs on the buildpack's own runtime, as in a cached zip
    await addStagingRuntime(bp);
    const agentPort = await freePort();
    const platform = new LocalPlatform({
      hostEnv: { PATH: process.env.PATH },
      workRoot: path.join(root.dir, 'work'),
      backoffMs: () => 50,
      stopGraceMs: 500,
      healthCheckTimeoutMs: 20000,
    });
    const appDir = await writeTree(path.join(root.dir, 'app'), nodeWebApp());
    const d = await platform.deploy({ dir: appDir, name: 'crashy', buildpacks: [bp, FINAL_BP], env: { AGENT_PORT: String(agentPort), HANDMADE_PORT: String(agentPort), CRASHY_MARKER: path.basename(root.dir) }, memoryMb: 256 });
    deployment = d;
    const serves = async (): Promise<string> => {
      const app = await d.get('/');
      if (app.status !== 200) throw new Error(`app: ${app.status} ${app.body}`);
      const viaApp = await d.get('/sidecar');
      if (viaApp.status !== 200) throw new Error(`sidecar: ${viaApp.status} ${viaApp.body}`);
      return viaApp.body;
    };
    let lastAgent = await eventually(serves, 100, 100);
    expect(lastAgent).to.match(/^agent [0-9a-f-]{36}$/);
    const marker = `CRASHY_MARKER=${path.basename(root.dir)}`;
    const initial = (await processesWith(marker)).length;
    expect(initial).to.be.greaterThan(1);

    for (let i = 1; i <= KILLS; i++) {
      await d.kill('agent');
      await d.waitUntilRunning({ minRestarts: i, timeoutMs: 30000 });
      expect(d.restartCount, `kill #${i}`).to.equal(i);
      const agent = await eventually(serves, 100, 100);
      expect(agent, `kill #${i}: a new sidecar process serves`).not.to.equal(lastAgent);
      lastAgent = agent;
      expect((await processesWith(marker)).length, `kill #${i}: processes pile up`).to.be.at.most(initial);
    }
    const crashes = d.logs().match(/"exit_description"=>"APP\/PROC\/WEB\/SIDECAR\/AGENT: Exited with status 137"/g) ?? [];
    expect(crashes).to.have.length(KILLS);

    const webPort = Number(new URL(d.url).port);
    await d.delete();
    deployment = undefined;
    expect(await processesWith(marker), 'processes of the instance alive after delete').to.deep.equal([]);
    expect(await portAnswers(webPort)).to.equal(false);
    expect(await portAnswers(agentPort)).to.equal(false);
  });
});
