import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { serve, TestServer } from '../helpers/http-server.js';
import { cleanup, makeFixture, packagerCases, tmpDir } from '../packager/helpers.js';
import { cli } from './helpers.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

const MANIFEST = `---
# agent buildpack: keep this comment
language: agent

default_versions:
- name: agent
  version: 1.0.x     # pinned line

dependencies:
# releases of the agent
- name: agent
  version: 1.0.0
  uri: https://releases.example.org/agent-1.0.0.tgz
  sha256: ${'a'.repeat(64)}
  cf_stacks:
  - cflinuxfs4

sidecars:
- name: agent
  dependency: agent
  command: bin/agent
  process_types: [web]
  memory: 64
`;

describe('sidecar-buildpack summary', () => {
  afterEach(cleanup);

  context('when run in a libbuildpack fixture', () => {
    it('prints the libbuildpack tables', async () => {
      const c = packagerCases.cases.find((x) => x.call === 'Summary' && x.fixture === 'good')!;
      const dir = await makeFixture('good');
      const r = await cli(['summary'], { cwd: dir });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(c.expectExact);
    });
  });

  context('when the manifest declares sidecars and --json is given', () => {
    it('prints the sidecars table, or the same facts as JSON', async () => {
      const dir = await tmpDir();
      await fs.writeFile(path.join(dir, 'manifest.yml'), MANIFEST);
      const text = await cli(['summary', '--dir', dir], { cwd: '/' });
      expect(text.stdout).to.include('\nSidecars:\n\n| name | process types | memory |\n|-|-|-|\n| agent | web | 64 MB |\n');
      const json = await cli(['summary', '--json', '--dir', dir], { cwd: '/' });
      expect(JSON.parse(json.stdout)).to.deep.include({
        default_versions: [{ name: 'agent', version: '1.0.x' }],
        sidecars: [{ name: 'agent', dependency: 'agent', process_types: ['web'], memory: 64 }],
      });
    });
  });

  context('failure cases', () => {
    it('exits 1 naming a missing manifest', async () => {
      const dir = await tmpDir();
      const r = await cli(['summary'], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`error: ${path.join(dir, 'manifest.yml')}: cannot be read (ENOENT)\n`);
    });
  });
});

