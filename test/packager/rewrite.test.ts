import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PackagerError } from '../../src/errors.js';
import { parseManifestDocument, renderManifestDocument } from '../../src/packager/manifest-doc.js';
import { ALREADY_PACKAGED, assertNotPackaged, dependencyIndexesForStack, rewriteForPackaging } from '../../src/packager/rewrite.js';
import { COMPAT, packagerCases } from './helpers.js';

function fixtureDoc(name: string) {
  const file = packagerCases.fixtures[name].manifest;
  return parseManifestDocument(readFileSync(path.join(COMPAT, file), 'utf8'), file);
}

/** Look up `dependencies[0].cf_stacks`-style paths in parsed YAML. */
function at(obj: any, key: string): unknown {
  return key.split(/\.|\[(\d+)\]/).filter((k) => k).reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

describe('packaged manifest rewrite', () => {
  describe('#rewriteForPackaging', () => {
    const cases = packagerCases.cases.filter((c) => c.call === 'Package' && c.expectPackagedManifest && c.expectPackagedManifest.dependencyCount !== undefined);
    for (const c of cases) {
      context(`when packaging ${c.fixture} for stack "${c.stack}" (${c.cached ? 'cached' : 'uncached'}) — ${c.source}`, () => {
        it('matches libbuildpack', () => {
          const m = fixtureDoc(c.fixture);
          const keep = dependencyIndexesForStack(m, c.stack);
          const files = new Map(c.cached ? keep.map((i) => [i, `dependencies/x${i}/f`] as [number, string]) : []);
          rewriteForPackaging(m, c.stack, keep, files);
          const out = YAML.parse(renderManifestDocument(m));
          const e = c.expectPackagedManifest;
          expect(out.stack ?? '').to.equal(e.stack);
          expect(out.dependencies).to.have.length(e.dependencyCount);
          for (const [k, v] of Object.entries(e)) {
            if (!k.startsWith('dependencies[')) continue;
            if (v === null) expect(at(out, k), k).to.equal(undefined);
            else expect(at(out, k), k).to.deep.equal(v);
          }
          if (c.cached) for (const d of out.dependencies) expect(d.file).to.match(/^dependencies\//);
        });
      });
    }

    context('when the manifest has comments and a sidecars section', () => {
      it('keeps them, puts stack after language and keeps quoted versions quoted', () => {
        const text = `---
# head comment
language: agent # trailing
dependencies:
# the agent
- name: agent
  version: "80"
  uri: https://h/a.tgz
  sha256: ${'a'.repeat(64)}
  cf_stacks: [cflinuxfs4]
- name: agent
  version: "81"
  uri: https://h/b.tgz
  sha256: ${'b'.repeat(64)}
  cf_stacks: [cflinuxfs3]
sidecars:
- name: agent
  dependency: agent
  command: bin/agent
  memory: 64
`;
        const m = parseManifestDocument(text, 'manifest.yml');
        const keep = dependencyIndexesForStack(m, 'cflinuxfs4');
        expect(keep).to.deep.equal([0]);
        rewriteForPackaging(m, 'cflinuxfs4', keep, new Map([[0, 'dependencies/abc/a.tgz']]));
        const out = renderManifestDocument(m);
        expect(out).to.include('# head comment');
        expect(out).to.include('language: agent # trailing\nstack: cflinuxfs4\n');
        expect(out).to.include('# the agent');
        expect(out).to.include('version: "80"');
        expect(out).not.to.include('cflinuxfs3');
        const parsed = YAML.parse(out);
        expect(parsed.sidecars).to.deep.equal([{ name: 'agent', dependency: 'agent', command: 'bin/agent', memory: 64 }]);
        expect(parsed.dependencies[0]).to.deep.include({ file: 'dependencies/abc/a.tgz', version: '80' });
        expect(parsed.dependencies[0]).not.to.have.property('cf_stacks');
      });
    });
  });

  describe('#assertNotPackaged', () => {
    context('when the manifest has no top-level stack', () => {
      it('passes', () => expect(() => assertNotPackaged(fixtureDoc('good'))).not.to.throw());
    });
    context('failure cases', () => {
      it(`throws "${ALREADY_PACKAGED}" for a manifest with a top-level stack`, () => {
        expect(() => assertNotPackaged(fixtureDoc('prepackaged'))).to.throw(PackagerError, /^Cannot package from already packaged buildpack manifest$/);
      });
    });
  });
});
