// Issue 7 end to end on the local platform: a supply buildpack built with this toolkit (bin/
// shims + a fresh bundle of src/bin/supply.ts) declares an `agent` sidecar whose behaviour the app
// env picks (slow, never ready, hanging, crashing, ignoring SIGTERM); the order of events in the
// tagged logs (sidecar ready, app start, liveness stop, restarts, SIGKILL after the grace) is checked.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TestServer } from '../test/helpers/http-server.js';
import { LocalPlatform } from '../src/platform/local/index.js';
import { freePort } from '../src/platform/local/ports.js';
import { DeployError, type Deployment } from '../src/platform/types.js';
import { FINAL_BP, REPO, tempDir, writeTree } from '../test/platform/helpers.js';
import { buildSupplyBundle } from '../test/helpers/supply-bundle.js';
import { addStagingRuntime } from '../test/helpers/node-runtime.js';

const HOSTILE = `it's "$(touch PWNED)" \`touch PWNED\` $HOME \\n\nline2 é ☃`;

const AGENT_JS = `const http = require('node:http');
const port = Number(process.env.AGENT_PORT);
const mode = process.env.AGENT_MODE || 'ok';
const log = (m) => console.log('agent: ' + m);
let answered = 0;
log('started in mode ' + mode + ' args=' + JSON.stringify(process.argv.slice(2)) + ' token=' + JSON.stringify(process.env.AGENT_TOKEN) + ' label=' + JSON.stringify(process.env.AGENT_LABEL));
const server = http.createServer((req, res) => {
  answered++;
  if (mode === 'hang' && answered > 3) { if (answered === 4) log('no longer answering'); return; }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
function listen() {
  server.listen(port, '127.0.0.1', () => {
    log('listening on ' + port);
    if (mode === 'crash') setTimeout(() => { log('crashing with SIGKILL'); process.kill(process.pid, 'SIGKILL'); }, 1500);
  });
}
if (mode !== 'never') setTimeout(listen, mode === 'slow' ? 3000 : 0);
process.on('SIGTERM', () => {
  if (mode === 'stubborn') return log('SIGTERM ignored');
  log('SIGTERM, exiting');
  process.exit(0);
});
setInterval(() => {}, 1000);
`;

const APP_JS = `const http = require('node:http');
console.log('app: starting');
http.get({ host: '127.0.0.1', port: Number(process.env.AGENT_PORT), path: '/config/', timeout: 2000 }, (r) => {
  r.resume();
  console.log('app: first /config: ' + r.statusCode);
}).on('error', (e) => console.log('app: first /config: error ' + e.code)).on('timeout', function () { this.destroy(); });
http.createServer((req, res) => {
  if (req.url.startsWith('/env/')) return res.end(String(process.env[req.url.slice(5)]));
  res.end('ok');
}).listen(Number(process.env.PORT), () => console.log('app: listening'));
`;

