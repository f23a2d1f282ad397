import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type CliIO } from '../../src/cli/main.js';
import { parseEnvPairs, pushCommand, resolveBuildpacks, runPush } from '../../src/cli/commands/push.js';
import { freePort, portAnswers } from '../../src/platform/local/ports.js';
import { DeployError } from '../../src/platform/index.js';
import { referenceBuildpack, type ReferenceBuildpack } from '../../integration/helpers/reference-buildpack.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_APP = path.join(REPO, 'fixtures', 'apps', 'node-app');
const FINAL = path.join(REPO, 'fixtures', 'buildpacks', 'final');
const SIDECAR_UP = '[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] OUT config-server listening on';

/** Memory io whose stdout calls `onLine` with each complete line. */
function memoryIO(cwd: string, onLine: (line: string) => void = () => undefined): CliIO & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (s: string) => (out.push(s), s.split('\n').filter((l) => l).forEach(onLine)) },
    stderr: { write: (s: string) => err.push(s) },
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    cwd,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('push', function () {
  this.timeout(60000);
  let ref: ReferenceBuildpack;
  let zip: string;
  let work: string;

  before(async () => {
    ref = await referenceBuildpack();
    zip = (await ref.package(true)).zipPath;
    work = await mkdtemp(path.join(os.tmpdir(), 'push-test-'));
  });
  after(async () => {
    await ref?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  describe('#main (in-process, stopped by an AbortSignal)', () => {
    context('when the app stages and runs', () => {
      it('prints the staging log, then the url line, then the tagged logs, and exits 0 once stopped', async () => {
        const controller = new AbortController();
        // stopped once both processes said they listen (either may come first)
        const seen = { web: false, sidecar: false };
        const io = memoryIO(REPO, (line) => {
          if (line.startsWith(SIDECAR_UP)) seen.sidecar = true;
          if (line.startsWith('[APP/PROC/WEB/0] OUT app listening on')) seen.web = true;
          if (seen.web && seen.sidecar) controller.abort();
        });
        const port = String(await freePort());
        const code = await main(['push', 'fixtures/apps/node-app', '-b', zip, '--env', `CONFIG_SERVER_PORT=${port}`, '--work-root', work], io, [
          pushCommand(() => ({ signal: controller.signal, dispose: () => undefined })),
        ]);
        expect(code, io.err()).to.equal(0);
        const lines = io.out().split('\n');
        const at = (pred: (l: string) => boolean) => lines.findIndex(pred);
        const installing = at((l) => l === '[STG/0] OUT -----> Installing config-server 0.0.0');
        const url = at((l) => /^url: http:\/\/127\.0\.0\.1:\d+$/.test(l));
        const web = at((l) => l.startsWith('[APP/PROC/WEB/0] OUT app listening on'));
        const sidecar = at((l) => l === `${SIDECAR_UP} ${port}`);
        expect([installing, url, web, sidecar].every((i) => i >= 0), io.out()).to.equal(true);
        expect(installing).to.be.lessThan(url);
        expect(url).to.be.lessThan(Math.min(web, sidecar));
        // the manifest's ../../.. entry is the repository's buildpack: the -b zip stands for it
        expect(io.err()).to.match(/note: buildpack \.\.\/\.\.\/\.\. is .*\.zip \(-b\)/);
        expect(io.err()).to.include('deleted node-app');
        expect(lines.some((l) => l.includes('[API/0] OUT Deleted app with guid'))).to.equal(true);
      });
    });
  });

  describe('#runPush', () => {
    context('when the app runs', () => {
      it('serves /config through the sidecar at the printed url, and nothing answers after the stop', async () => {
        const controller = new AbortController();
        const io = memoryIO(REPO);
        const port = await freePort();
        let answer = { status: 0, body: '' };
        let appPort = 0;
        await runPush({ appDir: NODE_APP, buildpacks: [zip], env: { CONFIG_SERVER_PORT: String(port) }, platform: 'local', workRoot: work, onRunning: (d) => {
          appPort = Number(new URL(d.url).port);
          void (async () => {
            for (let i = 0; i < 60 && answer.status !== 200; i++) {
              answer = await d.get('/config').catch(() => answer);
              if (answer.status !== 200) await new Promise((r) => setTimeout(r, 200));
            }
            controller.abort();
          })();
        } }, io, controller.signal);
        expect(answer.status).to.equal(200);
        expect(JSON.parse(answer.body)).to.deep.equal({ Scope: 'some-service.admin', Password: 'not-a-real-p4$$w0rd' });
        expect(io.out()).to.include(`url: http://127.0.0.1:${appPort}\n`);
        expect(await portAnswers(appPort)).to.equal(false);
        expect(await portAnswers(port)).to.equal(false);
      });
    });

    context('failure cases', () => {
      it('rejects with the DeployError after printing the staging log when a supply buildpack fails', async () => {
        const bp = path.join(work, 'failing-bp');
        await mkdir(path.join(bp, 'bin'), { recursive: true });
        await writeFile(path.join(bp, 'bin', 'supply'), '#!/bin/sh\necho "-----> Failing on purpose"\nexit 3\n', { mode: 0o755 });
        const io = memoryIO(REPO);
        const err = await runPush({ appDir: NODE_APP, buildpacks: [bp, FINAL], env: {}, platform: 'local', workRoot: work }, io, new AbortController().signal).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(DeployError);
        expect((err as DeployError).phase).to.equal('staging');
        expect(io.out()).to.include('[STG/0] OUT -----> Failing on purpose\n');
        expect(io.out()).to.not.include('url: ');
      });
    });
  });

  describe('#main failure cases', () => {
    // a stop request that never comes: these pushes end on their own failure (a stop that came
    // already would cut staging short)
    const neverStop = () => ({ signal: new AbortController().signal, dispose: () => undefined });

    it('exits 1 with the platform message on stderr when staging fails', async () => {
      const bp = path.join(work, 'failing-bp-2');
      await mkdir(path.join(bp, 'bin'), { recursive: true });
      await writeFile(path.join(bp, 'bin', 'supply'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      const io = memoryIO(REPO);
      const code = await main(['push', NODE_APP, '-b', bp, '-b', FINAL, '--work-root', work], io, [pushCommand(neverStop)]);
      expect(code).to.equal(1);
      expect(io.err()).to.equal('error: Failed to run all supply scripts: exit status 1\n');
      expect(io.out()).to.include('[STG/0] OUT Exit status 225\n');
    });

    it('exits 2 for an unknown --platform, a missing app dir and a buildpack name it cannot resolve', async () => {
      const bad = memoryIO(REPO);
      expect(await main(['push', NODE_APP, '--platform', 'heroku'], bad, [pushCommand(neverStop)])).to.equal(2);
      expect(bad.err()).to.include('--platform must be local or cf');
      const missing = memoryIO(REPO);
      expect(await main(['push', 'no/such/app'], missing, [pushCommand(neverStop)])).to.equal(2);
      expect(missing.err()).to.match(/app directory .*no\/such\/app does not exist/);
      const name = memoryIO(REPO);
      expect(await main(['push', NODE_APP, '-b', 'mystery_bp', '-b', FINAL], name, [pushCommand(neverStop)])).to.equal(2);
      expect(name.err()).to.include('buildpack mystery_bp is not a directory or zip here');
    });

    it('exits 2 for an --env without NAME=', async () => {
      const io = memoryIO(REPO);
      expect(await main(['push', NODE_APP, '--env', '=x'], io, [pushCommand(neverStop)])).to.equal(2);
      expect(io.err()).to.equal('error: --env "=x": use NAME=VALUE\n');
      expect(parseEnvPairs(['A=b=c', 'E='])).to.deep.equal({ A: 'b=c', E: '' });
      expect(parseEnvPairs(['A=b=c', 'E='])).to.deep.equal({ A: 'b=c', E: '' });
    });
  });

  describe('resolveBuildpacks', () => {
    const base = { manifestDir: NODE_APP, cwd: REPO, platform: 'local' as const, toolkitRoot: () => REPO };

    it('keeps the manifest list and lets matching -b paths stand for its entries', () => {
      const r = resolveBuildpacks({ ...base, given: [zip], manifestBuildpacks: ['config-server_buildpack', 'ruby_buildpack'] });
      expect(r.buildpacks).to.deep.equal([zip, FINAL]);
      expect(r.notes.join('\n')).to.include('ruby_buildpack stands for the fixture final buildpack');
    });

    it('lets -b replace the manifest list when the -b paths do not match its entries', () => {
      const r = resolveBuildpacks({ ...base, given: [ref.dir, 'fixtures/buildpacks/final'], manifestBuildpacks: ['other_buildpack', 'final'] });
      expect(r.buildpacks).to.deep.equal([ref.dir, FINAL]);
    });

    it("uses the manifest's paths relative to the manifest, and final for the fixture final buildpack", () => {
      const r = resolveBuildpacks({ ...base, given: [], manifestBuildpacks: ['../../..', 'final'] });
      expect(r.buildpacks).to.deep.equal([REPO, FINAL]);
    });

    it("uses the current directory's buildpack plus the fixture final one when nothing names any", () => {
      expect(resolveBuildpacks({ ...base, given: [], manifestBuildpacks: [] }).buildpacks).to.deep.equal([REPO, FINAL]);
      expect(resolveBuildpacks({ ...base, cwd: FINAL, given: [], manifestBuildpacks: [] }).buildpacks).to.deep.equal([FINAL]);
    });

    it('passes names and URLs through on cf', () => {
      const r = resolveBuildpacks({ ...base, platform: 'cf', given: [], manifestBuildpacks: ['https://github.com/x/y-buildpack', 'ruby_buildpack'] });
      expect(r.buildpacks).to.deep.equal(['https://github.com/x/y-buildpack', 'ruby_buildpack']);
    });

    context('failure cases', () => {
      it('refuses a name or URL that is not last and matches nothing', () => {
        expect(() => resolveBuildpacks({ ...base, given: [], manifestBuildpacks: ['https://github.com/x/y-buildpack', 'final'] })).to.throw(/local platform cannot fetch/);
        expect(() => resolveBuildpacks({ ...base, cwd: work, given: [], manifestBuildpacks: [] })).to.throw(/has no bin\//);
      });
    });
  });

  describe('as a spawned process (node dist/cli.cjs push)', () => {
    it('stops, deletes the app and leaves no process behind on SIGINT', async function () {
      if (!existsSync(path.join(REPO, 'dist', 'cli.cjs'))) this.skip(); // npm run build makes it
      const tmp = await mkdtemp(path.join(os.tmpdir(), 'push-spawned-'));
      let spawned: ChildProcess | undefined;
      try {
        const port = String(await freePort());
        // an app env var of this run only: the instance's processes carry it in their environment
        const marker = `PUSH_MARKER=${path.basename(tmp)}`;
        const child = spawn(process.execPath, [path.join(REPO, 'dist', 'cli.cjs'), 'push', NODE_APP, '-b', zip, '--env', `CONFIG_SERVER_PORT=${port}`, '--env', marker], {
          cwd: REPO,
          // XDG_STATE_HOME: the app's state and droplets stay in this test's directory
          env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, XDG_STATE_HOME: tmp },
        });
        spawned = child;
        let out = '';
        let err = '';
        child.stderr.on('data', (c) => (err += c));
        const pids: number[] = [];
        await new Promise<void>((resolve, reject) => {
          child.on('exit', () => reject(new Error(`push exited early:\n${out}\n${err}`)));
          child.stdout.on('data', async (c) => {
            out += c;
            if (out.includes(SIDECAR_UP) && pids.length === 0) {
              pids.push(...(await processesWithEnv(marker)));
              resolve();
            }
          });
        });
        expect(pids.length, 'web and sidecar processes under the droplet').to.be.greaterThan(1);
        const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        child.removeAllListeners('exit');
        child.kill('SIGINT');
        expect(await exit, err).to.equal(130); // Ctrl-C: the app is deleted, exit 128 + SIGINT
        expect(out).to.include('[API/0] OUT Deleted app with guid');
        expect(await processesWithEnv(marker)).to.deep.equal([]);
        expect(pids.filter((p) => existsSync(`/proc/${p}`))).to.deep.equal([]);
        expect(await portAnswers(Number(port))).to.equal(false);
      } finally {
        // a failed assertion must not leave push (and the app it runs) behind to hold mocha open
        if (spawned && spawned.exitCode === null && spawned.signalCode === null) {
          const gone = new Promise((resolve) => spawned!.once('close', resolve));
          spawned.kill('SIGKILL');
          await gone;
        }
        await rm(tmp, { recursive: true, force: true });
      }
    });
  });
});

/** Pids of live (non-zombie) processes whose environment holds `needle` (Linux /proc). */
async function processesWithEnv(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (/^\d+ \(.*\) Z /.test(stat)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(needle)) pids.push(Number(entry));
  }
  return pids;
}
