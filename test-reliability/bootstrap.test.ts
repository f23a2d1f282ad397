// bin/supply's Node bootstrap on a stack without node (issue 6): the shim killed with SIGKILL
// while it downloads the runtime, then a normal staging with the same cache, which must leave only
// the verified runtime in the cache; and the shim's own redaction of the runtime URI.
import { expect } from 'chai';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeNoNodePath } from '../test/helpers/no-node-path.js';
import { writeRuntimeTable } from '../test/helpers/runtime-table.js';
import { serve, TestServer } from '../test/helpers/http-server.js';
import { sha256, tgzBuffer } from '../test/helpers/archives.js';
import { agentManifest, agentTgz, makeBuildpack, processesGone, runSupply, stagingDirs, tempRoot, verifyInstalled } from './helpers/staging.js';

const KILLS = 3;

describe('reliability: bin/supply node bootstrap on a stack without node', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  let stackPath: string;

  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
    stackPath = await makeNoNodePath();
  });
  afterEach(async () => {
    await server.close();
    await root.remove();
    await fs.rm(stackPath, { recursive: true, force: true });
  });

  // Regression: a SIGKILL during the runtime download leaves `<cache>/sidecar-buildpack/node/.tmp.<pid>/`;
  // the next staging must drop it (its pid is gone), not keep it for good.
  it('a normal staging after the kills succeeds and the cache holds only the verified runtime', async () => {
    const runtime = await tgzBuffer({ 'bin/node': `#!/bin/sh\nexec ${process.execPath} "$@"\n`, 'lib/blob': randomBytes(1024 * 1024) });
    const dep = await agentTgz();
    server.route('/agent.tgz', serve.bytes(dep.body));
    let sent = 0;
    const slow = serve.drip(runtime, { chunkSize: 16 * 1024, intervalMs: 10 });
    server.route('/node.tgz', (req, res, n) => {
      sent = 0;
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      (res as unknown as { write: (c: Buffer) => boolean }).write = (c: Buffer) => ((sent += c.length), write(c));
      slow(req, res, n);
    });
    const nodeEntry = `- name: node\n  version: 22.1.0\n  uri: ${server.url('/node.tgz')}\n  sha256: ${sha256(runtime)}\n  cf_stacks: [cflinuxfs4]\nsidecars:\n`;
    const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url('/agent.tgz'), sha256: dep.sha256 }).replace('sidecars:\n', nodeEntry));
    await writeRuntimeTable(bp);
    const cache = path.join(root.dir, 'cache');
    await fs.mkdir(cache);
    for (let i = 0; i < KILLS; i++) {
      let child: ChildProcess | undefined;
      const poll = setInterval(() => sent >= 256 * 1024 && child?.kill('SIGKILL'), 5);
      const killed = await runSupply(bp, await stagingDirs(root.dir, cache), { env: { PATH: stackPath }, onSpawn: (c) => (child = c) });
      clearInterval(poll);
      expect(killed.signal, killed.stdout + killed.stderr).to.equal('SIGKILL');
      await processesGone(killed.marker); // the orphaned curl finishes or fails on its own
    }
    const dirs = await stagingDirs(root.dir, cache);
    const run = await runSupply(bp, dirs, { env: { PATH: stackPath } });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(await verifyInstalled(dirs.deps, dep.files)).to.deep.equal([]);
    expect((await fs.readdir(path.join(cache, 'sidecar-buildpack', 'node'))).sort(), 'partial runtimes left in the app cache').to.deep.equal([sha256(runtime)]);
    expect(await fs.readdir(path.join(cache, 'sidecar-buildpack', 'node', sha256(runtime)))).to.deep.equal(['runtime.tgz']);
    // the bundle removed the bin/node the shim unpacked for it; nothing of the runtime stays in TMPDIR
    expect(await fs.readdir(dirs.tmp), 'temp runtimes left in TMPDIR').to.deep.equal([]);
    // a warm staging: the kept archive is verified and unpacked again, nothing downloaded, nothing left
    const warmDirs = await stagingDirs(root.dir, cache);
    const before = server.requests.filter((r) => r.path === '/node.tgz').length;
    const warm = await runSupply(bp, warmDirs, { env: { PATH: stackPath } });
    expect(warm.code, warm.stdout + warm.stderr).to.equal(0);
    expect(warm.stdout).not.to.contain('Installing node');
    expect(await verifyInstalled(warmDirs.deps, dep.files)).to.deep.equal([]);
    expect(await fs.readdir(warmDirs.tmp)).to.deep.equal([]);
    expect(server.requests.filter((r) => r.path === '/node.tgz').length, 'runtime downloads').to.equal(before);
  });
  // Regression: the shim's redact() once stopped at the first `@`, printing a password's tail.
  it('the runtime URI of a password with a raw @ is printed with no part of it', async () => {
    const dep = await agentTgz();
    const nodeEntry = `- name: node\n  version: 22.1.0\n  uri: http://deploy:p@ss-Tail9x@127.0.0.1:${server.port}/node.tgz\n  sha256: ${'c'.repeat(64)}\n  cf_stacks: [cflinuxfs4]\nsidecars:\n`;
    const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url('/agent.tgz'), sha256: dep.sha256 }).replace('sidecars:\n', nodeEntry));
    await writeRuntimeTable(bp);
    const run = await runSupply(bp, await stagingDirs(root.dir), { env: { PATH: stackPath } });
    expect(run.code, run.stdout).to.equal(1);
    expect(run.stdout, run.stdout).not.to.include('Tail9x');
    expect(run.stdout).to.include('Download [http://-redacted-:-redacted-@127.0.0.1:');
    expect(run.stdout + run.stderr).not.to.include('Tail9x');
  });
});
