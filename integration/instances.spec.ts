// Issue 11 "How an instance lives", on the local platform with real processes: Diego's back-off
// on a compressed clock (time scale 0.01), first starts that keep crashing until delete, exit
// texts, each health-check type, instances: 2 (own containers, INSTANCE_INDEX, tags), and a
// worker process type with its own sidecar.

import { expect } from 'chai';
import path from 'node:path';
import { LocalPlatform } from '../src/platform/local/index.js';
import { DeployError, type Deployment } from '../src/platform/types.js';
import { FINAL_BP, eventually, tempDir, writeTree } from '../test/platform/helpers.js';

/** A node web app: /env/NAME echoes a variable, /health answers 200 once HEALTHY_AFTER_MS passed. */
const SERVER = `const http = require('node:http');
const started = Date.now();
http.createServer((req, res) => {
  if (req.url.startsWith('/env/')) return res.end(String(process.env[req.url.slice(5)]));
  if (req.url === '/health') { res.statusCode = Date.now() - started >= Number(process.env.HEALTHY_AFTER_MS || 0) ? 200 : 503; return res.end(); }
  if (req.url === '/bad') { res.statusCode = 404; return res.end(); }
  res.end('hello');
}).listen(Number(process.env.PORT), () => console.log('web listening'));
`;

