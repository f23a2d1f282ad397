// The local platform's containers (issue 10, CONTRACT §1–§2): each staging and each instance
// start in its own Linux container, laid out and limited like a Diego cell. Probe apps and
// buildpacks are written here; every check reads what the processes themselves see.

import { expect } from 'chai';
import path from 'node:path';
import { LocalPlatform, type LocalPlatformOptions } from '../src/platform/local/index.js';
import type { Deployment } from '../src/platform/types.js';
import { FINAL_BP, tempDir, writeTree } from '../test/platform/helpers.js';

/** A node app (node comes from the final buildpack's deps dir) answering what its process sees. */
const PROBE_JS = `const http = require('node:http');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const sh = (cmd) => { try { return execFileSync('/bin/bash', ['-c', cmd], { encoding: 'utf8' }).trim(); } catch (e) { return 'ERR ' + String(e.stderr || e.message).trim(); } };
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/probe') {
    return res.end(JSON.stringify({
      HOME: process.env.HOME, PWD: process.cwd(), DEPS_DIR: process.env.DEPS_DIR, TMPDIR: process.env.TMPDIR, PATH: process.env.PATH,
      uid: process.getuid(), user: sh('id -un'), home: fs.readdirSync('/home/vcap').sort(), lifecycle: fs.readdirSync('/tmp/lifecycle'),
      nofile: sh('ulimit -n'), node: sh('command -v node'),
    }));
  }
  if (u.pathname === '/sh') return res.end(sh(u.searchParams.get('c')));
  res.end('ok');
}).listen(Number(process.env.PORT), () => console.log('probe listening on ' + process.env.PORT));
`;

describe('local platform containers (issue 10)', function () {
  this.timeout(120000);
  let root: string;
  let cleanup: () => Promise<void>;
  let deployments: Deployment[] = [];
  let n = 0;

  before(async () => ({ dir: root, cleanup } = await tempDir('containers-')));
  after(() => cleanup());
  afterEach(async () => {
    for (const d of deployments) await d.delete();
    deployments = [];
  });

  const platform = (extra: Partial<LocalPlatformOptions> = {}) =>
    new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), backoffMs: () => 100, stopGraceMs: 2000, ...extra });

  async function push(files: Record<string, string>, options: { buildpacks?: string[]; env?: Record<string, string>; platform?: LocalPlatform } = {}): Promise<Deployment> {
    const dir = await writeTree(path.join(root, `app-${n++}`), { 'server.js': PROBE_JS, ...files });
    const d = await (options.platform ?? platform()).deploy({ dir, name: `probe-${n}`, buildpacks: options.buildpacks ?? [FINAL_BP], env: options.env, memoryMb: 256 });
    deployments.push(d);
    return d;
  }

  it('runs in container mode on Linux (CI never falls back to process mode in silence)', function () {
    if (process.platform !== 'linux') this.skip();
    expect(platform().isolation, 'containers could not be made on this Linux machine: see the CELL notice').to.equal('container');
  });

  it('runs the droplet at /home/vcap as vcap, HOME the app dir, with the lifecycle helpers and the stack PATH', async () => {
    const d = await push({});
    const probe = JSON.parse((await d.get('/probe')).body);
    expect(probe).to.deep.include({
      HOME: '/home/vcap/app',
      PWD: '/home/vcap/app',
      DEPS_DIR: '/home/vcap/deps',
      TMPDIR: '/home/vcap/tmp',
      uid: 2000,
      user: 'vcap',
      nofile: '16384',
      node: '/home/vcap/deps/0/bin/node',
    });
    expect(probe.home).to.include.members(['app', 'deps', 'logs', 'profile.d', 'tmp', 'staging_info.yml']);
    expect(probe.lifecycle).to.deep.equal(['launcher']);
    expect(probe.PATH).to.match(/(^|:)\/usr\/local\/bin:\/usr\/bin:\/bin$/);
  });
});
