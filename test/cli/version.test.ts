import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cli, REPO_ROOT } from './helpers.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('sidecar-buildpack --version', () => {
  for (const flag of ['--version', '-V']) {
    it(`${flag} prints the package's version and exits 0`, async () => {
      const r = await cli([flag], { cwd: REPO_ROOT });
      expect(r).to.deep.equal({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    });
  }

  it("leaves a command's own --version alone", async () => {
    const r = await cli(['dependency', 'add', 'agent', '--version'], { cwd: REPO_ROOT });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("option '--version <version>' argument missing");
  });

  it('is listed in --help', async () => {
    const r = await cli(['--help'], { cwd: REPO_ROOT });
    expect(r.stdout).to.match(/-V, --version +print the version of sidecar-buildpack/);
  });
});
