import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseManifest } from '../../src/manifest/parse.js';
import { parseRuntimeTable } from '../../src/packager/runtime-table.js';
import { tgzBuffer } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { cleanup, readZip, tmpDir, zipinfoModes } from '../packager/helpers.js';
import { cli, toolkitRoot } from './helpers.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** A staging runtime archive shaped like CF's node dependency (the packager keeps only its bin/node). */
const NODE_BIN = '#!/bin/sh\necho not really node\n';

describe('sidecar-buildpack init', () => {
  let server: TestServer;
  let work: string;
  let toolkit: Awaited<ReturnType<typeof toolkitRoot>>;
  beforeEach(async () => {
    server = await TestServer.start();
    const nodeTgz = await tgzBuffer({ 'bin/node': NODE_BIN, 'bin/npm': '#!/bin/sh\n' });
    server.route('/node.tgz', serve.bytes(nodeTgz));
    work = await tmpDir('sbp-init-');
    toolkit = await toolkitRoot({ uri: server.url('/node.tgz'), sha256: sha(nodeTgz) });
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });

  const init = (dir: string, name: string) => cli(['init', dir, '--name', name, '--toolkit-root', toolkit.root], { cwd: work });

  context('when DIR does not exist', () => {
    it('scaffolds a valid sidecar buildpack with shims, bundle, placeholder dependency and fixture app', async () => {
      const r = await init('my-agent-buildpack', 'my-agent');
      expect(r.code, r.stderr).to.equal(0);
      const dir = path.join(work, 'my-agent-buildpack');
      expect(r.stdout).to.include(`created my-agent buildpack in ${dir}`);
      const text = await fs.readFile(path.join(dir, 'manifest.yml'), 'utf8');
      const m = parseManifest(text, 'manifest.yml');
      expect(m.language).to.equal('my-agent');
      expect(m.sidecars.map((s) => [s.name, s.dependency, s.command, s.process_types, s.memory])).to.deep.equal([['my-agent', 'my-agent', 'bin/my-agent', ['web'], 64]]);
      expect(m.include_files).to.deep.equal(['README.md', 'VERSION', 'bin/detect', 'bin/supply', 'dist/*.cjs', 'manifest.yml']);
      expect(m.default_versions).to.deep.equal([{ name: 'my-agent', version: '0.0.x' }, { name: 'node', version: '22.x' }]);
      expect(text).to.include('# PLACEHOLDER:');
      expect(text).to.include('# Staging-only Node.js runtime');
      const placeholder = m.dependencies[0];
      expect(placeholder.uri).to.equal(`file://${path.join(dir, 'artifacts', 'my-agent-0.0.1-linux-x64.tgz')}`);
      expect(placeholder.sha256).to.equal(sha(await fs.readFile(path.join(dir, 'artifacts', 'my-agent-0.0.1-linux-x64.tgz'))));
      const listing = spawnSync('tar', ['-tzvf', path.join(dir, 'artifacts', 'my-agent-0.0.1-linux-x64.tgz')], { encoding: 'utf8' }).stdout;
      expect(listing).to.match(/^-rwxr-xr-x .* bin\/my-agent$/m);
      expect((await fs.stat(path.join(dir, 'bin', 'supply'))).mode & 0o777).to.equal(0o755);
      expect(await fs.readFile(path.join(dir, 'bin', 'supply'))).to.deep.equal(await fs.readFile(path.join(toolkit.root, 'bin', 'supply')));
      expect(await fs.readFile(path.join(dir, 'dist', 'supply.cjs'))).to.deep.equal(await fs.readFile(path.join(toolkit.root, 'dist', 'supply.cjs')));
      expect(await fs.readFile(path.join(dir, 'fixtures', 'app', 'Procfile'), 'utf8')).to.equal('web: node server.js\n');
      expect(await fs.readFile(path.join(dir, 'VERSION'), 'utf8')).to.equal('0.1.0\n');
      // the staging runtime table bin/supply reads on a stack without node
      const table = parseRuntimeTable(await fs.readFile(path.join(dir, 'dist', 'runtime.tsv'), 'utf8'));
      expect(table.manifestSha256).to.equal(sha(text));
      expect(table.rows.map((r) => [r.stack, r.version, r.uri])).to.deep.equal([
        ['cflinuxfs4', '22.1.0', server.url('/node.tgz')],
        ['*', '22.1.0', server.url('/node.tgz')],
      ]);
    });

    it('packages out of the box, uncached and cached', async () => {
      await init('bp', 'my-agent');
      const dir = path.join(work, 'bp');
      const uncached = await cli(['package', '--stack', 'cflinuxfs4', '--json'], { cwd: dir, env: { HOME: work } });
      expect(uncached.code, uncached.stderr).to.equal(0);
      const zip = await readZip(JSON.parse(uncached.stdout).zipPath);
      const lazy = (await fs.stat(path.join(toolkit.root, 'dist', 'supply-lazy.cjs')).then(() => true, () => false)) ? ['dist/supply-lazy.cjs'] : [];
      expect([...zip.keys()]).to.deep.equal(['README.md', 'VERSION', 'bin/detect', 'bin/supply', 'dist/manifest.json', 'dist/runtime.tsv', ...lazy, 'dist/supply.cjs', 'manifest.yml']);
      expect(zipinfoModes(JSON.parse(uncached.stdout).zipPath).get('bin/supply')).to.equal('-rwxr-xr-x');
      const cached = await cli(['package', '--cached', '--stack', 'cflinuxfs4', '--json'], { cwd: dir, env: { HOME: work } });
      expect(cached.code, cached.stderr).to.equal(0);
      const cachedZip = await readZip(JSON.parse(cached.stdout).zipPath);
      const deps = YAML.parse(cachedZip.get('manifest.yml')!.data.toString()).dependencies as { name: string; file?: string }[];
      expect(deps.map((d) => [d.name, Boolean(d.file)])).to.deep.equal([['my-agent', true], ['node', false]]);
      // the runtime travels as its bare bin/node, named with its sha256 in the zip's runtime table
      const [row] = parseRuntimeTable(cachedZip.get('dist/runtime.tsv')!.data.toString()).rows;
      expect(cachedZip.get(row.file!)!.data.toString()).to.equal(NODE_BIN);
      expect(row.fileSha256).to.equal(sha(NODE_BIN));
    });
  });

  context('failure cases', () => {
    it('refuses a non-empty DIR', async () => {
      await fs.mkdir(path.join(work, 'full'));
      await fs.writeFile(path.join(work, 'full', 'keep.txt'), 'mine');
      const r = await init('full', 'agent');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`error: ${path.join(work, 'full')} is not empty: init only writes into a new or empty directory\n`);
      expect(await fs.readdir(path.join(work, 'full'))).to.deep.equal(['keep.txt']);
    });
    it('refuses a name that cannot be a sidecar name', async () => {
      const r = await init('x', 'My Agent');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('invalid name "My Agent"');
    });
    it('exits 2 without --name', async () => {
      expect((await cli(['init', 'x'], { cwd: work })).code).to.equal(2);
    });
    it("names the bundle's lazily loaded part when the toolkit's bundle requires it and it is missing", async function () {
      const lazy = path.join(toolkit.root, 'dist', 'supply-lazy.cjs');
      if (!(await fs.stat(lazy).then(() => true, () => false))) this.skip(); // a one-file bundle built from the sources
      await fs.rm(lazy);
      const r = await init('x', 'agent');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('has no dist/supply-lazy.cjs, which its dist/supply.cjs requires');
    });
    it('names the missing file of a broken toolkit', async () => {
      await fs.rm(path.join(toolkit.root, 'dist', 'supply.cjs'));
      const r = await init('x', 'agent');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('has no dist/supply.cjs');
    });
  });
});
