// A staging on a stack without node runs the runtime dist/runtime.tsv names, and that table
// records the manifest.yml it was written from. bin/supply names that record to the bundle, which
// hashes manifest.yml's text anyway and warns when the manifest was edited since (the runtime may
// then not be the manifest's); the staging goes on. With node on PATH no table is used: no warning.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeBenchBuildpack } from '../../bench/lib/buildpack.js';
import { sha256, tgzBuffer } from '../helpers/archives.js';
import { makeNoNodePath } from '../helpers/no-node-path.js';
import { addStagingRuntime } from '../helpers/node-runtime.js';
import { runAsync } from '../helpers/spawn.js';
import { useTmpDirs } from '../helpers/tmp.js';

const STALE = "**WARNING**\x1b[0m dist/runtime.tsv was written from another manifest.yml: the staging runtime may not be the manifest's (rebuild it: npm run build, or package the buildpack)\n";

describe('bin/supply on a stack without node: a manifest.yml edited after its runtime table was written', function () {
  this.timeout(60_000);
  const tmpDir = useTmpDirs('table-manifest-');
  let stackPath: string;
  before(async () => {
    stackPath = await makeNoNodePath();
  });
  after(async () => fs.rm(stackPath, { recursive: true, force: true }));

  async function setup() {
    const root = await tmpDir();
    const tgz = await tgzBuffer({ 'bin/probe': '#!/bin/sh\necho probe\n' });
    const cachedFrom = path.join(root, 'probe.tgz');
    await fs.writeFile(cachedFrom, tgz);
    const bp = await makeBenchBuildpack(path.join(root, 'bp'), {
      dependencies: [{ name: 'probe', version: '1.0.0', uri: 'http://127.0.0.1:9/probe.tgz', sha256: sha256(tgz), cachedFrom }],
      sidecars: [{ name: 'probe', dependency: 'probe', command: 'bin/probe' }],
    });
    await addStagingRuntime(bp);
    const [app, cache, deps] = ['app', 'cache', 'deps'].map((d) => path.join(root, d));
    for (const d of [app, cache]) await fs.mkdir(d, { recursive: true });
    const stage = async (nodeOnPath: boolean) => {
      await fs.rm(deps, { recursive: true, force: true });
      await fs.mkdir(path.join(deps, '0'), { recursive: true });
      const PATH = nodeOnPath ? `${path.dirname(process.execPath)}:${stackPath}` : stackPath;
      return runAsync(path.join(bp, 'bin', 'supply'), [app, cache, deps, '0'], { env: { PATH, CF_STACK: 'cflinuxfs4', HOME: root, TMPDIR: root } });
    };
    return { bp, deps, stage };
  }

  it('warns once and still installs; not before the edit, and never with node on PATH', async () => {
    const s = await setup();
    const before = await s.stage(false);
    expect(before.status, before.stdout + before.stderr).to.equal(0);
    expect(before.stdout).not.to.include('WARNING');

    await fs.appendFile(path.join(s.bp, 'manifest.yml'), '# edited\n');
    const after = await s.stage(false);
    expect(after.status, after.stdout + after.stderr).to.equal(0);
    expect(after.stdout.split(STALE)).to.have.length(2);
    expect(await fs.readFile(path.join(s.deps, '0', 'probe', 'bin', 'probe'), 'utf8')).to.equal('#!/bin/sh\necho probe\n');

    const withNode = await s.stage(true);
    expect(withNode.status, withNode.stdout + withNode.stderr).to.equal(0);
    expect(withNode.stdout).not.to.include('WARNING');
  });
});
