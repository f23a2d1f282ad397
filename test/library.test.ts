// The package's library entry (package.json "main": the committed dist/index.cjs bundle), used
// the way a custom buildpack would: require() it, resolve a version, write a deps dir.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(await fs.readFile(path.join(repo, 'package.json'), 'utf8')) as { main: string };

describe('library entry (package.json main)', () => {
  it('exposes the toolkit to a CommonJS buildpack', async () => {
    const lib = createRequire(import.meta.url)(path.join(repo, pkg.main));
    expect(lib.findMatchingVersion('1.2.x', ['1.2.3', '1.2.10', '1.3.0'])).to.equal('1.2.10');
    const deps = await fs.mkdtemp(path.join(os.tmpdir(), 'lib-'));
    try {
      const writer = new lib.DepsDirWriter(deps, '0');
      await writer.writeLaunch([{ type: 'agent', command: 'x', memory: 32, sidecarFor: ['web'] }]);
      expect(lib.readLaunchYml(await fs.readFile(path.join(deps, '0', 'launch.yml'), 'utf8'))).to.deep.equal([
        { type: 'agent', command: 'x', memory: 32, sidecarFor: ['web'] },
      ]);
      expect(() => lib.parseManifest('language: x\ndependencies:\n- name: a\n  version: 1\n  uri: ftp://h/a\n', 'm.yml')).to.throw(lib.ManifestError, 'm.yml: dependencies[0].uri');
      for (const name of ['supply', 'Installer', 'HttpFetcher', 'StagingLogger', 'packageBuildpack', 'LocalPlatform', 'CfPlatform', 'renderSidecar']) {
        expect(lib[name], name).to.be.a('function');
      }
    } finally {
      await fs.rm(deps, { recursive: true, force: true });
    }
  });
});
