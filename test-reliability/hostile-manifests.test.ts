// Hostile manifests and env (issue 6), staged through the real bin/supply: each input is either
// rejected with one error naming the key or variable, or carried as inert data that reaches the
// sidecar verbatim through launch.yml and profile.d — never executed, never breaking them.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { stripAnsi } from '../src/log/logger.js';
import { serve, TestServer } from '../test/helpers/http-server.js';
import { sha256, tgzBuffer } from '../test/helpers/archives.js';
import { agentManifest, leftoversAfterFailure, makeBuildpack, runSupply, stagingDirs, tempRoot, tree, type StagingDirs, type SupplyRun } from './helpers/staging.js';

const HEX = 'a'.repeat(64);

describe('reliability: hostile manifests and env', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  /** Created by any hostile value that gets executed. */
  let pwned: string;
  let dep: { body: Buffer; sha256: string };

  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
    pwned = path.join(root.dir, 'PWNED');
    // The agent records its argv and one env value, so tests can see what reached it.
    const body = await tgzBuffer({
      'bin/agent': '#!/bin/sh\nprintf "%s" "$AGENT_LABEL" > "$OUT_DIR/label"\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$OUT_DIR/args"\n',
    });
    dep = { body, sha256: sha256(body) };
    server.route('/agent.tgz', serve.bytes(body));
  });
  afterEach(async () => {
    await server.close();
    await root.remove();
  });

  async function stage(manifest: string, env: Record<string, string> = {}): Promise<{ run: SupplyRun; dirs: StagingDirs }> {
    const bp = path.join(root.dir, 'bp');
    await fs.rm(bp, { recursive: true, force: true });
    await makeBuildpack(bp, manifest);
    const dirs = await stagingDirs(root.dir);
    return { run: await runSupply(bp, dirs, { env: { HOME: root.dir, ...env } }), dirs };
  }

  async function expectRejected(run: SupplyRun, dirs: StagingDirs, names: string): Promise<void> {
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    const errors = run.stdout.split('\n').filter((l) => l.includes('**ERROR**'));
    expect(errors, run.stdout).to.have.length(1);
    expect(errors[0]).to.include(names);
    expect(run.stderr).not.to.include('a bug');
    expect(await fs.stat(pwned).catch(() => null), 'a hostile value was executed').to.equal(null);
    expect(await leftoversAfterFailure(dirs, run)).to.deep.equal([]);
    expect(await tree(path.join(dirs.deps, '0')), 'no launch.yml or config.yml from a failed staging').to.deep.equal([]);
  }

  const base = (extra = ''): string => agentManifest({ uri: server.url('/agent.tgz'), sha256: dep.sha256 }, extra);

  describe('manifest.yml', () => {
    it('a misspelled top-level key (sidecar:): staging warns with a "did you mean" instead of ignoring it in silence', async () => {
      const { run, dirs } = await stage(base().replace('\nsidecars:\n', '\nsidecar:\n'));
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(stripAnsi(run.stdout)).to.match(/\*\*WARNING\*\* \S*manifest\.yml: unknown top-level key "sidecar" is ignored; did you mean "sidecars"\?/);
      const launch = await fs.readFile(path.join(dirs.deps, '0', 'launch.yml'), 'utf8').catch(() => '');
      expect((YAML.parse(launch) as { processes?: unknown[] } | null)?.processes ?? [], 'no sidecar was declared').to.deep.equal([]);
    });

    context('failure cases', () => {
      it('broken YAML: refused naming the line and column', async () => {
        const { run, dirs } = await stage(`${base()}include_files: [a, b\n`);
        await expectRejected(run, dirs, 'manifest.yml: invalid YAML at line ');
        expect(run.stdout).to.match(/invalid YAML at line \d+, column \d+: /);
      });

      it('a YAML alias bomb: refused, naming the file', async () => {
        const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
        for (let i = 1; i < 10; i++) {
          const prev = String.fromCharCode(96 + i);
          const cur = String.fromCharCode(97 + i);
          levels.push(`${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
        }
        const { run, dirs } = await stage(`${base()}${levels.join('\n')}\n`, { NODE_OPTIONS: '--max-old-space-size=64' });
        await expectRejected(run, dirs, 'manifest.yml: too many YAML aliases');
      });

      it('a 50 MiB manifest: refused by size without loading it (Node heap capped at 32 MiB)', async () => {
        const filler = `# ${'x'.repeat(1022)}\n`;
        const { run, dirs } = await stage(base() + filler.repeat(50 * 1024), { NODE_OPTIONS: '--max-old-space-size=32' });
        await expectRejected(run, dirs, 'manifest.yml: is 5');
        expect(run.stdout).to.include('over the 10 MiB limit for a manifest');
      });

      const invalid: Array<[string, () => string, string]> = [
        ['a duplicate top-level key', () => `language: x\n${base()}`, 'language: duplicate key "language"'],
        ['a duplicate key in a dependency', () => base().replace('  cf_stacks:', `  sha256: ${HEX}\n  cf_stacks:`), 'dependencies[0].sha256: duplicate key "sha256"'],
        ['dependencies as a string', () => 'language: x\ndependencies: "none"\n', 'dependencies'],
        ['a dependency that is a list', () => 'language: x\ndependencies:\n- [a, b]\n', 'dependencies[0]'],
        ['memory as "64M"', () => base('  memory: 64M\n'), 'sidecars[0].memory'],
        ['memory as a mapping', () => base('  memory: {mb: 64}\n'), 'sidecars[0].memory'],
        ['process_types as a string', () => base('  process_types: web\n'), 'sidecars[0].process_types'],
        ['env as a list', () => base('  env: [A, B]\n'), 'sidecars[0].env'],
        ['a sha256 of 63 hex chars', () => base().replace(dep.sha256, dep.sha256.slice(1)), 'dependencies[0].sha256: not a sha256'],
        ['a sha256 of 65 hex chars', () => base().replace(dep.sha256, `${dep.sha256}0`), 'dependencies[0].sha256: not a sha256'],
        ['a sha256 with non-hex chars', () => base().replace(dep.sha256, `${dep.sha256.slice(0, 63)}g`), 'dependencies[0].sha256: not a sha256'],
        ['a sha256 with a shell payload', () => base().replace(dep.sha256, `$(touch ${'PWNED'})`), 'dependencies[0].sha256: not a sha256'],
        ['an ftp URI', () => agentManifest({ uri: 'ftp://127.0.0.1/agent.tgz', sha256: HEX }), 'dependencies[0].uri: scheme ftp is not supported'],
        ['a data: URI', () => agentManifest({ uri: 'data:text/plain,hello', sha256: HEX }), 'dependencies[0].uri: scheme data is not supported'],
        ['a javascript: URI', () => agentManifest({ uri: 'javascript:alert(1)', sha256: HEX }), 'dependencies[0].uri: scheme javascript is not supported'],
        ['an ssh URI', () => agentManifest({ uri: 'ssh://git@127.0.0.1/x.tgz', sha256: HEX }), 'dependencies[0].uri: scheme ssh is not supported'],
        ['a relative URI', () => agentManifest({ uri: 'agent.tgz', sha256: HEX }), 'dependencies[0].uri: not a valid URI'],
        ['a sidecar name with ;', () => base().replace('sidecars:\n- name: agent\n', 'sidecars:\n- name: "agent;touch PWNED"\n'), 'sidecars[0].name'],
        ['a sidecar name with $()', () => base().replace('sidecars:\n- name: agent\n', 'sidecars:\n- name: "$(touch PWNED)"\n'), 'sidecars[0].name'],
        ['a sidecar name with a newline', () => base().replace('sidecars:\n- name: agent\n', 'sidecars:\n- name: "agent\\ntouch PWNED"\n'), 'sidecars[0].name'],
        ['a sidecar name with a backtick', () => base().replace('sidecars:\n- name: agent\n', 'sidecars:\n- name: "a`id`"\n'), 'sidecars[0].name'],
        ['an env name with metacharacters', () => base('  env:\n    "A;touch PWNED": x\n'), 'sidecars[0].env.A;touch PWNED'],
        ['a process type with metacharacters', () => base('  process_types: ["web;id"]\n'), 'sidecars[0].process_types[0]'],
        ['an absolute sidecar command', () => base().replace('command: bin/agent', 'command: /bin/sh'), 'sidecars[0].command'],
        ['a sidecar command escaping its dependency', () => base().replace('command: bin/agent', 'command: ../../bin/sh'), 'sidecars[0].command'],
        ['a command with a NUL', () => base().replace('command: bin/agent', 'command: "bin/agent\\0x"'), 'sidecars[0].command'],
      ];
      for (const [title, manifest, names] of invalid) {
        it(`${title}: rejected naming ${names}`, async () => {
          const { run, dirs } = await stage(manifest());
          await expectRejected(run, dirs, `manifest.yml: ${names}`);
        });
      }
    });
  });

  describe('file: URIs', () => {
    it('a regular file is installed', async () => {
      const file = path.join(root.dir, 'agent.tgz');
      await fs.writeFile(file, dep.body);
      const { run, dirs } = await stage(agentManifest({ uri: `file://${file}`, sha256: dep.sha256 }));
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(await fs.stat(path.join(dirs.deps, '0', 'agent', 'bin', 'agent')).then((s) => s.isFile())).to.equal(true);
    });

    context('failure cases', () => {
      // Regression: file: URIs were opened whatever they named, so a device streamed without end
      // (filling the disk) and a fifo blocked staging for ever. The guard kill turns a hang into a failure.
      const special: Array<[string, () => Promise<string>]> = [
        ['a fifo nobody writes', async () => {
          const fifo = path.join(root.dir, 'agent.fifo');
          expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
          return fifo;
        }],
        ['/dev/zero', async () => '/dev/zero'],
        ['a directory', async () => root.dir],
      ];
      for (const [title, make] of special) {
        it(`${title}: refused as not a regular file`, async () => {
          const target = await make();
          const bp = path.join(root.dir, 'bp');
          await makeBuildpack(bp, agentManifest({ uri: `file://${target}`, sha256: HEX }));
          const dirs = await stagingDirs(root.dir);
          const run = await runSupply(bp, dirs, { killAfterMs: 60_000 });
          expect(run.signal, 'staging hung').to.equal(null);
          await expectRejected(run, dirs, `could not download file://${target}: cannot read ${target}: not a regular file`);
        });
      }
    });
  });

  describe('app developer overrides', () => {
    context('failure cases', () => {
      const invalid: Array<[string, string, string]> = [
        ['AGENT_VERSION', `1.x; touch ${'PWNED'}`, 'AGENT_VERSION: not a version constraint'],
        ['AGENT_VERSION', '$(touch PWNED)', 'AGENT_VERSION: not a version constraint'],
        ['AGENT_VERSION', '1.x\ntouch PWNED', 'AGENT_VERSION: must be a single line'],
        ['AGENT_VERSION', '`touch PWNED`', 'AGENT_VERSION: not a version constraint'],
        ['AGENT_MEMORY', '64; touch PWNED', 'AGENT_MEMORY: must be a positive whole number'],
        ['AGENT_MEMORY', '64\n', 'AGENT_MEMORY: must be a single line'],
        ['AGENT_MEMORY', '$((64*2))', 'AGENT_MEMORY: must be a positive whole number'],
        ['AGENT_MEMORY', '64M', 'AGENT_MEMORY: must be a positive whole number'],
        ['AGENT_DISABLED', 'true;touch PWNED', 'AGENT_DISABLED: must be true or false'],
        ['AGENT_READINESS', 'off\nrm -rf /', 'AGENT_READINESS: must be a single line'],
      ];
      for (const [name, value, message] of invalid) {
        it(`${name}=${JSON.stringify(value)}: rejected naming the variable`, async () => {
          const { run, dirs } = await stage(base(), { [name]: value });
          await expectRejected(run, dirs, message);
        });
      }
    });
  });

  describe('hostile values carried as data', () => {
    const HOSTILE = `it's "$(touch ${'$HOME'}/PWNED)" \`touch $HOME/PWNED\` $HOME ; touch $HOME/PWNED \\n\nline2 | & > < * ? é ☃`;

    it('env defaults, args and the command path reach the sidecar verbatim through launch.yml and profile.d', async () => {
      const manifest = base(`  args: [${JSON.stringify(HOSTILE)}, "--x=$(touch $HOME/PWNED)"]\n  env:\n    AGENT_LABEL: ${JSON.stringify(HOSTILE)}\n`);
      const { run, dirs } = await stage(manifest, { AGENT_MEMORY: '128', AGENT_VERSION: '>=1.0.0 <2.0.0' });
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      const launch = YAML.parse(await fs.readFile(path.join(dirs.deps, '0', 'launch.yml'), 'utf8'));
      expect(launch.processes).to.have.length(1);
      expect(launch.processes[0]).to.deep.include({ type: 'agent', limits: { memory: 128 } });
      const profile = path.join(dirs.deps, '0', 'profile.d', 'agent.sh');
      for (const shell of ['sh', 'bash']) expect(spawnSync(shell, ['-n', profile]).status, `${shell} -n profile.d`).to.equal(0);

      // Start it as the launcher does: source profile.d, then `bash -c <command>`.
      const out = path.join(root.dir, 'out');
      await fs.mkdir(out);
      const launcher = 'cd "$1"; for f in "$DEPS_DIR"/0/profile.d/*; do . "$f"; done; shift; exec bash -c "$1"';
      const started = spawnSync('/bin/bash', ['-c', launcher, 'launcher', dirs.build, launch.processes[0].command], {
        env: { PATH: process.env.PATH, HOME: root.dir, DEPS_DIR: dirs.deps, OUT_DIR: out },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(started.status, started.stdout + started.stderr).to.equal(0);
      expect(await fs.readFile(path.join(out, 'label'), 'utf8')).to.equal(HOSTILE);
      expect(await fs.readFile(path.join(out, 'args'), 'utf8')).to.equal(`${HOSTILE}\n--x=$(touch $HOME/PWNED)\n`);
      expect(await fs.stat(pwned).catch(() => null), 'a hostile value was executed').to.equal(null);
    });

    it('a command path with metacharacters is quoted: never run as shell', async () => {
      // The dependency really holds a program of that name (staging refuses a command it does
      // not contain): launched, it is that file that runs, and no part of its name as shell.
      const weird = 'bin/$(touch${IFS}$HOME/PWNED)`id>$HOME/PWNED`';
      const body = await tgzBuffer({ [weird]: '#!/bin/sh\necho ran-as-a-file\n' });
      server.route('/weird.tgz', serve.bytes(body));
      const manifest = agentManifest({ uri: server.url('/weird.tgz'), sha256: sha256(body) }).replace('command: bin/agent', `command: ${JSON.stringify(weird)}`);
      const { run, dirs } = await stage(manifest);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      const launch = YAML.parse(await fs.readFile(path.join(dirs.deps, '0', 'launch.yml'), 'utf8'));
      const started = spawnSync('/bin/bash', ['-c', launch.processes[0].command], { env: { PATH: process.env.PATH, HOME: root.dir, DEPS_DIR: dirs.deps }, encoding: 'utf8', timeout: 30_000 });
      expect([started.status, started.stdout], started.stderr).to.deep.equal([0, 'ran-as-a-file\n']);
      expect(await fs.stat(pwned).catch(() => null), 'a hostile value was executed').to.equal(null);
    });
  });
});
