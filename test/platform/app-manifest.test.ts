// The app manifest reader (`cf push -f` format) against the compat corpus, and its merge under
// explicit AppSpec fields.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAppManifest, parseMemory, readAppManifest, resolveAppSpec } from '../../src/platform/app-manifest.js';
import { ManifestError } from '../../src/errors.js';
import { tempDir, writeTree } from './helpers.js';

const COMPAT = process.env.SIDECAR_COMPAT_DIR ?? '/work/shared/compat';
const corpus = (f: string) => path.join(COMPAT, 'manifests', f);

describe('app manifest', () => {
  describe('#parseAppManifest', () => {
    context('when reading the CAPI sidecar sample manifest', () => {
      it('reads name, memory, env as strings, stack and the user sidecar', async () => {
        const m = await readAppManifest(corpus('capi-sidecar-app-manifest.yml'));
        expect(m).to.deep.include({
          name: 'sidecar-dependent-app',
          memoryMb: 256,
          env: { CONFIG_SERVER_PORT: '8082' },
          stack: 'cflinuxfs3',
          buildpacks: [],
          sidecars: [{ name: 'config-server', command: './config-server', process_types: ['web'] }],
        });
      });
    });
    context('when reading the part4 sample manifest', () => {
      it('keeps the buildpacks in order', () => {
        const file = corpus('sidecar-part4-app-manifest.yml');
        const m = parseAppManifest(readFileSync(file, 'utf8'), file);
        expect(m.buildpacks).to.deep.equal(['https://github.com/starkandwayne/part4-sidecar-buildpack', 'ruby_buildpack']);
        expect(m.sidecars[0].command).to.equal('config-server');
      });
    });
    context('when a sidecar has a memory limit and the app a command and path', () => {
      it('converts the memory and resolves the path against the manifest', () => {
        const m = parseAppManifest(
          'applications:\n- name: a\n  path: ./src\n  command: node x.js\n  buildpack: one\n  sidecars:\n  - name: s\n    command: c\n    process_types: [web]\n    memory: 1G\n',
          '/x/manifest.yml',
        );
        expect(m.sidecars[0].memory).to.equal(1024);
        expect(m.path).to.equal('/x/src');
        expect(m.command).to.equal('node x.js');
        expect(m.buildpacks).to.deep.equal(['one']);
      });
    });
  });

  describe('#parseMemory', () => {
    it('accepts M, MB, G and GB in any case', () => {
      expect(['256M', '512mb', '1G', '2gb'].map((v) => parseMemory(v, 'f', 'k'))).to.deep.equal([256, 512, 1024, 2048]);
    });
  });

  describe('#resolveAppSpec', () => {
    it('lets explicit fields win and resolves relative buildpack paths', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await writeTree(dir, {
          'manifest.yml': 'applications:\n- name: from-manifest\n  memory: 512M\n  env: {A: "1", B: "2"}\n  buildpacks: [./bp, ruby_buildpack]\n',
        });
        const spec = await resolveAppSpec({ dir, buildpacks: [], manifest: path.join(dir, 'manifest.yml'), env: { B: 'flag' }, memoryMb: 128 });
        expect(spec.name).to.equal('from-manifest');
        expect(spec.memoryMb).to.equal(128);
        expect(spec.env).to.deep.equal({ A: '1', B: 'flag' });
        expect(spec.buildpacks).to.deep.equal([path.join(dir, 'bp'), 'ruby_buildpack']);
      } finally {
        await cleanup();
      }
    });
  });

  context('failure cases', () => {
    it('refuses memory without a unit, as the cf CLI does', () => {
      expect(() => parseMemory('256', 'm.yml', 'applications[0].memory')).to.throw(ManifestError, 'm.yml: applications[0].memory: invalid memory "256"');
    });
    it('refuses a manifest without applications', () => {
      expect(() => parseAppManifest('name: x\n', 'm.yml')).to.throw(ManifestError, 'applications');
    });
    it('refuses sidecars that are not a list', () => {
      expect(() => parseAppManifest('applications:\n- name: a\n  sidecars: {}\n', 'm.yml')).to.throw(ManifestError, 'sidecars');
    });
    it('names a manifest file that cannot be read', async () => {
      await readAppManifest('/nonexistent/manifest.yml').then(
        () => expect.fail('read'),
        (e: unknown) => expect((e as Error).message).to.include('/nonexistent/manifest.yml'),
      );
    });
  });
});