describe('sidecar-buildpack dependency', () => {
  let server: TestServer;
  let dir: string;
  beforeEach(async () => {
    server = await TestServer.start();
    dir = await tmpDir();
    await fs.writeFile(path.join(dir, 'manifest.yml'), MANIFEST);
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });
  const manifest = () => fs.readFile(path.join(dir, 'manifest.yml'), 'utf8');

  describe('add', () => {
    context('when given a local --file', () => {
      it('writes the entry with its sha256, keeping the rest of the file byte for byte', async () => {
        await fs.writeFile(path.join(dir, 'agent-1.1.0.tgz'), 'release bytes');
        const r = await cli(['dependency', 'add', 'agent', '--version', '1.1.0', '--uri', 'https://releases.example.org/agent-1.1.0.tgz', '--file', 'agent-1.1.0.tgz'], { cwd: dir });
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.equal(`added agent 1.1.0 (cflinuxfs4) sha256 ${sha('release bytes')} in ${path.join(dir, 'manifest.yml')}\n`);
        const [head, tail] = MANIFEST.split('\nsidecars:');
        const text = await manifest();
        expect(text).to.equal(
          `${head}- name: agent\n  version: 1.1.0\n  uri: https://releases.example.org/agent-1.1.0.tgz\n  sha256: ${sha('release bytes')}\n  cf_stacks:\n  - cflinuxfs4\n\nsidecars:${tail}`,
        );
      });
    });

    context("when the buildpack has the files made from its manifest (init's dist/runtime.tsv and dist/manifest.json)", () => {
      it('writes them again from the edited manifest, so staging from the directory reads the new one; a buildpack without them gets none', async () => {
        const { compiledManifestFor, readCompiledManifest } = await import('../../src/manifest/compiled.js');
        const { parseManifest } = await import('../../src/manifest/parse.js');
        const { runtimeTableFor } = await import('../../src/packager/runtime-table.js');
        await fs.mkdir(path.join(dir, 'dist'));
        await fs.writeFile(path.join(dir, 'dist', 'manifest.json'), compiledManifestFor(MANIFEST, 'm', 'init', parseManifest));
        await fs.writeFile(path.join(dir, 'agent-1.1.0.tgz'), 'release bytes');
        const r = await cli(['dependency', 'add', 'agent', '--version', '1.1.0', '--uri', 'https://releases.example.org/agent-1.1.0.tgz', '--file', 'agent-1.1.0.tgz'], { cwd: dir });
        expect(r.code, r.stderr).to.equal(0);
        const text = await manifest();
        const compiled = readCompiledManifest(await fs.readFile(path.join(dir, 'dist', 'manifest.json'), 'utf8'), text, 'm');
        expect(compiled?.dependencies.map((d) => `${d.name} ${d.version}`)).to.include('agent 1.1.0');
        expect(await fs.stat(path.join(dir, 'dist', 'runtime.tsv')).then(() => true, () => false), 'no table was there, none is made').to.equal(false);
        await fs.writeFile(path.join(dir, 'dist', 'runtime.tsv'), runtimeTableFor(text, 'm', 'init', parseManifest));
        const u = await cli(['dependency', 'add', 'agent', '--version', '1.2.0', '--uri', 'https://releases.example.org/agent-1.2.0.tgz', '--file', 'agent-1.1.0.tgz'], { cwd: dir });
        expect(u.code, u.stderr).to.equal(0);
        expect(await fs.readFile(path.join(dir, 'dist', 'runtime.tsv'), 'utf8')).to.equal(runtimeTableFor(await manifest(), 'm', 'sidecar-buildpack dependency', parseManifest));
      });
    });

    context('when only --uri is given, with --default and two --stack', () => {
      it('downloads it to compute the sha256 and sets the default version', async () => {
        server.route('/agent-80.tgz', serve.bytes('eighty'));
        const r = await cli(['dependency', 'add', 'agent', '--version', '80', '--uri', server.url('/agent-80.tgz'), '--stack', 'cflinuxfs4', '--stack', 'cflinuxfs5', '--default'], { cwd: dir });
        expect(r.code, r.stderr).to.equal(0);
        const text = await manifest();
        expect(text).to.include('  version: "80"\n');
        expect(text).to.include('# agent buildpack: keep this comment');
        const parsed = YAML.parse(text);
        expect(parsed.default_versions).to.deep.equal([{ name: 'agent', version: '80' }]);
        expect(parsed.dependencies[1]).to.deep.equal({ name: 'agent', version: '80', uri: server.url('/agent-80.tgz'), sha256: sha('eighty'), cf_stacks: ['cflinuxfs4', 'cflinuxfs5'] });
      });
    });

    context('failure cases', () => {
      it('exits 1 and leaves the file alone when the entry exists', async () => {
        await fs.writeFile(path.join(dir, 'a.tgz'), 'x');
        const r = await cli(['dependency', 'add', 'agent', '--version', '1.0.0', '--uri', 'https://h/a.tgz', '--file', 'a.tgz'], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include('agent 1.0.0 is already listed for cflinuxfs4');
        expect(await manifest()).to.equal(MANIFEST);
      });
      it('exits 1 and leaves the file alone for a uri the manifest cannot hold', async () => {
        await fs.writeFile(path.join(dir, 'a.tgz'), 'x');
        const r = await cli(['dependency', 'add', 'agent', '--version', '2.0.0', '--uri', 'ftp://h/a.tgz', '--file', 'a.tgz'], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include('scheme ftp is not supported');
        expect(await manifest()).to.equal(MANIFEST);
      });
      it('exits 2 without --version', async () => {
        const r = await cli(['dependency', 'add', 'agent', '--uri', 'https://h/a.tgz'], { cwd: dir });
        expect(r.code).to.equal(2);
        expect(r.stderr).to.include("required option '--version <version>' not specified");
      });
      it('exits 1 when the uri cannot be downloaded', async () => {
        server.route('/missing.tgz', serve.status(404));
        const r = await cli(['dependency', 'add', 'agent', '--version', '2.0.0', '--uri', server.url('/missing.tgz')], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include('could not download').and.include('404');
      });
    });
  });

  describe('update', () => {
    it('replaces the entry in place', async () => {
      await fs.writeFile(path.join(dir, 'a.tgz'), 'new');
      const r = await cli(['dependency', 'update', 'agent', '--version', '1.0.1', '--uri', 'https://releases.example.org/agent-1.0.1.tgz', '--file', 'a.tgz'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      const text = await manifest();
      expect(text).to.equal(MANIFEST.replace('version: 1.0.0', 'version: 1.0.1').replace('agent-1.0.0.tgz', 'agent-1.0.1.tgz').replace('a'.repeat(64), sha('new')));
    });
    context('when the staging runtime is listed for two stacks and the edit leaves one without a match for its default', () => {
      it('exits 1 naming the key and that stack, and changes no file', async () => {
        const { runtimeTableFor } = await import('../../src/packager/runtime-table.js');
        const { parseManifest } = await import('../../src/manifest/parse.js');
        const node = (stack: string, c: string) => `- name: node\n  version: 22.1.0\n  uri: https://h/node-${stack}.tgz\n  sha256: ${c.repeat(64)}\n  cf_stacks:\n  - ${stack}\n`;
        const text = MANIFEST.replace('  version: 1.0.x     # pinned line\n', '  version: 1.0.x     # pinned line\n- name: node\n  version: 22.x\n').replace(
          '\nsidecars:',
          `${node('cflinuxfs4', 'b')}${node('cflinuxfs5', 'c')}\nsidecars:`,
        );
        await fs.writeFile(path.join(dir, 'manifest.yml'), text);
        await fs.mkdir(path.join(dir, 'dist'));
        const table = runtimeTableFor(text, 'm', 'init', parseManifest);
        await fs.writeFile(path.join(dir, 'dist', 'runtime.tsv'), table);
        await fs.writeFile(path.join(dir, 'node.tgz'), 'not a runtime');
        const update = (more: string[]) =>
          cli(['dependency', 'update', 'node', '--version', '20.1.0', '--uri', 'https://h/node-20.tgz', '--file', 'node.tgz', '--stack', 'cflinuxfs4', ...more], { cwd: dir });
        const file = path.join(dir, 'manifest.yml');
        const r = await update([]);
        expect(r.code, r.stdout).to.equal(1);
        expect(r.stderr).to.include(`${file}: default_versions[1].version: node 22.x matches no node dependency for stack cflinuxfs4 (its versions: 20.1.0)`);
        const d = await update(['--default']);
        expect(d.code, d.stdout).to.equal(1);
        expect(d.stderr).to.include(`${file}: default_versions[1].version: node 20.1.0 matches no node dependency for stack cflinuxfs5 (its versions: 22.1.0)`);
        expect(await manifest()).to.equal(text);
        expect(await fs.readFile(path.join(dir, 'dist', 'runtime.tsv'), 'utf8')).to.equal(table);
      });
    });
  });

  describe('add node (the staging runtime)', () => {
    it("records its archive's head, and update drops it for an archive that has none", async () => {
      const { runtimeHead } = await import('../../src/packager/runtime-head.js');
      const { runtimeRows } = await import('../../src/packager/runtime-table.js');
      const { parseManifest } = await import('../../src/manifest/parse.js');
      const src = path.join(dir, 'src');
      await fs.mkdir(path.join(src, 'bin'), { recursive: true });
      await fs.mkdir(path.join(src, 'lib'), { recursive: true });
      await fs.writeFile(path.join(src, 'bin', 'node'), randomBytes(100 * 1024));
      await fs.writeFile(path.join(src, 'lib', 'npm.js'), randomBytes(200 * 1024));
      const tgz = path.join(dir, 'node.tgz');
      expect(spawnSync('tar', ['-czf', tgz, '-C', src, 'bin', 'lib']).status).to.equal(0);
      const head = (await runtimeHead(tgz))!;
      const r = await cli(['dependency', 'add', 'node', '--version', '22.1.0', '--uri', 'https://h/node-22.1.0.tgz', '--file', 'node.tgz'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain(`its bin/node is in the archive's first ${head.bytes} bytes (sha256 ${head.sha256})`);
      const text = await manifest();
      expect(text).to.contain(`  bin_node_head_bytes: ${head.bytes}\n  bin_node_head_sha256: ${head.sha256}\n`);
      expect(runtimeRows(parseManifest(text, 'm'))[0]).to.include({ headBytes: head.bytes, headSha256: head.sha256 });
      // an archive with nothing after bin/node: no head to keep, and the old one is gone
      await fs.rm(path.join(src, 'lib'), { recursive: true });
      expect(spawnSync('tar', ['-czf', tgz, '-C', src, 'bin']).status).to.equal(0);
      const u = await cli(['dependency', 'update', 'node', '--version', '22.1.1', '--uri', 'https://h/node-22.1.1.tgz', '--file', 'node.tgz'], { cwd: dir });
      expect(u.code, u.stderr).to.equal(0);
      expect(await manifest()).not.to.contain('bin_node_head');
    });
  });

  describe('verify', () => {
    it('prints a table and exits 0 when every digest matches', async () => {
      server.route('/ok.tgz', serve.bytes('ok'));
      await fs.writeFile(path.join(dir, 'manifest.yml'), MANIFEST.replace('https://releases.example.org/agent-1.0.0.tgz', server.url('/ok.tgz')).replace('a'.repeat(64), sha('ok')));
      const r = await cli(['dependency', 'verify'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(`| name | version | cf_stacks | uri | result |\n|-|-|-|-|-|\n| agent | 1.0.0 | cflinuxfs4 | ${server.url('/ok.tgz')} | ok |\n`);
    });

    it('warns about a misspelled top-level key on stderr', async () => {
      server.route('/ok.tgz', serve.bytes('ok'));
      await fs.writeFile(path.join(dir, 'manifest.yml'), `${MANIFEST.replace('https://releases.example.org/agent-1.0.0.tgz', server.url('/ok.tgz')).replace('a'.repeat(64), sha('ok'))}dependancies: []\n`);
      const r = await cli(['dependency', 'verify'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.equal(`warning: ${path.join(dir, 'manifest.yml')}: unknown top-level key "dependancies" is ignored; did you mean "dependencies"?\n`);
    });

    context('failure cases', () => {
      it('reports every mismatch and failure, and exits 1', async () => {
        server.route('/ok.tgz', serve.bytes('ok'));
        server.route('/bad.tgz', serve.bytes('tampered'));
        server.route('/gone.tgz', serve.status(404));
        const entries = [
          ['1.0.0', '/ok.tgz', sha('ok')],
          ['1.0.1', '/bad.tgz', sha('original')],
          ['1.0.2', '/gone.tgz', sha('x')],
        ].map(([v, p, s]) => `- {name: agent, version: ${v}, uri: "${server.url(p)}", sha256: ${s}, cf_stacks: [cflinuxfs4]}`);
        await fs.writeFile(path.join(dir, 'manifest.yml'), `language: agent\ndependencies:\n${entries.join('\n')}\n`);
        const r = await cli(['dependency', 'verify', '--json'], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.equal('error: 2 of 3 dependencies failed verification\n');
        const results = JSON.parse(r.stdout);
        expect(results.map((x: { status: string }) => x.status)).to.deep.equal(['ok', 'mismatch', 'failed']);
        expect(results[1].actual).to.equal(sha('tampered'));
        expect(results[2].error).to.include('404');
      });
    });
  });
});

describe('sidecar-buildpack (usage and errors)', () => {
  afterEach(cleanup);

  it('prints help and exits 0 with --help', async () => {
    const r = await cli(['--help'], { cwd: '/' });
    expect(r.code).to.equal(0);
    for (const c of ['init', 'package', 'summary', 'dependency']) expect(r.stdout).to.include(c);
  });

  context('failure cases', () => {
    it('exits 2 for an unknown command or option', async () => {
      expect((await cli(['frobnicate'], { cwd: '/' })).code).to.equal(2);
      const r = await cli(['package', '--stak', 'x'], { cwd: '/' });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("unknown option '--stak'");
    });
    it('exits 2 with no command', async () => {
      const r = await cli([], { cwd: '/' });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('Usage: sidecar-buildpack');
    });
    it('prints the stack of an error that is not ours (a bug) and exits 70', async () => {
      const r = await cli(['boom'], {
        cwd: '/',
        commands: [
          (program) => {
            program.command('boom').action(() => {
              throw new TypeError('undefined is not a function');
            });
          },
        ],
      });
      expect(r.code).to.equal(70);
      expect(r.stderr).to.include('internal error (a bug in sidecar-buildpack').and.include('TypeError: undefined is not a function\n    at ');
    });
  });
});
