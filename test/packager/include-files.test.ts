import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PackagerError } from '../../src/errors.js';
import { globToRegExp, resolveIncludeFiles, zipModeFor } from '../../src/packager/include-files.js';
import { cleanup, tmpDir, writeFiles } from './helpers.js';

describe('include_files', () => {
  afterEach(cleanup);

  describe('#resolveIncludeFiles', () => {
    async function tree(): Promise<string> {
      const dir = await tmpDir();
      await writeFiles(dir, { 'README.md': 'r', 'dist/supply.cjs': 's', 'dist/detect.cjs': 'd', 'dist/map.txt': 'm', 'lib/a/b.sh': 'b', 'lib/c.txt': 'c' });
      await writeFiles(dir, { 'bin/supply': '#!/bin/sh\n' }, 0o644);
      await writeFiles(dir, { 'scripts/run': '#!/bin/sh\n' }, 0o700);
      return dir;
    }

    context('when given files, globs and directories', () => {
      it('lists each file once, sorted, with its zip mode', async () => {
        const dir = await tree();
        const files = await resolveIncludeFiles(dir, ['README.md', 'dist/*.cjs', 'lib', './bin/supply', 'scripts/run', 'README.md']);
        expect(files.map((f) => [f.path, f.mode.toString(8)])).to.deep.equal([
          ['README.md', '644'],
          ['bin/supply', '755'],
          ['dist/detect.cjs', '644'],
          ['dist/supply.cjs', '644'],
          ['lib/a/b.sh', '644'],
          ['lib/c.txt', '644'],
          ['scripts/run', '755'],
        ]);
      });
    });

    context('when a listed directory is a symlink', () => {
      it('follows it and keeps the link name in the zip path', async () => {
        const dir = await tree();
        await fs.symlink('lib', path.join(dir, 'sym_dir'));
        const files = await resolveIncludeFiles(dir, ['sym_dir']);
        expect(files.map((f) => f.path)).to.deep.equal(['sym_dir/a/b.sh', 'sym_dir/c.txt']);
      });
    });

    context('when a ** glob is used', () => {
      it('matches at any depth', async () => {
        const dir = await tree();
        expect((await resolveIncludeFiles(dir, ['lib/**/*.sh'])).map((f) => f.path)).to.deep.equal(['lib/a/b.sh']);
        expect(globToRegExp('lib/**/*.txt').test('lib/c.txt')).to.equal(true);
      });
    });

    context('failure cases', () => {
      it("names a missing file the way libbuildpack does ('failed to open included_file: <path>')", async () => {
        const dir = await tree();
        let caught: unknown;
        try {
          await resolveIncludeFiles(dir, ['README.md', 'DOESNOTEXIST.txt']);
        } catch (e) {
          caught = e;
        }
        expect(caught).to.be.instanceOf(PackagerError);
        expect((caught as Error).message).to.match(/failed to open included_file: .*\/DOESNOTEXIST.txt/);
      });
      it('refuses a glob that matches nothing', async () => {
        const dir = await tree();
        let caught: unknown;
        await resolveIncludeFiles(dir, ['dist/*.js']).catch((e) => (caught = e));
        expect(String(caught)).to.include('dist/*.js: no file matches this pattern');
      });
      it('refuses paths outside the buildpack', async () => {
        const dir = await tree();
        let caught: unknown;
        await resolveIncludeFiles(dir, ['../etc/passwd']).catch((e) => (caught = e));
        expect(String(caught)).to.include('outside the buildpack directory');
      });
    });
  });

  describe('#zipModeFor', () => {
    it('is 0755 for bin/* and executables, 0644 otherwise', () => {
      expect(zipModeFor('bin/x', 0o644)).to.equal(0o755);
      expect(zipModeFor('tool', 0o100)).to.equal(0o755);
      expect(zipModeFor('a.txt', 0o666)).to.equal(0o644);
    });
  });
});
