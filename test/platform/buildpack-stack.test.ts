// A buildpack's top-level `stack:` (dir or zip) held against the app's stack.

import { expect } from 'chai';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { buildpackStack, stackMismatch } from '../../src/platform/buildpack-stack.js';
import { ManifestError } from '../../src/errors.js';
import { expectRejection } from '../helpers/assert.js';
import { tempDir, writeTree } from './helpers.js';

function zipOf(file: string, entries: Record<string, string>): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(entries)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  return new Promise((resolve, reject) => zip.outputStream.pipe(createWriteStream(file)).on('close', () => resolve(file)).on('error', reject));
}

describe('buildpack stack', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir('bp-stack-')));
  afterEach(() => cleanup());

  it('reads the stack of a directory and of a zip, and none when unset', async () => {
    const dir = await writeTree(path.join(root, 'bp'), { 'manifest.yml': 'language: x\nstack: cflinuxfs3\n' });
    const zip = await zipOf(path.join(root, 'x_buildpack-cflinuxfs4-v1.zip'), { 'manifest.yml': 'language: x\nstack: cflinuxfs4\n', 'bin/supply': '' });
    const plain = await writeTree(path.join(root, 'plain'), { 'manifest.yml': 'language: x\n' });
    expect(await buildpackStack(dir)).to.equal('cflinuxfs3');
    expect(await buildpackStack(zip)).to.equal('cflinuxfs4');
    expect(await buildpackStack(plain)).to.equal(undefined);
    expect(await stackMismatch([zip, plain], 'cflinuxfs4')).to.equal(undefined);
  });

  context('failure cases', () => {
    it("refuses a buildpack packaged for another stack with Cloud Controller's message", async () => {
      const zip = await zipOf(path.join(root, 'x_buildpack-cflinuxfs3-v1.zip'), { 'manifest.yml': 'stack: cflinuxfs3\n' });
      expect(await stackMismatch([zip], 'cflinuxfs4')).to.equal(
        'Buildpack "x_buildpack-cflinuxfs3-v1.zip" for stack "cflinuxfs4" must be an existing admin buildpack or a valid git URI (it is packaged for stack "cflinuxfs3")',
      );
    });
    it('names a buildpack manifest that is not YAML', async () => {
      const dir = await writeTree(path.join(root, 'bad'), { 'manifest.yml': 'a: [\n' });
      await expectRejection(buildpackStack(dir), ManifestError, path.join(dir, 'manifest.yml'));
    });
  });
});
