import { expect } from 'chai';
import YAML from 'yaml';
import { PackagerError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { setDefaultVersion, upsertDependency } from '../../src/packager/dependency-edit.js';
import { parseManifestDocument, renderManifestDocument } from '../../src/packager/manifest-doc.js';

const SHA = (c: string) => c.repeat(64);

const SOURCE = `---
# My agent buildpack
language: agent

default_versions:
- name: agent
  version: 1.x   # newest 1.x

dependencies:
# agent releases
- name: agent
  version: 1.0.0
  uri: https://h/agent-1.0.0.tgz
  sha256: ${SHA('a')}
  cf_stacks:
  - cflinuxfs4
  source: https://h/src-1.0.0.tgz
# the runtime
- name: node
  version: 22.1.0
  uri: https://h/node.tgz
  sha256: ${SHA('b')}
  cf_stacks:
  - cflinuxfs4

sidecars:
- name: agent
  dependency: agent
  command: bin/agent
`;

function edit(fn: (m: ReturnType<typeof parseManifestDocument>) => void, text = SOURCE): string {
  const m = parseManifestDocument(text, 'manifest.yml');
  fn(m);
  return renderManifestDocument(m);
}

describe('dependency edits', () => {
  describe('#upsertDependency', () => {
    context("when adding a new version (mode 'add')", () => {
      it('inserts it after the same name, keeps every comment and the layout', () => {
        const out = edit((m) => upsertDependency(m, { name: 'agent', version: '1.1.0', uri: 'https://h/agent-1.1.0.tgz', sha256: SHA('c'), cf_stacks: [] }, 'add'));
        const before = SOURCE.split('# the runtime')[0];
        expect(out.startsWith(before.replace(/\n$/, ''))).to.equal(true);
        expect(out).to.include(`- name: agent
  version: 1.1.0
  uri: https://h/agent-1.1.0.tgz
  sha256: ${SHA('c')}
  cf_stacks:
  - cflinuxfs4
# the runtime
- name: node`);
        expect(out).to.include('version: 1.x   # newest 1.x');
        expect(out).to.include('sidecars:\n- name: agent');
        expect(parseManifest(out, 'manifest.yml').dependencies.map((d) => d.version)).to.deep.equal(['1.0.0', '1.1.0', '22.1.0']);
      });
    });

    context('when the version is all digits', () => {
      it('quotes it so it stays a string', () => {
        const out = edit((m) => {
          upsertDependency(m, { name: 'go', version: '80', uri: 'https://h/go.tgz', sha256: SHA('d'), cf_stacks: ['cflinuxfs4'] }, 'add');
          setDefaultVersion(m, 'go', '1.10');
        });
        expect(out).to.include('version: "80"');
        expect(out).to.include('version: "1.10"');
        expect(YAML.parse(out).default_versions).to.deep.include({ name: 'go', version: '1.10' });
      });
    });

    context("when updating an entry (mode 'update')", () => {
      it('replaces version, uri and sha256 in place and drops the stale source', () => {
        const out = edit((m) => upsertDependency(m, { name: 'agent', version: '2.0.0', uri: 'https://h/agent-2.0.0.tgz', sha256: SHA('e'), cf_stacks: [] }, 'update'));
        const parsed = YAML.parse(out);
        expect(parsed.dependencies[0]).to.deep.equal({ name: 'agent', version: '2.0.0', uri: 'https://h/agent-2.0.0.tgz', sha256: SHA('e'), cf_stacks: ['cflinuxfs4'] });
        expect(out).to.include('# agent releases\n- name: agent\n  version: 2.0.0');
      });
    });

    context('when the manifest has no dependencies yet', () => {
      it('creates a block list', () => {
        const out = edit((m) => upsertDependency(m, { name: 'x', version: '1.0.0', uri: 'https://h/x.tgz', sha256: SHA('f'), cf_stacks: ['cflinuxfs3'] }, 'add'), 'language: x\ndependencies: []\n');
        expect(out).to.equal(`language: x\ndependencies:\n- name: x\n  version: 1.0.0\n  uri: https://h/x.tgz\n  sha256: ${SHA('f')}\n  cf_stacks:\n  - cflinuxfs3\n`);
      });
    });

    context('failure cases', () => {
      it('refuses to add a name and version already listed for the stack', () => {
        expect(() => edit((m) => upsertDependency(m, { name: 'agent', version: '1.0.0', uri: 'https://h/x', sha256: SHA('1'), cf_stacks: [] }, 'add'))).to.throw(
          PackagerError,
          /agent 1.0.0 is already listed for cflinuxfs4: use `dependency update`/,
        );
      });
      it('refuses to update a name that is not there', () => {
        expect(() => edit((m) => upsertDependency(m, { name: 'nope', version: '1', uri: 'https://h/x', sha256: SHA('1'), cf_stacks: [] }, 'update'))).to.throw(
          PackagerError,
          /no nope entry to update: use `dependency add`/,
        );
      });
      it('refuses an ambiguous update', () => {
        const two = edit((m) => upsertDependency(m, { name: 'agent', version: '1.0.0', uri: 'https://h/y', sha256: SHA('2'), cf_stacks: ['cflinuxfs3'] }, 'add'));
        expect(() => edit((m) => upsertDependency(m, { name: 'agent', version: '3', uri: 'https://h/x', sha256: SHA('1'), cf_stacks: [] }, 'update'), two)).to.throw(
          PackagerError,
          /2 agent entries could be updated .*pick one with --stack/,
        );
      });
    });
  });

  describe('#setDefaultVersion', () => {
    it('replaces the existing default of the name', () => {
      const out = edit((m) => setDefaultVersion(m, 'agent', '1.1.0'));
      expect(YAML.parse(out).default_versions).to.deep.equal([{ name: 'agent', version: '1.1.0' }]);
    });
  });
});