describe('how an instance lives on the local platform (issue 11)', function () {
  this.timeout(120000);
  let root: string;
  let cleanup: () => Promise<void>;
  let deployment: Deployment | undefined;

  before(async () => ({ dir: root, cleanup } = await tempDir('instances-')));
  after(() => cleanup());
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
  });

  const platform = (extra: Partial<ConstructorParameters<typeof LocalPlatform>[0]> = {}) =>
    new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), stopGraceMs: 1000, timeScale: 0.01, ...extra });

  async function app(name: string, manifest: string, files: Record<string, string> = {}): Promise<{ dir: string; manifest: string }> {
    const dir = await writeTree(path.join(root, name), { 'server.js': SERVER, Procfile: 'web: node server.js\n', 'manifest.yml': manifest, ...files });
    return { dir, manifest: path.join(dir, 'manifest.yml') };
  }
  const lines = (d: Deployment | DeployError, re: RegExp) => ('logs' in d && typeof d.logs === 'function' ? d.logs() : (d as DeployError).logs).split('\n').filter((l) => re.test(l));

  it("restarts a crashing web with Diego's back-off on the time scale, and keeps a first start that crashes until delete", async () => {
    const a = await app('crashy', 'applications:\n- name: crashy\n  memory: 128M\n', { Procfile: 'web: echo "crashing"; exit 3\n' });
    const err = (await platform({ onFirstStartFailure: 'keep' }).deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.message).to.equal('Start unsuccessful: APP/PROC/WEB: Exited with status 3');
    deployment = err.deployment;
    expect(deployment, 'the app stays').to.not.equal(undefined);
    const d = deployment!;
    // crash 1 and 2 restart at once; crash 3 waits 30 s of platform time (0.3 s here), crash 4 1m0s
    await eventually(async () => expect(lines(d, /crash_count 4\)/)).to.have.length(1), 100, 100);
    const restarts = lines(d, /\[CELL\/0\] OUT Instance 0 of process web crashed/);
    expect(restarts.slice(0, 4).map((l) => l.replace(/^.*crashed /, ''))).to.deep.equal([
      '(crash_count 1): restarting now',
      '(crash_count 2): restarting now',
      '(crash_count 3): restarting in 30s',
      '(crash_count 4): restarting in 1m0s',
    ]);
    const crashed = d.logs().split('\n');
    const first = crashed.findIndex((l) => l.includes('Process has crashed with type: "web"'));
    expect(crashed[first + 1]).to.match(/^\[API\/0\] OUT App instance exited with guid \S+ payload: \{.*"exit_description"=>"APP\/PROC\/WEB: Exited with status 3", "crash_count"=>1, /);
    expect(lines(d, /\[APP\/PROC\/WEB\/0\] OUT crashing/).length).to.be.at.least(4);
    await d.delete();
    const after = lines(d, /OUT crashing/).length;
    await new Promise((r) => setTimeout(r, 700));
    expect(lines(d, /OUT crashing/).length, 'no restart after delete').to.equal(after);
  });

  it('reports a clean exit as Codependent step exited', async () => {
    const a = await app('clean-exit', 'applications:\n- name: clean-exit\n  memory: 128M\n  health-check-type: process\n', { Procfile: 'web: sleep 0.5; exit 0\n' });
    deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] });
    const d = deployment;
    await eventually(async () => expect(d.logs()).to.include('"exit_description"=>"Codependent step exited"'), 100, 100);
  });

  context('health checks', () => {
    it('http: healthy once the endpoint answers 200; process: no check, running at once', async () => {
      const a = await app('http-hc', 'applications:\n- name: http-hc\n  memory: 128M\n  health-check-type: http\n  health-check-http-endpoint: /health\n  env: {HEALTHY_AFTER_MS: "500"}\n');
      deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] });
      expect(deployment.logs()).to.include('[CELL/0] OUT Container became healthy');
      expect((await deployment.get('/health')).status).to.equal(200);
      await deployment.delete();
      const b = await app('process-hc', 'applications:\n- name: process-hc\n  memory: 128M\n  health-check-type: process\n', { Procfile: 'web: echo "no port at all"; exec sleep 600\n' });
      deployment = await platform().deploy({ dir: b.dir, manifest: b.manifest, buildpacks: [FINAL_BP] });
      const d = deployment;
      expect(d.logs()).to.not.include('Starting health monitoring of container');
      await eventually(async () => expect(d.logs()).to.include('[APP/PROC/WEB/0] OUT no port at all'));
    });
    it('http: fails after the start timeout with the platform texts', async () => {
      const a = await app('http-bad', 'applications:\n- name: http-bad\n  memory: 128M\n  health-check-type: http\n  health-check-http-endpoint: /bad\n  timeout: 3\n');
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err.logs).to.include('[CELL/0] ERR Failed after 3s: startup health check never passed.');
      expect(err.logs).to.match(/\[HEALTH\/0\] ERR failed to make HTTP request to '\/bad' on port \d+: received status code 404 in \d+ms/);
      expect(err.message).to.match(/^Start unsuccessful: Instance never healthy after 3s: failed to make HTTP request to '\/bad' on port \d+: received status code 404/);
    });
    it('port: an app that never listens fails with the port check texts', async () => {
      const a = await app('port-bad', 'applications:\n- name: port-bad\n  memory: 128M\n  timeout: 2\n', { Procfile: 'web: exec sleep 600\n' });
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err.logs).to.include('Failed after 2s: startup health check never passed.');
      expect(err.message).to.match(/^Start unsuccessful: Instance never healthy after 2s: failed to make TCP connection to [\d.]+:\d+: dial tcp [\d.]+:\d+: connect: connection refused$/);
    });
  });

  it('runs instances: 2, each its own instance with its INSTANCE_INDEX and tag, behind one route', async () => {
    const a = await app('two', 'applications:\n- name: two\n  memory: 128M\n  instances: 2\n');
    deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] });
    const d = deployment;
    // healthy is a TCP connect: the line the app printed before it may still be in the log pipe
    await eventually(async () => {
      expect(lines(d, /^\[APP\/PROC\/WEB\/0\] OUT web listening/)).to.have.length(1);
      expect(lines(d, /^\[APP\/PROC\/WEB\/1\] OUT web listening/)).to.have.length(1);
    });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await d.get('/env/INSTANCE_INDEX')).body);
    expect([...seen].sort()).to.deep.equal(['0', '1']);
    const guids = new Set<string>();
    for (let i = 0; i < 6; i++) guids.add((await d.get('/env/CF_INSTANCE_GUID')).body);
    expect(guids.size).to.equal(2);
  });

  it('runs a worker process type with its own sidecar, and not the web sidecar', async () => {
    const a = await app(
      'with-worker',
      [
        'applications:',
        '- name: with-worker',
        '  memory: 256M',
        '  processes:',
        '  - {type: worker, command: "echo worker up; exec sleep 600", instances: 1, memory: 128M}',
        '  sidecars:',
        '  - {name: worker-side, command: "echo worker sidecar up with $MEMORY_LIMIT; exec sleep 600", process_types: [worker], memory: 32M}',
        '  - {name: web-side, command: "echo web sidecar up; exec sleep 600", process_types: [web], memory: 32M}',
        '',
      ].join('\n'),
    );
    deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] });
    const d = deployment;
    await eventually(async () => {
      expect(lines(d, /^\[APP\/PROC\/WORKER\/0\] OUT worker up$/)).to.have.length(1);
      expect(lines(d, /^\[APP\/PROC\/WORKER\/SIDECAR\/WORKER-SIDE\/0\] OUT worker sidecar up with 32m$/)).to.have.length(1);
      expect(lines(d, /^\[APP\/PROC\/WEB\/SIDECAR\/WEB-SIDE\/0\] OUT web sidecar up$/)).to.have.length(1);
    });
    expect(lines(d, /WORKER\/SIDECAR\/WEB-SIDE|WEB\/SIDECAR\/WORKER-SIDE/)).to.deep.equal([]);
  });
});
