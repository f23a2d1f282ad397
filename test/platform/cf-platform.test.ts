// The cf platform's command sequences, against a recording `cf` stub on PATH (a real child
// process): no foundation is reachable here, so this is what can be proven locally.

import { expect } from 'chai';
import { readFile, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CfPlatform, cfConfigFromEnv, dnsSafeName } from '../../src/platform/cf/index.js';
import { zipDirectory } from '../../src/platform/cf/zip-dir.js';
import { extractZip } from '../../src/platform/local/unzip.js';
import { DeployError } from '../../src/platform/types.js';
import { UsageError } from '../../src/errors.js';
import { parseServicesFile, userProvidedService } from '../../src/platform/services.js';
import { parse } from 'yaml';
import { FINAL_BP, HANDMADE_BP, nodeWebApp, tempDir, writeTree } from './helpers.js';

const STUB = `#!/usr/bin/env node
const fs = require('fs');
const argv = process.argv.slice(2);
const rec = { argv, cfHome: process.env.CF_HOME, user: process.env.CF_USERNAME, hasPassword: Boolean(process.env.CF_PASSWORD) };
if (argv[0] === 'push') rec.manifest = fs.readFileSync(argv[3], 'utf8');
fs.appendFileSync(process.env.CF_STUB_LOG, JSON.stringify(rec) + '\\n');
const answers = JSON.parse(fs.readFileSync(process.env.CF_STUB_ANSWERS, 'utf8'));
for (const a of answers) {
  if (a.match.every((m, i) => argv[i] === m)) {
    process.stdout.write(a.stdout || '');
    process.stderr.write(a.stderr || '');
    process.exit(a.code || 0);
  }
}
`;

interface Answer {
  match: string[];
  stdout?: string;
  stderr?: string;
  code?: number;
}
interface Call {
  argv: string[];
  cfHome: string;
  user: string;
  hasPassword: boolean;
  manifest?: string;
}

const config = { api: 'https://api.example.com', username: 'admin', password: 's3cret', org: 'o', space: 's', skipSslValidation: true };

