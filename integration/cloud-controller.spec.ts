// Issue 11 on the local platform: what Cloud Controller does with the app manifest and services —
// a user-provided service bound by the manifest's `services:` and read by a sidecar's
// `env: {service: …}` (docs/sidecars.md), ((vars)) filled from --var, and the refusals.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalPlatform } from '../src/platform/local/index.js';
import { parseServicesFile, userProvidedService } from '../src/platform/services.js';
import { DeployError, type Deployment } from '../src/platform/types.js';
import { TestServer } from '../test/helpers/http-server.js';
import { buildSupplyBundle } from '../test/helpers/supply-bundle.js';
import { FINAL_BP, REPO, eventually, nodeWebApp, tempDir, writeTree } from '../test/platform/helpers.js';
import { addStagingRuntime } from '../test/helpers/node-runtime.js';

/** Live processes (zombies do not count) whose environment holds `needle`. */
async function liveProcessesWith(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
    const env = await readFile(`/proc/${e}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').includes(needle)) found.push(Number(e));
  }
  return found;
}

describe('Cloud Controller behaviour on the local platform (issue 11)', function () {
  this.timeout(90000);
  let root: string;
  let cleanup: () => Promise<void>;
  let bp: string;
  let deployment: Deployment | undefined;
  let server: TestServer | undefined;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cloud-controller-'));
    const bundle = path.join(root, 'supply.cjs');
    await buildSupplyBundle(bundle);
    // The sidecar is shell, as a sidecar that runs on the stack would be.
    const src = await writeTree(path.join(root, 'agent-src'), { 'bin/agent#x': '#!/bin/sh\necho "agent: token=$AGENT_TOKEN"\nexec sleep 600\n' });
    const tgz = path.join(root, 'agent-1.0.0.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', src, 'bin']);
    const bytes = await readFile(tgz);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // served over 127.0.0.1: staging runs in a container whose /tmp is its own (CONTRACT §1)
    server = (await TestServer.start()).route('/agent-1.0.0.tgz', (_req, res) => res.end(bytes));
    bp = await writeTree(path.join(root, 'bp'), {
      VERSION: '0.0.1\n',
      'manifest.yml': `language: cc-sidecars
default_versions:
- name: agent
  version: 1.0.0
dependencies:
- name: agent
  version: "1.0.0"
  uri: ${server.url('/agent-1.0.0.tgz')}
  sha256: ${sha256}
  cf_stacks: [cflinuxfs4]
include_files: [bin/detect, bin/supply, manifest.yml, VERSION]
sidecars:
- name: agent
  dependency: agent
  command: bin/agent
  memory: 16
  env:
    AGENT_TOKEN:
      service: {name: agent-creds}
      credential: token
`,
    });
    await mkdir(path.join(bp, 'bin'), { recursive: true });
    await mkdir(path.join(bp, 'dist'), { recursive: true });
    for (const f of ['detect', 'supply']) await copyFile(path.join(REPO, 'bin', f), path.join(bp, 'bin', f));
    await copyFile(bundle, path.join(bp, 'dist', 'supply.cjs'));
    // the stack has no node: the runtime is the buildpack's own, as in a cached zip
    await addStagingRuntime(bp);
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });
  afterEach(async () => {
    await deployment?.delete();
    deployment = undefined;
  });

  const platform = () => new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), stopGraceMs: 2000, healthCheckTimeoutMs: 30000 });

  async function app(name: string, manifest: string): Promise<{ dir: string; manifest: string }> {
    const dir = await writeTree(path.join(root, name), { ...nodeWebApp(), Procfile: 'web: node server.js\n', 'manifest.yml': manifest });
    return { dir, manifest: path.join(dir, 'manifest.yml') };
  }

  it('binds the services the manifest names: the sidecar reads its credential, the app gets VCAP_SERVICES and DATABASE_URL', async () => {
    const a = await app('svc-app', 'applications:\n- name: svc-app\n  memory: 256M\n  services: [agent-creds, orders-db]\n');
    const brokered = parseServicesFile(JSON.stringify({ 'p.mysql': [{ name: 'orders-db', plan: 'small', credentials: { uri: 'mysql://u:p@db.internal:3306/orders' } }] }), 'services.json');
    deployment = await platform().deploy({
      dir: a.dir,
      manifest: a.manifest,
      buildpacks: [bp, FINAL_BP],
      serviceCatalog: [userProvidedService('agent-creds', { token: 's3cr3t' }, ['agent']), userProvidedService('unbound', { token: 'never' }), ...brokered],
    });
    const d = deployment;
    await eventually(async () => expect(d.logs()).to.include('[APP/PROC/WEB/SIDECAR/AGENT/0] OUT agent: token=s3cr3t'));
    const vcap = JSON.parse((await d.get('/env/VCAP_SERVICES')).body) as Record<string, Array<Record<string, unknown>>>;
    expect(Object.keys(vcap)).to.deep.equal(['user-provided', 'p.mysql']);
    expect(vcap['user-provided'].map((s) => s.name)).to.deep.equal(['agent-creds']);
    expect(vcap['user-provided'][0]).to.deep.include({ label: 'user-provided', tags: ['agent'], instance_name: 'agent-creds', binding_name: null, credentials: { token: 's3cr3t' } });
    expect(vcap['p.mysql'][0]).to.deep.include({ label: 'p.mysql', plan: 'small', provider: null, name: 'orders-db' });
    expect((await d.get('/env/DATABASE_URL')).body).to.equal('mysql2://u:p@db.internal:3306/orders');
  });

  it('runs a task with the task env, no sidecar, its own tag and exit status; what it started dies with it', async () => {
    const a = await app('task-app', 'applications:\n- name: task-app\n  memory: 256M\n  services: [agent-creds]\n');
    deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [bp, FINAL_BP], serviceCatalog: [userProvidedService('agent-creds', { token: 's3cr3t' })] });
    const d = deployment;
    await eventually(async () => expect(d.logs()).to.include('agent: token=s3cr3t'));
    const sidecarLines = () => d.logs().split('\n').filter((l) => l.includes('SIDECAR/AGENT')).length;
    const before = sidecarLines();
    const script = [
      'echo "creds=$(echo "$VCAP_SERVICES" | grep -o s3cr3t)"',
      'echo "port=[$PORT] guid=[$CF_INSTANCE_GUID] addr=[$CF_INSTANCE_ADDR] ports=$CF_INSTANCE_PORTS mem=$MEMORY_LIMIT"',
      // marked by its env: in a container its pid is the container's own, not the host's
      `TASK_BG=${path.basename(root)} sleep 300 & echo "bg=$!"`,
      'exit 3',
    ].join('; ');
    const result = await d.runTask(script, { name: 'migrate', memoryMb: 64 });
    expect(result.exitStatus).to.equal(3);
    expect(result.logs).to.include('[APP/TASK/migrate/0] OUT creds=s3cr3t');
    expect(result.logs).to.include('[APP/TASK/migrate/0] OUT port=[] guid=[] addr=[] ports=[] mem=64m');
    expect(result.logs).to.include('[APP/TASK/migrate/0] OUT Exit status 3');
    expect(sidecarLines(), 'no sidecar ran for the task').to.equal(before);
    expect(result.logs).to.match(/bg=\d+/);
    expect(await liveProcessesWith(`TASK_BG=${path.basename(root)}`), 'the background process is gone with the task').to.deep.equal([]);
    expect((await d.runTask('true')).exitStatus).to.equal(0);
  });

  it('fills ((vars)) from --var values', async () => {
    const a = await app('vars-app', 'applications:\n- name: ((name))\n  memory: ((mem))\n  env: {GREETING: "hello ((who))"}\n');
    deployment = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP], vars: { name: 'vars-app-1', mem: '200M', who: 'world' } });
    expect(deployment.name).to.equal('vars-app-1');
    expect((await deployment.get('/env/GREETING')).body).to.equal('hello world');
    expect((await deployment.get('/env/MEMORY_LIMIT')).body).to.equal('200m');
  });

  context('failure cases', () => {
    it('refuses a manifest service that does not exist, naming it', async () => {
      const a = await app('nosvc-app', 'applications:\n- name: nosvc-app\n  services: [missing-db]\n');
      const err = await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP], serviceCatalog: [] }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(DeployError);
      expect((err as DeployError).phase).to.equal('manifest');
      expect((err as DeployError).message).to.include("applications[0].services[0]: Service instance 'missing-db' not found");
    });
    it('refuses a ((var)) without a value and a VCAP_ env name before staging', async () => {
      const a = await app('novar-app', 'applications:\n- name: ((name))\n');
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err.message).to.include('Expected to find variables: name');
      expect(err.logs).to.not.include('[STG/0]');
      const b = await app('vcap-app', 'applications:\n- name: vcap-app\n');
      const err2 = (await platform().deploy({ dir: b.dir, manifest: b.manifest, buildpacks: [FINAL_BP], env: { VCAP_SERVICES: '{}' } }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err2.message).to.equal('--env: VCAP_SERVICES: Env cannot start with VCAP_');
    });
    it("refuses a buildpack packaged for another stack than the manifest's, before staging", async () => {
      const fs3 = await writeTree(path.join(root, 'fs3-bp'), { 'manifest.yml': 'language: old\nstack: cflinuxfs3\n', 'bin/supply#x': '#!/bin/sh\n', 'bin/detect#x': '#!/bin/sh\nexit 1\n' });
      const a = await app('stack-app', 'applications:\n- name: stack-app\n  stack: cflinuxfs4\n');
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [fs3, FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err.message).to.equal('Buildpack "fs3-bp" for stack "cflinuxfs4" must be an existing admin buildpack or a valid git URI (it is packaged for stack "cflinuxfs3")');
      expect(err.logs).to.not.include('[STG/0]');
    });
    it('refuses a stack the platform does not have with CC\'s text, before staging (capi-sidecar-samples asks for cflinuxfs3)', async () => {
      const a = await app('fs3-app', 'applications:\n- name: fs3-app\n  stack: cflinuxfs3\n');
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('manifest');
      expect(err.message).to.equal('Stack must be an existing stack ("cflinuxfs3": the local platform\'s stacks are cflinuxfs4)');
      expect(err.logs).to.not.include('[STG/0]');
    });
    it('refuses a manifest key it cannot honour', async () => {
      const a = await app('routes-app', 'applications:\n- name: routes-app\n  routes: [{route: x.example.com}]\n');
      const err = (await platform().deploy({ dir: a.dir, manifest: a.manifest, buildpacks: [FINAL_BP] }).then(() => undefined, (e: unknown) => e)) as DeployError;
      expect(err.message).to.include('applications[0].routes: not supported');
    });
  });
});
