// `.cfignore` matching and the app copy that honours it.

import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { compileIgnore, copyApp } from '../../src/platform/local/cfignore.js';
import { tempDir, writeTree } from './helpers.js';

describe('cfignore', () => {
  describe('#compileIgnore', () => {
    const ignored = compileIgnore(['*.log', '/build', 'tmp/', 'docs/**/*.md', '!keep.log']);
    const table: Array<[string, boolean, boolean]> = [
      ['a.log', false, true],
      ['sub/b.log', false, true],
      ['keep.log', false, false],
      ['build', true, true],
      ['sub/build', true, false],
      ['tmp', true, true],
      ['tmp', false, false],
      ['docs/a/b/c.md', false, true],
      ['docs/c.md', false, true],
      ['src/index.js', false, false],
    ];
    for (const [p, isDir, expected] of table) {
      it(`${expected ? 'ignores' : 'keeps'} ${p}${isDir ? '/' : ''}`, () => expect(ignored(p, isDir)).to.equal(expected));
    }
  });

  describe('#copyApp', () => {
    it('copies what cf push uploads', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const src = await writeTree(path.join(dir, 'src'), {
          '.cfignore': 'node_modules\n',
          'manifest.yml': 'x',
          'sub/manifest.yml': 'kept: only the top-level manifest is excluded',
          '.git/HEAD': 'x',
          'node_modules/x/index.js': 'x',
          'server.js': 'x',
        });
        await copyApp(src, path.join(dir, 'dest'));
        expect((await readdir(path.join(dir, 'dest'))).sort()).to.deep.equal(['server.js', 'sub']);
        expect(await readdir(path.join(dir, 'dest/sub'))).to.deep.equal(['manifest.yml']);
      } finally {
        await cleanup();
      }
    });
  });

  context('failure cases', () => {
    it('ignores comments and blank lines rather than matching everything', () => {
      const ignored = compileIgnore(['# comment', '', '   ']);
      expect(ignored('anything', false)).to.equal(false);
    });
  });
});