describe('sidecar behaviour on the local platform (issue 7)', function () {
  this.timeout(90000);
  let root: string;
  let cleanup: () => Promise<void>;
  let bundle: string;
  let agentTgz: { uri: string; sha256: string };
  let server: TestServer | undefined;
  let deployment: Deployment | undefined;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('sidecar-behaviour-'));
    // The bundle as scripts/build.mjs makes it, from the current sources (dist/ may be stale).
    bundle = path.join(root, 'supply.cjs');
    await buildSupplyBundle(bundle);
    const src = await writeTree(path.join(root, 'agent-src'), {
      'bin/agent#x': '#!/bin/sh\nexec node "$(dirname "$0")/../lib/agent.js" "$@"\n',
      'lib/agent.js': AGENT_JS,
    });
    const tgz = path.join(root, 'agent-1.0.0.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', src, 'bin', 'lib']);
    // served over 127.0.0.1: staging runs in a container whose /tmp is its own (CONTRACT §1)
    const bytes = await readFile(tgz);
    server = (await TestServer.start()).route('/agent-1.0.0.tgz', (_req, res) => res.end(bytes));
    agentTgz = { uri: server.url('/agent-1.0.0.tgz'), sha256: createHash('sha256').update(bytes).digest('hex') };
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
  });

  type Checks = { timeout: number; onTimeout: 'fail' | 'continue'; livenessDelay: number };

  async function buildpack(dir: string, port: number, readiness: Checks): Promise<string> {
    const bp = await writeTree(path.join(root, dir), {
      VERSION: '0.0.1\n',
      'manifest.yml': `language: behaviour-sidecars
default_versions:
- name: agent
  version: 1.0.0
dependencies:
- name: agent
  version: "1.0.0"
  uri: ${agentTgz.uri}
  sha256: ${agentTgz.sha256}
  cf_stacks: [cflinuxfs4]
include_files: [bin/detect, bin/supply, manifest.yml, VERSION]
sidecars:
- name: agent
  dependency: agent
  command: bin/agent
  args: ["--label", "$(touch PWNED)"]
  env:
    AGENT_PORT: "${port}"
    AGENT_LABEL: default-label
    AGENT_TOKEN:
      service: {tag: agent-creds}
      credential: token
  readiness:
    http: {port: ${port}, path: /config/}
    period_seconds: 1
    timeout_seconds: ${readiness.timeout}
    on_timeout: ${readiness.onTimeout}
  liveness:
    http: {port: ${port}, path: /config/}
    initial_delay_seconds: ${readiness.livenessDelay}
    period_seconds: 1
    failure_threshold: 2
  stop_grace_seconds: 1
`,
    });
    await mkdir(path.join(bp, 'bin'), { recursive: true });
    await mkdir(path.join(bp, 'dist'), { recursive: true });
    for (const f of ['detect', 'supply']) await copyFile(path.join(REPO, 'bin', f), path.join(bp, 'bin', f));
    await copyFile(bundle, path.join(bp, 'dist', 'supply.cjs'));
    // the stack has no node: the runtime is the buildpack's own, as in a cached zip
    await addStagingRuntime(bp);
    return bp;
  }

  // Liveness starts after its initial delay whether or not the sidecar is up (as in Kubernetes):
  // the delay must cover a slow start, and a never-ready sidecar is left to the readiness gate.
  async function push(mode: string, readiness: Checks = { timeout: 20, onTimeout: 'fail', livenessDelay: 5 }, env: Record<string, string> = {}) {
    const port = await freePort();
    const bp = await buildpack(`bp-${mode}-${readiness.onTimeout}`, port, readiness);
    const app = await writeTree(path.join(root, `app-${mode}-${readiness.onTimeout}`), { 'server.js': APP_JS, Procfile: 'web: node server.js\n' });
    const platform = new LocalPlatform({
      hostEnv: { PATH: process.env.PATH },
      workRoot: path.join(root, 'work'),
      vcapServices: JSON.stringify({ 'user-provided': [{ name: 'creds', label: 'user-provided', tags: ['agent-creds'], credentials: { token: HOSTILE } }] }),
      backoffMs: () => 200,
      stopGraceMs: 8000,
      healthCheckTimeoutMs: 30000,
    });
    return { platform, spec: { dir: app, name: `behaviour-${mode}`, buildpacks: [bp, FINAL_BP], env: { AGENT_MODE: mode, ...env }, memoryMb: 512 } };
  }

  /** Line numbers of the first log line matching each pattern, in the order given. */
  function lineOf(logs: string, pattern: RegExp | string): number {
    const lines = logs.split('\n');
    const i = lines.findIndex((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
    expect(i, `no log line matches ${String(pattern)}\n${logs}`).to.be.greaterThan(-1);
    return i;
  }
  function expectOrder(logs: string, patterns: (RegExp | string)[]): void {
    const at = patterns.map((p) => lineOf(logs, p));
    expect(at, `log order of ${patterns.map(String).join(' < ')}\n${logs}`).to.deep.equal([...at].sort((a, b) => a - b));
  }

  async function logged(d: Deployment, text: string): Promise<void> {
    for (let i = 0; i < 200 && !d.logs().includes(text); i++) await new Promise((r) => setTimeout(r, 50));
  }

  const WEB = '[APP/PROC/WEB/0]';
  const AGENT = '[APP/PROC/WEB/SIDECAR/AGENT/0]';

  it('holds the app back until a slow sidecar answers; values stay data; SIGTERM reaches it on delete', async () => {
    const { platform, spec } = await push('slow', undefined, { AGENT_LABEL: HOSTILE });
    deployment = await platform.deploy(spec);
    const d = deployment;
    await logged(d, 'app: first /config');
    const logs = d.logs();
    expectOrder(logs, [
      `${WEB} OUT sidecar agent: waiting for it to be ready`,
      `${AGENT} OUT agent: listening on`,
      new RegExp(`^\\[APP/PROC/WEB/0\\] OUT sidecar agent is ready after \\d+s$`),
      `${WEB} OUT app: starting`,
      `${WEB} OUT app: first /config: 200`,
    ]);
    expect(logs).to.not.match(/SIDECAR\/AGENT\/0\] OUT sidecar agent: waiting/);
    expect(d.restartCount).to.equal(0);
    // hostile values: the credential and the app's own value reach both processes as data
    expect(logs).to.include(`${AGENT} OUT agent: started in mode slow args=${JSON.stringify(['--label', '$(touch PWNED)'])} token=${JSON.stringify(HOSTILE)} label=${JSON.stringify(HOSTILE)}`);
    expect((await d.get('/env/AGENT_TOKEN')).body).to.equal(HOSTILE);
    expect((await d.get('/env/AGENT_LABEL')).body).to.equal(HOSTILE);
    const home = (await d.get('/env/HOME')).body;
    for (const dir of [`${home}/app`, home, root]) {
      expect(await access(path.join(dir, 'PWNED')).then(() => true, () => false), `PWNED in ${dir}`).to.equal(false);
    }
    await d.delete();
    expect(d.logs()).to.include(`${AGENT} OUT agent: SIGTERM, exiting`);
  });

  it('fails the app process when the sidecar is never ready (on_timeout: fail)', async () => {
    const { platform, spec } = await push('never', { timeout: 2, onTimeout: 'fail', livenessDelay: 60 });
    const err = (await platform.deploy(spec).then(() => undefined, (e: unknown) => e)) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.phase).to.equal('starting');
    expectOrder(err.logs, [`${WEB} OUT sidecar agent: waiting for it to be ready`, `${WEB} ERR sidecar agent: not ready in time`, '"exit_description"=>"APP/PROC/WEB: Exited with status 1"']);
    expect(err.logs).to.not.include('app: starting');
  });

  it('starts the app with a warning when the sidecar is never ready (on_timeout: continue)', async () => {
    const { platform, spec } = await push('never', { timeout: 2, onTimeout: 'continue', livenessDelay: 60 });
    deployment = await platform.deploy(spec);
    await logged(deployment, 'app: first /config');
    expectOrder(deployment.logs(), [`${WEB} ERR WARNING: sidecar agent: not ready in time`, `${WEB} OUT app: starting`, `${WEB} OUT app: first /config: error ECONNREFUSED`]);
  });

  it('stops a sidecar that stops answering after the threshold, and the instance restarts', async () => {
    const { platform, spec } = await push('hang');
    deployment = await platform.deploy(spec);
    await deployment.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
    expectOrder(deployment.logs(), [
      `${WEB} OUT app: first /config: 200`,
      `${AGENT} OUT agent: no longer answering`,
      `${AGENT} ERR sidecar agent: liveness check failed 2 times in a row`,
      `${AGENT} OUT agent: SIGTERM, exiting`,
      '"exit_description"=>"APP/PROC/WEB/SIDECAR/AGENT: Exited with status 1"',
    ]);
  });

  it('reports a sidecar that dies of SIGKILL as status 137', async () => {
    const { platform, spec } = await push('crash');
    deployment = await platform.deploy(spec);
    await deployment.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
    expectOrder(deployment.logs(), [`${AGENT} OUT agent: crashing with SIGKILL`, '"exit_description"=>"APP/PROC/WEB/SIDECAR/AGENT: Exited with status 137"']);
  });

  it('sends SIGKILL after stop_grace_seconds to a sidecar that ignores SIGTERM on delete', async () => {
    const { platform, spec } = await push('stubborn');
    const d = await platform.deploy(spec);
    await d.delete();
    expectOrder(d.logs(), [`${AGENT} OUT agent: SIGTERM ignored`, `${AGENT} ERR sidecar agent: still running 1s after SIGTERM/SIGINT; sending SIGKILL`]);
  });
});