describe('CfPlatform', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let logFile: string;
  let answersFile: string;
  let platform: CfPlatform;

  const calls = async (): Promise<Call[]> =>
    (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  const answer = (list: Answer[]) => writeFile(answersFile, JSON.stringify(list));

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir('cf-test-'));
    const bin = path.join(root, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'cf'), STUB);
    await chmod(path.join(bin, 'cf'), 0o755);
    logFile = path.join(root, 'calls.jsonl');
    answersFile = path.join(root, 'answers.json');
    platform = new CfPlatform({
      config,
      hostEnv: { PATH: `${bin}:${process.env.PATH}`, CF_STUB_LOG: logFile, CF_STUB_ANSWERS: answersFile },
      workRoot: root,
      uniqueSuffix: () => 'abc123',
      pollIntervalMs: 10,
    });
  });
  afterEach(async () => cleanup());

  const guidAnswers: Answer[] = [
    { match: ['app', 'demo-abc123', '--guid'], stdout: 'guid-1\n' },
    { match: ['curl', '/v3/apps/guid-1/routes'], stdout: JSON.stringify({ resources: [{ url: 'demo-abc123.apps.example.com' }] }) },
    {
      match: ['curl', '/v3/apps/guid-1/droplets/current'],
      stdout: JSON.stringify({
        process_types: { web: 'node server.js' },
        buildpacks: [
          { name: 'demo_abc123_bp0', buildpack_name: 'handmade-sidecar', version: '0.1.0' },
          { name: 'demo_abc123_bp1', buildpack_name: 'final-fixture', version: '1.0.0' },
        ],
      }),
    },
    {
      match: ['curl', '/v3/apps/guid-1/sidecars'],
      stdout: JSON.stringify({
        resources: [{ guid: 's1', name: 'handmade', command: 'node $DEPS_DIR/0/bin/listener.js', process_types: ['web'], memory_in_mb: 32, origin: 'buildpack' }],
      }),
    },
    { match: ['logs', 'demo-abc123', '--recent'], stdout: '[APP/PROC/WEB/0] OUT app listening on 8080\n' },
  ];

  describe('#deploy', () => {
    context('when the push succeeds', () => {
      it('logs in with a private CF_HOME, uploads the buildpacks, pushes, reads back, and deletes', async () => {
        await answer([...guidAnswers, { match: ['push'], stdout: 'Waiting for app demo-abc123 to start...\n' }]);
        const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
        const d = await platform.deploy({ dir: appDir, name: 'Demo', buildpacks: [HANDMADE_BP, FINAL_BP], env: { A: '1' }, memoryMb: 256 });
        expect(d.name).to.equal('demo-abc123');
        expect(d.url).to.equal('https://demo-abc123.apps.example.com');
        expect(d.stagingResult.sidecars).to.deep.equal([{ name: 'handmade', process_types: ['web'], command: 'node $DEPS_DIR/0/bin/listener.js', memory: 32 }]);
        expect(d.stagingResult.lifecycle_metadata.detected_buildpack).to.equal('final-fixture');
        await d.delete();

        const all = await calls();
        const cfHome = all[0].cfHome;
        expect(all.every((c) => c.cfHome === cfHome && c.user === 'admin' && c.hasPassword)).to.equal(true);
        expect(all.some((c) => c.argv.includes('s3cret'))).to.equal(false);
        const argvs = all.map((c) => c.argv.map((a) => (a.endsWith('.zip') ? '<zip>' : a.startsWith(cfHome) ? '<cfhome>' + a.slice(cfHome.length) : a)).join(' '));
        expect(argvs).to.deep.equal([
          'api https://api.example.com --skip-ssl-validation',
          'auth',
          'target -o o -s s',
          'create-buildpack demo_abc123_bp0 <zip> 1',
          'create-buildpack demo_abc123_bp1 <zip> 1',
          'push demo-abc123 -f <cfhome>/manifest.yml',
          'app demo-abc123 --guid',
          'curl /v3/apps/guid-1/routes',
          'curl /v3/apps/guid-1/droplets/current',
          'curl /v3/apps/guid-1/sidecars',
          'logs demo-abc123 --recent',
          'delete demo-abc123 -f -r',
          'delete-buildpack demo_abc123_bp0 -f',
          'delete-buildpack demo_abc123_bp1 -f',
        ]);
        const manifest = all.find((c) => c.argv[0] === 'push')?.manifest ?? '';
        expect(manifest).to.include('name: demo-abc123').and.include('memory: 256M').and.include('- demo_abc123_bp0').and.include('A: "1"');
        expect(await stat(cfHome).then(() => true, () => false)).to.equal(false);
        expect(d.logs()).to.include('[APP/PROC/WEB/0] OUT app listening on 8080');
      });
    });

    context('when the buildpack already exists', () => {
      it('updates it instead', async () => {
        await answer([
          ...guidAnswers,
          { match: ['create-buildpack'], stderr: "Buildpack demo_abc123_bp0 already exists\n", code: 1 },
          { match: ['push'], stdout: 'ok\n' },
        ]);
        const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
        const d = await platform.deploy({ dir: appDir, name: 'demo', buildpacks: [FINAL_BP] });
        await d.delete();
        const argvs = (await calls()).map((c) => c.argv[0] + ' ' + c.argv[1]);
        expect(argvs).to.include('update-buildpack demo_abc123_bp0');
      });
    });
  });

  describe('Cloud Controller flows (issue 11)', () => {
    it('creates user-provided services, binds them by their names, pushes instances, processes and health checks, and deletes the services', async () => {
      await answer([...guidAnswers, { match: ['push'], stdout: 'ok\n' }]);
      const appDir = await writeTree(path.join(root, 'app'), {
        ...nodeWebApp(),
        'manifest.yml': [
          'applications:',
          '- name: demo',
          '  instances: 2',
          '  memory: 256M',
          '  health-check-type: http',
          '  health-check-http-endpoint: /health',
          '  timeout: 30',
          '  services: [creds, orders-db]',
          '  processes:',
          '  - {type: worker, command: ./worker, instances: 1, memory: 128M, health-check-type: process}',
          '',
        ].join('\n'),
      });
      const d = await platform.deploy({
        dir: appDir,
        manifest: path.join(appDir, 'manifest.yml'),
        buildpacks: [FINAL_BP],
        serviceCatalog: [userProvidedService('creds', { token: 't' }, ['agent']), ...parseServicesFile('{"p.mysql":[{"name":"orders-db"}]}', 's.json')],
      });
      await d.delete();
      const all = await calls();
      const argvs = all.map((c) => c.argv.map((a) => (a.endsWith('.zip') ? '<zip>' : a)).join(' '));
      expect(argvs).to.include.members(['create-user-provided-service creds-abc123 -p {"token":"t"} -t agent', 'delete-service creds-abc123 -f']);
      expect(argvs.indexOf('create-user-provided-service creds-abc123 -p {"token":"t"} -t agent')).to.be.lessThan(argvs.findIndex((a) => a.startsWith('push ')));
      expect(argvs.indexOf('delete-service creds-abc123 -f')).to.be.greaterThan(argvs.indexOf('delete demo-abc123 -f -r'));
      expect(argvs.some((a) => a.includes('orders-db') && a.startsWith('create'))).to.equal(false);
      const pushed = parse(all.find((c) => c.argv[0] === 'push')?.manifest ?? '') as { applications: Array<Record<string, unknown>> };
      expect(pushed.applications[0]).to.deep.include({
        instances: 2,
        memory: '256M',
        'health-check-type': 'http',
        'health-check-http-endpoint': '/health',
        timeout: 30,
        services: [{ name: 'creds-abc123', binding_name: 'creds' }, { name: 'orders-db', binding_name: 'orders-db' }],
        processes: [{ type: 'worker', command: './worker', memory: '128M', instances: 1, 'health-check-type': 'process' }],
      });
    });

    it('runs a task with cf run-task and reports the exit status from its failure reason', async () => {
      await answer([
        ...guidAnswers.filter((a) => a.match[0] !== 'logs'),
        { match: ['push'], stdout: 'ok\n' },
        { match: ['run-task'], stdout: 'Task has been submitted successfully for execution.\n' },
        { match: ['curl', '/v3/apps/guid-1/tasks?names=migrate'], stdout: JSON.stringify({ resources: [{ name: 'migrate', state: 'FAILED', result: { failure_reason: 'APP/TASK/migrate: Exited with status 3' } }] }) },
        { match: ['logs', 'demo-abc123', '--recent'], stdout: '2024-01-01T00:00:00.00+0000 [APP/TASK/migrate/0] OUT migrating\n2024-01-01T00:00:00.00+0000 [APP/PROC/WEB/0] OUT web line\n' },
      ]);
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const d = await platform.deploy({ dir: appDir, name: 'demo', buildpacks: [FINAL_BP] });
      const r = await d.runTask('rake db:migrate', { name: 'migrate', memoryMb: 64 });
      await d.delete();
      expect(r).to.deep.equal({ name: 'migrate', exitStatus: 3, logs: '2024-01-01T00:00:00.00+0000 [APP/TASK/migrate/0] OUT migrating\n' });
      const runTask = (await calls()).find((c) => c.argv[0] === 'run-task');
      expect(runTask?.argv).to.deep.equal(['run-task', 'demo-abc123', '--command', 'rake db:migrate', '--name', 'migrate', '-m', '64M']);
    });
  });

  describe('CfDeployment', () => {
    it('kills a sidecar over cf ssh and counts crash events while waiting for running', async () => {
      await answer([
        ...guidAnswers,
        { match: ['push'], stdout: 'ok\n' },
        { match: ['events', 'demo-abc123'], stdout: 'time  event  actor\n2024-01-01T00:00:00Z  audit.app.process.crash  web\n' },
        { match: ['app', 'demo-abc123'], stdout: '     state     since\n#0   running   2024-01-01T00:00:00Z\n' },
      ]);
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const d = await platform.deploy({ dir: appDir, name: 'demo', buildpacks: [HANDMADE_BP, FINAL_BP] });
      await d.kill('handmade');
      await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 5000 });
      expect(d.restartCount).to.equal(1);
      expect((await d.processes()).map((p) => `${p.name}:${p.origin ?? '-'}:${p.running}`)).to.deep.equal(['web:-:true', 'handmade:buildpack:true']);
      await d.delete();
      const ssh = (await calls()).find((c) => c.argv[0] === 'ssh');
      expect(ssh?.argv).to.deep.equal(['ssh', 'demo-abc123', '-c', 'pkill -KILL -f -- "node $DEPS_DIR/0/bin/listener.js"']);
    });
  });

  describe('#zipDirectory', () => {
    it('keeps the execute bits of bin/ scripts', async () => {
      const zip = await zipDirectory(HANDMADE_BP, path.join(root, 'bp.zip'));
      await extractZip(zip, path.join(root, 'out'));
      expect((await stat(path.join(root, 'out/bin/supply'))).mode & 0o777).to.equal(0o755);
    });
  });

  describe('#dnsSafeName', () => {
    it('makes a lowercase DNS label of at most 63 characters', () => {
      expect(dnsSafeName('My_App!!', 'abc123')).to.equal('my-app-abc123');
      expect(dnsSafeName('9lives', 'x1')).to.equal('app-9lives-x1');
      expect(dnsSafeName('a'.repeat(100), 'abc123')).to.have.length(63);
    });
  });

  context('failure cases', () => {
    it('fetches recent logs, deletes everything and rejects when staging fails', async () => {
      await answer([
        { match: ['push'], stdout: 'Staging app...\nFAILED\n', stderr: 'Error staging application: BuildpackCompileFailed - App staging failed in the buildpack compile phase\n', code: 1 },
        { match: ['logs', 'demo-abc123', '--recent'], stdout: '[STG/0] ERR Failed to compile droplet\n' },
      ]);
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const err = (await platform.deploy({ dir: appDir, name: 'demo', buildpacks: [FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('staging');
      expect(err.message).to.equal('Error staging application: BuildpackCompileFailed - App staging failed in the buildpack compile phase');
      expect(err.logs).to.include('[STG/0] ERR Failed to compile droplet');
      const argvs = (await calls()).map((c) => c.argv.slice(0, 2).join(' '));
      expect(argvs.slice(-3)).to.deep.equal(['logs demo-abc123', 'delete demo-abc123', 'delete-buildpack demo_abc123_bp0']);
    });

    it('rejects with the output when login fails, and cleans up', async () => {
      await answer([{ match: ['auth'], stdout: 'FAILED\n', stderr: 'Credentials were rejected, please try again.\n', code: 1 }]);
      const appDir = await writeTree(path.join(root, 'app'), nodeWebApp());
      const err = (await platform.deploy({ dir: appDir, name: 'demo', buildpacks: [FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err.phase).to.equal('platform');
      expect(err.message).to.include('Credentials were rejected');
      expect((await calls()).map((c) => c.argv[0])).to.deep.equal(['api', 'auth']);
    });

    it('names every missing configuration variable', () => {
      expect(() => cfConfigFromEnv({ CF_API: 'x', CF_ORG: 'o' })).to.throw(UsageError, 'CF_USERNAME, CF_PASSWORD, CF_SPACE');
    });
  });
});
