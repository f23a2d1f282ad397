// The committed supply bundle is two files (scripts/build.mjs): dist/supply.cjs, which node parses
// at every staging, and dist/supply-lazy.cjs, the packages staging loads only on its slower paths.
// A staging from the app cache or a cached buildpack, with a compiled manifest, must never touch
// the second; a download, a zip or a manifest to parse loads it; without it those fail clearly.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeBenchBuildpack } from '../../bench/lib/buildpack.js';
import { COMPILED_MANIFEST_PATH } from '../../src/manifest/compiled.js';
import { sha256, tgzBuffer, writeZip } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { runAsync } from '../helpers/spawn.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { useTmpDirs } from '../helpers/tmp.js';

describe('the supply bundle and its lazily loaded part (dist/supply-lazy.cjs)', function () {
  this.timeout(60_000);
  const tmpDir = useTmpDirs('lazy-bundle-');
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => server.close());

  const PROBE = '#!/bin/sh\necho probe\n';
  async function setup(kind: 'tgz' | 'zip' = 'tgz') {
    const root = await tmpDir();
    const archive = kind === 'tgz' ? await tgzBuffer({ 'bin/probe': PROBE }) : await fs.readFile(await writeZip(path.join(root, 'probe.zip'), { 'bin/probe': PROBE }));
    const route = `/probe-${path.basename(root)}.${kind}`;
    server.route(route, serve.bytes(archive));
    const bp = await makeBenchBuildpack(path.join(root, 'bp'), {
      dependencies: [{ name: 'probe', version: '1.0.0', uri: server.url(route), sha256: sha256(archive) }],
      sidecars: [{ name: 'probe', dependency: 'probe', command: 'bin/probe' }],
    });
    const [app, cache, deps] = ['app', 'cache', 'deps'].map((d) => path.join(root, d));
    for (const d of [app, cache]) await fs.mkdir(d, { recursive: true });
    const stage = async () => {
      await fs.rm(deps, { recursive: true, force: true });
      await fs.mkdir(path.join(deps, '0'), { recursive: true });
      return runAsync('node', [path.join(bp, 'dist', 'supply.cjs'), app, cache, deps, '0'], { env: { PATH: process.env.PATH ?? '', CF_STACK: 'cflinuxfs4', HOME: root, BP_DEBUG: '1' } });
    };
    const installed = () => fs.readFile(path.join(deps, '0', 'probe', 'bin', 'probe'), 'utf8');
    const removeLazy = () => fs.rm(path.join(bp, 'dist', 'supply-lazy.cjs'));
    return { bp, stage, installed, removeLazy };
  }

  it('is beside the committed bundle, which requires nothing else of its own', async () => {
    const text = await fs.readFile(path.join(REPO_ROOT, 'dist', 'supply.cjs'), 'utf8');
    expect(text).to.include('require("./supply-lazy.cjs")');
    expect((await fs.stat(path.join(REPO_ROOT, 'dist', 'supply-lazy.cjs'))).isFile()).to.equal(true);
  });

  it('a staging from the app cache with the compiled manifest never loads it', async () => {
    const s = await setup();
    const first = await s.stage();
    expect(first.status, first.stdout + first.stderr).to.equal(0);
    expect(first.stdout).to.include(`manifest: ${COMPILED_MANIFEST_PATH}, made from this manifest.yml`);
    await s.removeLazy();
    const warm = await s.stage();
    expect(warm.status, warm.stdout + warm.stderr).to.equal(0);
    expect(warm.stdout).to.include('Using cached probe 1.0.0');
    expect(await s.installed()).to.equal(PROBE);
  });

  it('a download without it fails with exit 1, saying what is missing (no "unexpected error")', async () => {
    const s = await setup();
    await s.removeLazy();
    const r = await s.stage();
    expect(r.status, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout).to.include('the buildpack has dist/supply.cjs without dist/supply-lazy.cjs beside it');
    expect(r.stderr).to.not.include('unexpected error');
  });

  it('a manifest.yml edited since the compiled manifest was made is parsed, with the YAML parser from it', async () => {
    const s = await setup();
    const file = path.join(s.bp, 'manifest.yml');
    await fs.writeFile(file, `${await fs.readFile(file, 'utf8')}# edited\n`);
    const r = await s.stage();
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('manifest.yml parsed (no dist/manifest.json made from it)');
    await s.removeLazy();
    const without = await s.stage();
    expect(without.status).to.equal(1);
    expect(without.stdout).to.include('without dist/supply-lazy.cjs beside it');
  });

  it('compiles only the packages a staging asks for: a download never compiles the YAML parser', async () => {
    const s = await setup();
    const file = path.join(s.bp, 'dist', 'supply-lazy.cjs');
    const text = await fs.readFile(file, 'utf8');
    const section = '\n"yaml": "';
    expect(text, 'the YAML parser is a section of its own').to.include(section);
    await fs.writeFile(file, text.replace(section, `${section}throw new Error('the YAML section was compiled');`));
    const r = await s.stage();
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('Download [');
    expect(await s.installed()).to.equal(PROBE);
    // a manifest to parse is what needs it
    const manifest = path.join(s.bp, 'manifest.yml');
    await fs.writeFile(manifest, `${await fs.readFile(manifest, 'utf8')}# edited\n`);
    const parsed = await s.stage();
    expect(parsed.status).to.not.equal(0);
    expect(parsed.stdout + parsed.stderr).to.include('the YAML section was compiled');
  });

  it('downloads and unpacks a zip with it (node-fetch and yauzl come from it)', async () => {
    const s = await setup('zip');
    const r = await s.stage();
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Download \[.*\.zip\]/);
    expect(await s.installed()).to.equal(PROBE);
  });
});
