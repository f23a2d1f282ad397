// Unit tests of override.yml handling (libbuildpack ApplyOverride), including the regression
// for libbuildpack's wart: an override of an existing entry assigned the old entry to itself.

import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestError } from '../../src/errors.js';
import { applyOverrideFiles, applyOverrideText } from '../../src/manifest/override-file.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { defaultVersion, getEntry } from '../../src/manifest/query.js';

const SHA = 'd'.repeat(64);
const base = parseManifest(
  `language: sidecar\ndefault_versions:\n- {name: agent, version: 1.x}\ndependencies:\n- {name: agent, version: 1.0.0, uri: "https://example.org/a-1.0.0.tgz", sha256: ${SHA}, cf_stacks: [cflinuxfs4]}\n`,
  'manifest.yml',
);

describe('override.yml', () => {
  describe('#applyOverrideText', () => {
    it('replaces an existing entry with the override (libbuildpack kept the old one)', () => {
      const m = applyOverrideText(
        base,
        `sidecar:\n  dependencies:\n  - {name: agent, version: 1.0.0, uri: "https://mirror.example.org/a.tgz", sha256: ${'e'.repeat(64)}, cf_stacks: [cflinuxfs4]}\n`,
        'override.yml',
      );
      expect(getEntry(m, 'agent', '1.0.0', 'cflinuxfs4').uri).to.equal('https://mirror.example.org/a.tgz');
      expect(m.dependencies).to.have.length(1);
      expect(base.dependencies[0].uri).to.equal('https://example.org/a-1.0.0.tgz');
    });
    it('appends new entries and replaces defaults by name', () => {
      const m = applyOverrideText(base, 'sidecar:\n  default_versions: [{name: agent, version: 2.x}]\n  dependencies: [{name: agent, version: 2.1.0, cf_stacks: [cflinuxfs4]}]\n', 'o.yml');
      expect(defaultVersion(m, 'agent', 'cflinuxfs4')).to.equal('2.1.0');
    });
    it('ignores sections of other languages', () => {
      expect(applyOverrideText(base, 'ruby:\n  default_versions: [{name: agent, version: 9.x}]\n', 'o.yml')).to.equal(base);
    });
    context('failure cases', () => {
      it('validates the override like the manifest, naming the file and key', () => {
        expect(() => applyOverrideText(base, 'sidecar:\n  dependencies: [{name: agent, version: 3.0.0, sha256: nope}]\n', 'o.yml'))
          .to.throw(ManifestError, 'o.yml: sidecar.dependencies[0].sha256: not a sha256');
      });
    });
  });

  describe('#applyOverrideFiles', () => {
    let deps: string;
    beforeEach(async () => {
      deps = await mkdtemp(join(tmpdir(), 'override-'));
    });
    afterEach(async () => {
      await rm(deps, { recursive: true, force: true });
    });
    it('applies every <deps>/*/override.yml in order', async () => {
      await mkdir(join(deps, '0'));
      await mkdir(join(deps, '1'));
      await mkdir(join(deps, '2'));
      await writeFile(join(deps, '0', 'override.yml'), 'sidecar:\n  default_versions: [{name: agent, version: 2.x}]\n');
      await writeFile(join(deps, '2', 'override.yml'), 'sidecar:\n  dependencies: [{name: agent, version: 2.0.0, cf_stacks: [cflinuxfs4]}]\n');
      const m = await applyOverrideFiles(base, deps);
      expect(defaultVersion(m, 'agent', 'cflinuxfs4')).to.equal('2.0.0');
    });
    it('changes nothing when the deps dir does not exist', async () => {
      expect(await applyOverrideFiles(base, join(deps, 'missing'))).to.equal(base);
    });
  });
});
