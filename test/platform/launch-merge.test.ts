// Table tests: the builder's launch.yml merge against shared/compat/launch-cases.json.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { readLaunchYml } from '../../src/launch/launch-yml.js';
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

    // issue 13 item 14: what the builder refuses, with yaml.v2's line
    const refusals: Array<[string, string, string | RegExp]> = [
      ['invalid YAML', 'processes:\n- type: a\n  command: [unclosed\n', /^yaml: line \d+: /],
      ['processes not a list', 'processes:\n  type: web\n  command: x\n', 'line 2: cannot unmarshal !!map into []process (a list of processes)'],
      ['processes a string', 'processes: web\n', 'line 1: cannot unmarshal !!str `web` into []process'],
      ['a list where the command string is expected', 'processes:\n- type: a\n  command: [x, y]\n', 'line 3: cannot unmarshal !!seq into string'],
      ['a map where the type string is expected', 'processes:\n- type: {name: a}\n  command: x\n', 'line 2: cannot unmarshal !!map into string'],
      ['an entry that is not a map', 'processes:\n- just-a-string\n', 'line 2: cannot unmarshal !!str `just-a-string` into process (a map)'],
      ['sidecar_for a string', 'processes:\n- type: a\n  command: x\n  platforms:\n    cloudfoundry:\n      sidecar_for: web\n', 'line 6: cannot unmarshal !!str `web` into []string'],
      ['limits a list', 'processes:\n- type: a\n  command: x\n  limits: [64]\n', 'line 4: cannot unmarshal !!seq into limits (a map)'],
    ];
    for (const [what, text, message] of refusals) {
      it(`rejects a launch.yml with ${what}, and the library's reader says the same`, () => {
        expect(() => parseLaunchYml(text)).to.throw(LaunchParseError, message);
        expect(() => readLaunchYml(text)).to.throw(LaunchParseError, message);
      });
    }
    it('reads strings leniently as yaml.v2 does (numbers as text, null as empty)', () => {
      const text = 'processes:\n- type: 123\n  command:\n  limits: {memory: 16}\n  platforms: {cloudfoundry: {sidecar_for: [web, 7]}}\n';
      expect(parseLaunchYml(text)).to.deep.equal([{ type: '123', command: '', sidecar_for: ['web', '7'], memory: 16 }]);
      expect(readLaunchYml(text)).to.deep.equal([{ type: '123', command: '', memory: 16, sidecarFor: ['web', '7'] }]);
    });
    it('rejects a Procfile that is not a map, and a command that is not a string', () => {
      expect(() => parseProcfile('- web: node a.js\n')).to.throw(LaunchParseError, 'Procfile: not a map of process types');
      expect(() => parseProcfile('web:\n  cmd: node a.js\n')).to.throw(LaunchParseError, 'line 2: cannot unmarshal !!map into string');
    });
  });

  describe('one reader', () => {
    for (const f of cases.fileCases) {
      it(`reads ${f.file} the same through the library and the builder`, () => {
        const text = readFileSync(compatPath(f.file), 'utf8');
        const builder = parseLaunchYml(text);
        expect(readLaunchYml(text)).to.deep.equal(
          builder.map((p) => ({ type: p.type, command: p.command, ...(p.memory ? { memory: p.memory } : {}), ...(p.sidecar_for.length ? { sidecarFor: p.sidecar_for } : {}) })),
        );
      });
    }
  });
});
