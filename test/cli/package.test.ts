import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { formatBytes } from '../../src/cli/progress.js';
import { cachedDependencyPath } from '../../src/packager/naming.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { cleanup, makeFixture, readZip, tmpDir } from '../packager/helpers.js';
import { cli } from './helpers.js';

const BODY = 'Hyper Text Coffee Pot Control Protocol\n';
const BODY2 = 'IP over Avian Carriers with Quality of Service\n';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('sidecar-buildpack package', () => {
  let server: TestServer;
  let home: string;
  beforeEach(async () => {
    server = await TestServer.start();
    server.route('/rfc2324.txt', serve.bytes(BODY));
    server.route('/rfc2549.txt', serve.bytes(BODY2));
    home = await tmpDir('sbp-home-');
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });

  /** The good fixture with both dependencies served by the test server. */
  const served = () =>
    makeFixture('good', (m) =>
      m
        .replace('https://www.ietf.org/rfc/rfc2324.txt', server.url('/rfc2324.txt'))
        .replace('b11329c3fd6dbe9dddcb8dd90f18a4bf441858a6b5bfaccae5f91e5c7d2b3596', sha(BODY))
        .replace('https://www.ietf.org/rfc/rfc2549.txt', server.url('/rfc2549.txt'))
        .replace('646b43b5d718913d6211e2c18b2b3b667cf6eaa76a2493e55b1de5ca04c2578e', sha(BODY2)),
    );

  context('when packaging uncached in the buildpack directory', () => {
    it('prints the zip path, size and sha256 on stdout and uses the VERSION file', async () => {
      const dir = await makeFixture('good');
      const r = await cli(['package', '--stack', 'cflinuxfs2'], { cwd: dir, env: { HOME: home } });
      expect(r.stderr).not.to.include('error');
      expect(r.code).to.equal(0);
      const zip = path.join(dir, 'ruby_buildpack-cflinuxfs2-v1.45.8.zip');
      const bytes = await fs.readFile(zip);
      expect(r.stdout).to.equal(`uncached buildpack created and saved as ${zip} with a size of ${formatBytes(bytes.length)} (${bytes.length} bytes)\nsha256: ${sha(bytes)}\n`);
      expect(r.stderr).to.include('running pre_package: ./hi.sh');
    });
  });

  context('when the manifest has a misspelled top-level key', () => {
    it('packages and warns with a "did you mean"', async () => {
      const dir = await makeFixture('good', (m) => `${m}\nsidecar: []\n`);
      const r = await cli(['package', '--stack', 'cflinuxfs2'], { cwd: dir, env: { HOME: home } });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.include(`warning: ${path.join(dir, 'manifest.yml')}: unknown top-level key "sidecar" is ignored; did you mean "sidecars"?\n`);
    });
  });

  context('when packaging cached with --json, --output, --dir and the default download cache', () => {
    it('prints one JSON object, one progress line per dependency, and fills ~/.buildpack-packager/cache', async () => {
      const dir = await served();
      const out = await tmpDir('sbp-out-');
      const r = await cli(['package', '--cached', '--any-stack', '--version', '9.9.9', '--dir', dir, '--output', out, '--json'], { cwd: home, env: { HOME: home } });
      expect(r.code, r.stderr).to.equal(0);
      const result = JSON.parse(r.stdout);
      expect(result).to.deep.include({ fileName: 'ruby_buildpack-cached-v9.9.9.zip', zipPath: path.join(out, 'ruby_buildpack-cached-v9.9.9.zip'), cached: true, stack: '', version: '9.9.9' });
      expect(result.sha256).to.equal(sha(await fs.readFile(result.zipPath)));
      expect(await fs.readFile(path.join(home, '.buildpack-packager', 'cache', cachedDependencyPath(server.url('/rfc2324.txt'))), 'utf8')).to.equal(BODY);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('downloaded '))).to.have.length(2);
    });
  });

  context('when --cachedir is given and stderr is a terminal', () => {
    it('draws progress bars and uses that cache', async () => {
      const dir = await served();
      const cache = await tmpDir('sbp-cache-');
      const r = await cli(['package', '--cached', '--stack', 'cflinuxfs2', '--cachedir', cache], { cwd: dir, env: { HOME: home }, tty: true });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/ruby 1\.2\.3 \[#+\] 100%/);
      expect(r.stderr).to.include('\x1b[2K');
      expect(await fs.readdir(path.join(cache, 'dependencies'))).to.have.length(1);
      const zip = await readZip(path.join(dir, 'ruby_buildpack-cached-cflinuxfs2-v1.45.8.zip'));
      expect(YAML.parse(zip.get('manifest.yml')!.data.toString()).dependencies[0].file).to.equal(cachedDependencyPath(server.url('/rfc2324.txt')));
    });
  });

  context('when SOURCE_DATE_EPOCH is set', () => {
    it('gives the same zip from two runs, and a different one for another epoch', async () => {
      const dir = await makeFixture('good');
      const shaOf = async (epoch: string, out: string) => {
        const r = await cli(['package', '--any-stack', '--output', out, '--json'], { cwd: dir, env: { HOME: home, SOURCE_DATE_EPOCH: epoch } });
        return JSON.parse(r.stdout).sha256 as string;
      };
      const a = await shaOf('1700000000', await tmpDir());
      const b = await shaOf('1700000000', await tmpDir());
      const c = await shaOf('1800000000', await tmpDir());
      expect(b).to.equal(a);
      expect(c).not.to.equal(a);
    });
  });

  context('failure cases', () => {
    const usage: Array<[string, string[], string]> = [
      ['no stack flag', ['package'], 'error: must either specify a stack (--stack S) or pass --any-stack'],
      ['both stack flags', ['package', '--stack', 'cflinuxfs4', '--any-stack'], 'error: cannot specify a stack AND pass --any-stack'],
      ['--keep-runtime-symbols without --cached', ['package', '--any-stack', '--keep-runtime-symbols'], 'error: --keep-runtime-symbols is only valid for cached buildpacks (an uncached zip carries no runtime)'],
    ];
    for (const [what, argv, message] of usage) {
      it(`exits 2 for ${what}`, async () => {
        const dir = await makeFixture('good');
        const r = await cli(argv, { cwd: dir });
        expect(r.code).to.equal(2);
        expect(r.stderr).to.equal(`${message}\n`);
        expect(r.stdout).to.equal('');
      });
    }

    const failures: Array<[string, string, string[], string]> = [
      ['a stack not in the manifest', 'good', ['--stack', 'nonexistent-stack'], 'error: Stack `nonexistent-stack` not found in manifest\n'],
      ['a default with no version for the stack', 'missing_default_fs3', ['--stack', 'cflinuxfs3'], 'error: No matching default dependency `ruby` for stack `cflinuxfs3`\n'],
      ['an already packaged manifest', 'prepackaged', ['--any-stack'], 'error: Cannot package from already packaged buildpack manifest\n'],
    ];
    for (const [what, fixture, flags, stderr] of failures) {
      it(`exits 1 with the CONTRACT text for ${what}`, async () => {
        const dir = await makeFixture(fixture);
        const r = await cli(['package', ...flags], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.equal(stderr);
      });
    }

    it('exits 1 naming a missing include file', async () => {
      const dir = await makeFixture('good', (m) => m.replace('- hi.txt', '- hi.txt\n- DOESNOTEXIST.txt'));
      const r = await cli(['package', '--stack', 'cflinuxfs2'], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/\nerror: failed to open included_file: .*\/DOESNOTEXIST.txt/);
    });

    it('exits 1 with the output of a failing pre_package', async () => {
      const dir = await makeFixture('good');
      await fs.writeFile(path.join(dir, 'hi.sh'), '#!/bin/sh\necho "make: *** [bundle] Error 1"\nexit 2\n');
      const r = await cli(['package', '--stack', 'cflinuxfs2'], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('error: pre_package `./hi.sh` exited with status 2:\nmake: *** [bundle] Error 1\n');
    });

    it('exits 1 when a dependency cannot be fetched, with its redacted uri', async () => {
      server.route('/gone.tgz', serve.status(404));
      const uri = server.url('/gone.tgz').replace('http://', 'http://user:secret@');
      const dir = await makeFixture('good', (m) => m.replace('https://www.ietf.org/rfc/rfc2324.txt', uri));
      const r = await cli(['package', '--cached', '--stack', 'cflinuxfs2', '--cachedir', await tmpDir()], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('could not download').and.include('404').and.include('-redacted-:-redacted-@');
      expect(r.stderr).not.to.include('secret');
    });

    it('exits 1 when the output directory cannot be written', async () => {
      const dir = await makeFixture('good');
      await fs.writeFile(path.join(dir, 'not-a-dir'), '');
      const r = await cli(['package', '--stack', 'cflinuxfs2', '--output', 'not-a-dir/x'], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/\nerror: cannot write .*not-a-dir\/x\/ruby_buildpack-cflinuxfs2-v1\.45\.8\.zip/);
    });
  });
});
