import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseManifestDocument } from '../../src/packager/manifest-doc.js';
import { renderSummary, sortDependencies, summaryData } from '../../src/packager/summary.js';
import { COMPAT, packagerCases } from './helpers.js';

function summaryOf(text: string): string {
  return renderSummary(summaryData(parseManifestDocument(text, 'manifest.yml')));
}

describe('summary', () => {
  describe('#renderSummary', () => {
    for (const c of packagerCases.cases.filter((x) => x.call === 'Summary')) {
      context(`when the manifest is the ${c.fixture} fixture — ${c.source}`, () => {
        it('prints what libbuildpack prints', () => {
          const out = summaryOf(readFileSync(path.join(COMPAT, packagerCases.fixtures[c.fixture].manifest), 'utf8'));
          if (c.expectExact !== undefined) expect(out).to.equal(c.expectExact);
          for (const s of c.expectContains ?? []) expect(out).to.include(s);
          const order: string[] = c.expectOrder ?? [];
          const positions = order.map((s) => out.indexOf(s));
          expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
        });
      });
    }

    context('when the manifest declares sidecars', () => {
      it('adds a sidecars table with process types and memory', () => {
        const out = summaryOf(`language: x
dependencies:
- {name: agent, version: 1.0.0, uri: https://h/a.tgz, cf_stacks: [cflinuxfs4, cflinuxfs3]}
sidecars:
- {name: agent, dependency: agent, command: bin/agent, process_types: [web, worker], memory: 64}
- {name: probe, dependency: agent, command: bin/probe}
`);
        expect(out).to.include('| agent | 1.0.0 | cflinuxfs4, cflinuxfs3 |\n');
        expect(out).to.include('\nSidecars:\n\n| name | process types | memory |\n|-|-|-|\n| agent | web, worker | 64 MB |\n| probe | web |  |\n');
      });
    });

    context('failure cases', () => {
      it('prints nothing for an empty manifest', () => expect(summaryOf('language: x\n')).to.equal(''));
    });
  });

  describe('#summaryData (packaging_profiles)', () => {
    for (const c of packagerCases.cases.filter((x) => x.call === 'ParsePackagingProfiles')) {
      it(`reads them like libbuildpack — ${c.source}`, () => {
        const data = summaryData(parseManifestDocument(YAML.stringify(c.input), 'manifest.yml'));
        if (c.expect.packagingProfiles === null) return expect(data.packaging_profiles).to.deep.equal([]);
        expect(data.packaging_profiles).to.have.length(c.expect.profileCount);
        for (const p of data.packaging_profiles) expect({ description: p.description, exclude: p.exclude }).to.deep.equal(c.expect[p.name]);
      });
    }
  });

  describe('#sortDependencies', () => {
    for (const c of packagerCases.cases.filter((x) => x.call === 'SortDependencies')) {
      it(`sorts by name then semantic version — ${c.source}`, () => {
        expect(sortDependencies(c.input)).to.deep.equal(c.expect);
      });
    }
    context('failure cases', () => {
      it('orders versions that are not semver as text', () => {
        expect(sortDependencies([{ name: 'a', version: 'zeta' }, { name: 'a', version: 'alpha' }]).map((d) => d.version)).to.deep.equal(['alpha', 'zeta']);
      });
    });
  });
});
