// Table tests: the builder's launch.yml merge against shared/compat/launch-cases.json.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { compatPath } from '../helpers/shared.js';
import {
  LaunchParseError,
  mergeLaunch,
  mergeProcesses,
  parseLaunchYml,
  parseProcfile,
  parseRelease,
  toResultParts,
  type MergeNote,
} from '../../src/platform/local/launch-merge.js';

const cases = JSON.parse(readFileSync(compatPath('launch-cases.json'), 'utf8'));
const RELEASE_WEB = '<bin/release default web command>';

describe('launch merge', () => {
  describe('#mergeLaunch (compat/launch-cases.json)', () => {
    for (const c of cases.cases) {
      context(`when ${c.scenario}`, () => {
        it('answers like the builder', () => {
          const docs = c.launchYml as Record<string, unknown>;
          const finalIdx = 1;
          const supply = [0].map((i) => (docs[String(i)] ? parseLaunchYml(stringify(docs[String(i)])) : undefined));
          const final = docs[String(finalIdx)] ? parseLaunchYml(stringify(docs[String(finalIdx)])) : undefined;
          const release = parseRelease(stringify({ default_process_types: { web: RELEASE_WEB } }));
          const procfile = c.procfile ? parseProcfile(c.procfile) : undefined;
          const parts = toResultParts(mergeLaunch({ supply, final, release: final ? undefined : release, procfile }));
          expect(parts.process_types).to.deep.equal(c.expect.process_types);
          expect(parts.processes).to.deep.equal(c.expect.processes);
          expect(parts.sidecars).to.deep.equal(c.expect.sidecars);
          expect(parts.process_types.web).to.equal(c.expect.staging_info_start_command);
        });
      });
    }

    for (const f of cases.fileCases) {
      context(`when reading ${f.file}`, () => {
        it('yields the expected sidecars', () => {
          const text = readFileSync(compatPath(f.file), 'utf8');
          expect(toResultParts(parseLaunchYml(text)).sidecars).to.deep.equal(f.expectSidecars);
        });
      });
    }
  });

  describe('#mergeProcesses', () => {
    context('when a sidecar entry replaces a process of the same type', () => {
      it('replaces it in place and records a note', () => {
        const notes: MergeNote[] = [];
        const merged = mergeProcesses(
          [{ type: 'web', command: 'a', sidecar_for: [], memory: 0 }],
          [{ type: 'web', command: 'b', sidecar_for: ['web'], memory: 0 }],
          notes,
        );
        expect(merged).to.have.length(1);
        expect(toResultParts(merged).processes).to.equal(null);
        expect(notes).to.deep.equal([{ type: 'web', from: 'process', to: 'sidecar' }]);
      });
    });
  });

  describe('#parseProcfile', () => {
    it('keeps document order', () => {
      expect(parseProcfile('web: node a.js\nworker: node b.js\n').map((p) => p.type)).to.deep.equal(['web', 'worker']);
    });
  });

  context('failure cases', () => {
    it('rejects a memory limit written with a unit, as yaml.v2 does', () => {
      const text = 'processes:\n- type: cs\n  command: x\n  limits:\n    memory: 64M\n';
      expect(() => parseLaunchYml(text)).to.throw(LaunchParseError, "line 5: cannot unmarshal !!str `64M` into int");
    });
    it('rejects invalid YAML in a Procfile', () => {
      expect(() => parseProcfile('web: [unclosed')).to.throw(LaunchParseError, 'invalid YAML');
    });
    it('rejects invalid release output', () => {
      expect(() => parseRelease('default_process_types: [a')).to.throw(LaunchParseError, "buildpack's release output invalid");
    });
  });
});
