import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { Installer } from '../../src/deps/installer.js';
import { ChecksumMismatchError, DependencyNotFoundError, ManifestError, OverrideError, ResolveError } from '../../src/errors.js';
import { MemorySink, StagingLogger, stripAnsi } from '../../src/log/logger.js';
import { parseManifest } from '../../src/manifest/index.js';
import type { StagingAnswers } from '../../src/manifest/compiled.js';
import { supply, type SupplyContext } from '../../src/supply/supply.js';
import { listTree, sha256, tgzBuffer } from '../helpers/archives.js';
import { expectRejection } from '../helpers/assert.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { runAsync } from '../helpers/spawn.js';
import { useTmpDirs } from '../helpers/tmp.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('supply', () => {
  const tmpDir = useTmpDirs('supply-');
  let server: TestServer;
  let v1: Buffer;
  let v2: Buffer;

  before(async () => {
    const bin = await fs.readFile(path.join(repo, 'fixtures/config-server/bin/config-server'));
    v1 = await tgzBuffer({ 'bin/config-server': { file: path.join(repo, 'fixtures/config-server/bin/config-server') } });
    v2 = await tgzBuffer({ 'bin/config-server': bin.toString() + '\n// 0.2.0\n' });
    server = await TestServer.start();
    server.route('/cs-0.1.0.tgz', serve.bytes(v1)).route('/cs-0.2.0.tgz', serve.bytes(v2));
  });
  after(() => server.close());

  function manifestText(extra = ''): string {
    return `language: config-server
default_versions:
- name: config-server
  version: 0.1.x
dependencies:
- name: config-server
  version: 0.1.0
  uri: ${server.url('/cs-0.1.0.tgz')}
  sha256: ${sha256(v1)}
  cf_stacks: [cflinuxfs4]
- name: config-server
  version: 0.2.0
  uri: ${server.url('/cs-0.2.0.tgz')}
  sha256: ${sha256(v2)}
  cf_stacks: [cflinuxfs4]
sidecars:
- name: config-server
  dependency: config-server
  command: bin/config-server
  memory: 64
  env:
    CONFIG_SERVER_PORT: "8082"
${extra}`;
  }

  async function stage(text: string, env: Record<string, string> = {}, dirs?: { cache: string }, buildpackVersion = '1.2.3', answers?: StagingAnswers) {
    const root = await tmpDir();
    const ctx: SupplyContext = {
      buildDir: path.join(root, 'build'),
      cacheDir: dirs?.cache ?? path.join(root, 'cache'),
      depsDir: path.join(root, 'deps'),
      depsIdx: '1',
      stack: 'cflinuxfs4',
      env,
      now: new Date('2026-11-30T00:00:00Z'),
    };
    await fs.mkdir(ctx.buildDir, { recursive: true });
    const sink = new MemorySink();
    const logger = new StagingLogger(sink);
    const installer = new Installer({ buildpackDir: root, cacheDir: ctx.cacheDir, logger, fetcher: new HttpFetcher({ attempts: 1 }) });
    const run = () => supply(ctx, { manifest: parseManifest(text, 'manifest.yml'), ...(answers ? { answers } : {}), buildpackVersion, installer, logger });
    return { ctx, sink, run, root };
  }

  describe('#supply', () => {
    it('installs the default version and declares the sidecar, config and env defaults', async () => {
      const { ctx, sink, run } = await stage(manifestText());
      const result = await run();
      expect(result.installed).to.deep.equal([{ sidecar: 'config-server', dependency: 'config-server', version: '0.1.0' }]);
      const idx = path.join(ctx.depsDir, '1');
      expect(parse(await fs.readFile(path.join(idx, 'config.yml'), 'utf8'))).to.deep.equal({ name: 'config-server', version: '1.2.3', config: {} });
      const launch = parse(await fs.readFile(path.join(idx, 'launch.yml'), 'utf8'));
      expect(launch.processes).to.deep.equal([
        {
          type: 'config-server',
          command: '"$DEPS_DIR"/1/sidecars/config-server/run "$DEPS_DIR"/1/config-server/bin/config-server',
          limits: { memory: 64 },
          platforms: { cloudfoundry: { sidecar_for: ['web'] } },
        },
      ]);
      expect(await listTree(idx)).to.include.members(['config-server/bin/config-server', 'profile.d/config-server.sh', 'sidecars/config-server/run']);
      expect(stripAnsi(sink.text())).to.equal(
        `-----> Config-Server Buildpack version 1.2.3\n-----> Installing config-server 0.1.0\n       Download [${server.url('/cs-0.1.0.tgz')}]\n`,
      );
    });

    it('writes nothing outside <deps>/<idx> and the cache dir', async () => {
      const { ctx, run, root } = await stage(manifestText());
      await run();
      const top = (await fs.readdir(root)).sort();
      expect(top).to.deep.equal(['build', 'cache', 'deps']);
      expect(await fs.readdir(ctx.buildDir)).to.deep.equal([]);
      expect(await fs.readdir(ctx.depsDir)).to.deep.equal(['1']);
    });

    it('installs from the app cache on the next staging without a request', async () => {
      const first = await stage(manifestText());
      await first.run();
      const second = await stage(manifestText(), {}, { cache: first.ctx.cacheDir });
      const before = server.count('/cs-0.1.0.tgz');
      await second.run();
      expect(server.count('/cs-0.1.0.tgz')).to.equal(before);
      expect(stripAnsi(second.sink.text())).to.contain('       Using cached config-server 0.1.0\n');
    });

    it('warns when the app was last staged by another version of the buildpack', async () => {
      const first = await stage(manifestText());
      await first.run();
      const same = await stage(manifestText(), {}, { cache: first.ctx.cacheDir });
      await same.run();
      expect(stripAnsi(same.sink.text())).not.to.contain('buildpack version changed');
      const newer = await stage(manifestText(), {}, { cache: first.ctx.cacheDir }, '1.3.0');
      await newer.run();
      expect(stripAnsi(newer.sink.text())).to.contain('**WARNING** buildpack version changed from 1.2.3 to 1.3.0\n');
    });

    it('honours CONFIG_SERVER_VERSION and CONFIG_SERVER_MEMORY', async () => {
      const { ctx, sink, run } = await stage(manifestText(), { CONFIG_SERVER_VERSION: '0.2.x', CONFIG_SERVER_MEMORY: '128' });
      const result = await run();
      expect(result.installed[0].version).to.equal('0.2.0');
      const launch = parse(await fs.readFile(path.join(ctx.depsDir, '1', 'launch.yml'), 'utf8'));
      expect(launch.processes[0].limits.memory).to.equal(128);
      expect(stripAnsi(sink.text())).to.contain('Sidecar config-server: using CONFIG_SERVER_VERSION=0.2.x');
    });

    it("takes a compiled manifest's answers for a sidecar without an override, and asks with one", async () => {
      // answers that differ from what asking gives (0.1.x -> 0.1.0) show which was used
      const answers: StagingAnswers = { cflinuxfs4: { 'config-server': { version: '0.2.0', eol: [], newer: 'a newer one, as recorded' } } };
      const taken = await stage(manifestText(), {}, undefined, '1.2.3', answers);
      expect((await taken.run()).installed[0].version).to.equal('0.2.0');
      expect(stripAnsi(taken.sink.text())).to.contain('**WARNING** a newer one, as recorded');
      const asked = await stage(manifestText(), { CONFIG_SERVER_VERSION: '0.1.x' }, undefined, '1.2.3', answers);
      expect((await asked.run()).installed[0].version).to.equal('0.1.0');
      expect(stripAnsi(asked.sink.text())).to.not.contain('as recorded');
    });

    it('skips a sidecar disabled with CONFIG_SERVER_DISABLED=true and still writes config.yml', async () => {
      const { ctx, sink, run } = await stage(manifestText(), { CONFIG_SERVER_DISABLED: 'true' });
      const result = await run();
      expect(result.skipped).to.deep.equal(['config-server']);
      const launch = parse(await fs.readFile(path.join(ctx.depsDir, '1', 'launch.yml'), 'utf8'));
      expect(launch.processes).to.deep.equal([]);
      expect(await fs.readdir(path.join(ctx.depsDir, '1'))).to.have.members(['config.yml', 'launch.yml']);
      expect(stripAnsi(sink.text())).to.contain('Skipping sidecar config-server: CONFIG_SERVER_DISABLED is set');
    });
    it('considers every stack, with a warning, when CF_STACK is not set', async () => {
      const { ctx, sink, run } = await stage(manifestText());
      ctx.stack = undefined;
      const result = await run();
      expect(result.installed[0].version).to.equal('0.1.0');
      expect(stripAnsi(sink.text())).to.contain('**WARNING** CF_STACK is not set: dependencies built for any stack are considered\n');
    });
  });

  context('failure cases', () => {
    it('lists the available versions when the override matches none', async () => {
      const { run } = await stage(manifestText(), { CONFIG_SERVER_VERSION: '9.x' });
      await expectRejection(run(), DependencyNotFoundError, 'no match found for 9.x in [0.1.0 0.2.0]');
    });

    it('names the variable of a bad override', async () => {
      const { run } = await stage(manifestText(), { CONFIG_SERVER_MEMORY: '64M' });
      await expectRejection(run(), OverrideError, 'CONFIG_SERVER_MEMORY');
    });

    it('fails on an unsupported stack with libbuildpack\'s message', async () => {
      const { ctx, run } = await stage(manifestText());
      ctx.stack = 'cflinuxfs5';
      await expectRejection(run(), ResolveError, 'required stack cflinuxfs5 was not found');
    });

    it('refuses to install a dependency that has no sha256', async () => {
      const text = manifestText().replace(/  sha256: [0-9a-f]{64}\n/, '');
      const { run } = await stage(text);
      await expectRejection(run(), ManifestError, 'manifest.yml: dependencies[0].sha256: missing');
    });

    for (const name of ['sidecars', 'bin', 'env', 'profile.d', 'lib', 'launch.yml']) {
      it(`refuses a dependency named ${JSON.stringify(name)}, one of the deps dir's own entries, before installing anything`, async () => {
        const text = manifestText().replace(/name: config-server\n  version: 0\.1/g, `name: ${name}\n  version: 0.1`).replace('dependency: config-server', `dependency: ${name}`).replace('- name: config-server\n  version: 0.1.x', `- name: ${name}\n  version: 0.1.x`);
        const { ctx, run } = await stage(text);
        const before = server.requests.length;
        const err = await expectRejection(run(), ManifestError, `manifest.yml: sidecars[0].dependency: ${JSON.stringify(name)}`);
        expect(err.message).to.match(/rename the dependency/);
        expect(server.requests.length).to.equal(before);
        expect(await listTree(ctx.depsDir).catch(() => [])).to.deep.equal([]);
      });
    }

    it('fails when the command is not in the installed dependency, listing what it holds', async () => {
      const { run } = await stage(manifestText().replace('command: bin/config-server', 'command: bin/config-srv --port 1'));
      await expectRejection(run(), ManifestError, 'manifest.yml: sidecars[0].command: "bin/config-srv" is not in the installed config-server 0.1.0, which holds: bin/');
    });

    it('fails when the command is not executable', async () => {
      const plain = await tgzBuffer([{ path: 'bin/config-server', content: '#!/bin/sh\n', mode: 0o644 }, { path: 'README', content: 'r' }]);
      server.route('/cs-plain.tgz', serve.bytes(plain));
      const text = manifestText().replace(server.url('/cs-0.1.0.tgz'), server.url('/cs-plain.tgz')).replace(sha256(v1), sha256(plain));
      const { run } = await stage(text);
      await expectRejection(run(), ManifestError, 'manifest.yml: sidecars[0].command: "bin/config-server" is not executable in the installed config-server 0.1.0, which holds: README, bin/');
    });

    it('fails a tampered artifact with the sha256 message and leaves no binary', async () => {
      const text = manifestText().replace(sha256(v1), 'f'.repeat(64));
      const { ctx, run } = await stage(text);
      await expectRejection(run(), ChecksumMismatchError, `dependency sha256 mismatch: expected sha256 ${'f'.repeat(64)}, actual sha256 ${sha256(v1)}`);
      expect(await listTree(ctx.depsDir).catch(() => [])).not.to.include('1/config-server/bin/config-server');
      expect(await listTree(path.join(ctx.cacheDir, 'dependencies')).catch(() => [])).to.deep.equal([]);
    });
  });

  describe('bin/supply (the committed bundle, as the platform runs it)', () => {
    it('stages the repository buildpack pointed at a local artifact, and the sidecar answers /config/', async () => {
      const root = await tmpDir();
      const bp = path.join(root, 'bp');
      for (const f of ['bin', 'dist', 'VERSION']) await fs.cp(path.join(repo, f), path.join(bp, f), { recursive: true });
      const manifest = (await fs.readFile(path.join(repo, 'manifest.yml'), 'utf8'))
        .replace(/uri: https:\/\/s3\.amazonaws\.com\S+/, `uri: ${server.url('/cs-0.1.0.tgz')}`)
        .replace('23e1bb3b3685a2fb53b8aaee72c77b386812dd8693f5f0e23f691fd307a21275', sha256(v1));
      await fs.writeFile(path.join(bp, 'manifest.yml'), manifest);
      const dirs = ['build', 'cache', 'deps'].map((d) => path.join(root, d));
      for (const d of dirs) await fs.mkdir(d);
      const out = await runAsync(path.join(bp, 'bin', 'supply'), [...dirs, '0'], { env: { PATH: process.env.PATH, CF_STACK: 'cflinuxfs4' } });
      expect(out.status, out.stdout).to.equal(0);
      // start the sidecar the way the launcher would: bash -c "<command>" with DEPS_DIR set
      const launch = parse(await fs.readFile(path.join(root, 'deps', '0', 'launch.yml'), 'utf8'));
      const port = 20000 + Math.floor(Math.random() * 20000);
      const sidecar = spawn('bash', ['-c', launch.processes[0].command], {
        env: { PATH: process.env.PATH, DEPS_DIR: path.join(root, 'deps'), CONFIG_SERVER_PORT: String(port) },
        stdio: 'ignore',
      });
      try {
        let body = '';
        for (let i = 0; i < 100 && !body; i++) {
          body = await fetch(`http://127.0.0.1:${port}/config/`).then((r) => r.text(), () => '');
          if (!body) await new Promise((r) => setTimeout(r, 50));
        }
        expect(JSON.parse(body)).to.deep.equal({ Scope: 'some-service.admin', Password: 'not-a-real-p4$$w0rd' });
      } finally {
        sidecar.kill('SIGKILL');
      }
    });
  });
});
