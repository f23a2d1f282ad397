import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanup, makeFixture, packagerCases } from '../packager/helpers.js';
import { REPO_ROOT } from './helpers.js';

/** tsx's loader by absolute URL: the spawned process runs in a temp dir with no node_modules. */
const TSX = pathToFileURL(path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** The real executable path: src/bin/cli.ts (the composition root) run by node with tsx. */
function run(args: string[], cwd: string) {
  return spawnSync(process.execPath, ['--import', TSX, path.join(REPO_ROOT, 'src', 'bin', 'cli.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, NODE_OPTIONS: '' },
  });
}

describe('sidecar-buildpack as a spawned process', () => {
  afterEach(cleanup);

  context('when it packages and summarises a buildpack', () => {
    it('writes the zip and the tables, exiting 0', async () => {
      const dir = await makeFixture('good');
      const pkg = run(['package', '--stack', 'cflinuxfs2'], dir);
      expect(pkg.status, pkg.stderr).to.equal(0);
      expect(pkg.stdout).to.include(`saved as ${path.join(dir, 'ruby_buildpack-cflinuxfs2-v1.45.8.zip')}`);
      expect(existsSync(path.join(dir, 'ruby_buildpack-cflinuxfs2-v1.45.8.zip'))).to.equal(true);
      const summary = run(['summary'], dir);
      expect(summary.status).to.equal(0);
      expect(summary.stdout).to.equal(packagerCases.cases.find((c) => c.call === 'Summary' && c.fixture === 'good')!.expectExact);
    });
  });

  context('failure cases', () => {
    it('exits 2 on bad usage and 1 on a packaging error, with the message on stderr', async () => {
      const dir = await makeFixture('good');
      const usage = run(['package'], dir);
      expect(usage.status).to.equal(2);
      expect(usage.stderr).to.include('must either specify a stack');
      const failed = run(['package', '--stack', 'nope'], dir);
      expect(failed.status).to.equal(1);
      expect(failed.stderr).to.equal('error: Stack `nope` not found in manifest\n');
    });
  });
});
