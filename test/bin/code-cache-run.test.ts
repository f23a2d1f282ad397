// The committed supply bundle run the way a cached zip runs it on a stack without node: its own
// bin/node, through dist/run.cjs, from the V8 code cache recorded for that binary. A staging that
// downloads a dependency there loads the HTTP modules on first use, which a script V8 took from a
// cache could not do when the bundle loaded them with import() (node 20 drops the loader).

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeBenchBuildpack } from '../../bench/lib/buildpack.js';
import { sha256, tgzBuffer } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { makeNoNodePath } from '../helpers/no-node-path.js';
import { addStagingRuntime } from '../helpers/node-runtime.js';
import { runAsync } from '../helpers/spawn.js';
import { useTmpDirs } from '../helpers/tmp.js';

describe('the supply bundle from its code cache (dist/run.cjs, the buildpack’s own node)', function () {
  this.timeout(60_000);
  const tmpDir = useTmpDirs('code-cache-run-');
  let server: TestServer;
  let stackPath: string;
  before(async () => {
    server = await TestServer.start();
    stackPath = await makeNoNodePath();
  });
  after(async () => {
    await server.close();
    await fs.rm(stackPath, { recursive: true, force: true });
  });

  it('downloads a dependency that is not in the buildpack', async () => {
    const tgz = await tgzBuffer({ 'bin/probe': '#!/bin/sh\necho probe\n' });
    server.route('/probe.tgz', serve.bytes(tgz));
    const root = await tmpDir();
    const bp = await makeBenchBuildpack(path.join(root, 'bp'), {
      dependencies: [{ name: 'probe', version: '1.0.0', uri: server.url('/probe.tgz'), sha256: sha256(tgz) }],
      sidecars: [{ name: 'probe', dependency: 'probe', command: 'bin/probe' }],
    });
    // records the cache as the packager does, by a staging of an empty app (which downloads too)
    await addStagingRuntime(bp);
    const caches = (await fs.readdir(path.join(bp, 'dependencies'), { recursive: true })).filter((f) => String(f).endsWith('.code-cache'));
    expect(caches, 'a code cache recorded beside the runtime').to.have.length(1);

    const [app, cache, deps] = ['app', 'cache', 'deps'].map((d) => path.join(root, d));
    for (const d of [app, cache, path.join(deps, '0')]) await fs.mkdir(d, { recursive: true });
    const r = await runAsync(path.join(bp, 'bin', 'supply'), [app, cache, deps, '0'], {
      env: { PATH: stackPath, CF_STACK: 'cflinuxfs4', HOME: root, TMPDIR: root, BP_DEBUG: '1' },
    });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include(`: used\n`);
    // the manifest addStagingRuntime edited is read from its compiled form, as from a packaged zip
    expect(r.stdout).to.include('manifest: dist/manifest.json, made from this manifest.yml');
    expect(r.stdout).to.match(/Download \[.*\/probe\.tgz\]/);
    expect(await fs.readFile(path.join(deps, '0', 'probe', 'bin', 'probe'), 'utf8')).to.equal('#!/bin/sh\necho probe\n');
  });
});
