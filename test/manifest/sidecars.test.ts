// Unit tests of the `sidecars:` section (issue 2 §3, issue 7 "Spec"): defaults, every field,
// and each validation failure naming its key path.

import { expect } from 'chai';
import { ManifestError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/parse.js';
import type { SidecarSpec } from '../../src/manifest/types.js';
import { expectThrow } from '../helpers/assert.js';

const SHA = 'b'.repeat(64);
const HEAD = `language: config-server
default_versions:
- {name: config-server, version: 1.2.x}
dependencies:
- name: config-server
  version: 1.2.3
  uri: https://example.org/config-server-1.2.3.tgz
  sha256: ${SHA}
  cf_stacks: [cflinuxfs4]
`;

function sidecars(yaml: string): SidecarSpec[] {
  return parseManifest(`${HEAD}sidecars:\n${yaml}`, 'manifest.yml').sidecars;
}

/** One sidecar entry with `extra` lines (indented by two) added to a valid minimal one. */
function one(extra = '', base = '  dependency: config-server\n  command: bin/config-server\n'): string {
  return `- name: config-server\n${base}${extra}`;
}

function refusal(yaml: string): ManifestError {
  return expectThrow(() => sidecars(yaml), ManifestError);
}

describe('sidecars', () => {
  describe('#parseManifest sidecars:', () => {
    context('when the section is absent or empty', () => {
      it('gives no sidecars', () => {
        expect(parseManifest(HEAD, 'm.yml').sidecars).to.deep.equal([]);
        expect(parseManifest(`${HEAD}sidecars:\n`, 'm.yml').sidecars).to.deep.equal([]);
      });
    });

    context('when a sidecar names only the required keys', () => {
      it('fills the defaults', () => {
        expect(sidecars(one())).to.deep.equal([
          { name: 'config-server', dependency: 'config-server', command: 'bin/config-server', args: [], process_types: ['web'], env: {} },
        ]);
      });
    });

    context('when the issue 7 example is given', () => {
      it('reads every field', () => {
        const [s] = sidecars(
          one(`  args: ["--log-format", "json"]
  process_types: [web, worker]
  memory: 64
  env:
    CONFIG_SERVER_PORT: "8082"
    CONFIG_TOKEN:
      service: {name: my-config}
      credential: token
    BY_LABEL: {service: {label: p-config}, credential: uri}
  readiness:
    http: {port: 8082, path: /config/}
    period_seconds: 1
    timeout_seconds: 30
    on_timeout: fail
  liveness:
    http: {port: 8082, path: /config/}
    initial_delay_seconds: 5
    period_seconds: 10
    failure_threshold: 3
  stop_grace_seconds: 10
  strip_components: 1
`),
        );
        expect(s.args).to.deep.equal(['--log-format', 'json']);
        expect(s.process_types).to.deep.equal(['web', 'worker']);
        expect(s.memory).to.equal(64);
        expect(s.env).to.deep.equal({
          CONFIG_SERVER_PORT: { kind: 'literal', value: '8082' },
          CONFIG_TOKEN: { kind: 'service', service: { name: 'my-config' }, credential: 'token' },
          BY_LABEL: { kind: 'service', service: { label: 'p-config' }, credential: 'uri' },
        });
        expect(s.readiness).to.deep.equal({
          http: { port: 8082, path: '/config/' },
          initial_delay_seconds: 0,
          period_seconds: 1,
          timeout_seconds: 30,
          failure_threshold: 3,
          on_timeout: 'fail',
        });
        expect(s.liveness).to.deep.equal({
          http: { port: 8082, path: '/config/' },
          initial_delay_seconds: 5,
          period_seconds: 10,
          timeout_seconds: 30,
          failure_threshold: 3,
        });
        expect(s.stop_grace_seconds).to.equal(10);
        expect(s.strip_components).to.equal(1);
      });
    });

    context('when probes use tcp or exec and defaults', () => {
      it('fills readiness and liveness defaults separately', () => {
        const [s] = sidecars(one('  readiness:\n    tcp: {port: 8082}\n    on_timeout: continue\n  liveness:\n    exec: {command: "bin/check --quick"}\n'));
        expect(s.readiness).to.deep.equal({ tcp: { port: 8082 }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 30, failure_threshold: 3, on_timeout: 'continue' });
        expect(s.liveness).to.deep.equal({ exec: { command: 'bin/check --quick' }, initial_delay_seconds: 0, period_seconds: 10, timeout_seconds: 30, failure_threshold: 3 });
      });
      it('defaults an http path to / and keeps a host', () => {
        const [s] = sidecars(one('  readiness:\n    http: {port: 80, host: 127.0.0.1}\n'));
        expect(s.readiness?.http).to.deep.equal({ port: 80, path: '/', host: '127.0.0.1' });
      });
    });

    context('when the command holds shell metacharacters', () => {
      it('keeps it as inert data (quoting is the renderer\'s job)', () => {
        const [s] = sidecars(one('', '  dependency: config-server\n  command: \'bin/x "$(id)"; `reboot` | tee >/tmp/y\'\n  args: ["$HOME", "a b", "\'q\'"]\n'));
        expect(s.command).to.equal('bin/x "$(id)"; `reboot` | tee >/tmp/y');
        expect(s.args).to.deep.equal(['$HOME', 'a b', "'q'"]);
      });
    });

    context('failure cases', () => {
      const cases: [string, string, string][] = [
        ['a name with shell metacharacters', '- name: "x;reboot"\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['an upper-case name', '- name: Config\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['a name starting with a digit or dash', '- name: "-x"\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['a process type name', '- name: web\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['worker as a name', '- name: worker\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['task as a name', '- name: task\n  dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['a name over 255 characters', `- name: ${'a'.repeat(256)}\n  dependency: config-server\n  command: bin/x\n`, 'sidecars[0].name'],
        ['a missing name', '- dependency: config-server\n  command: bin/x\n', 'sidecars[0].name'],
        ['an unknown dependency', '- name: a\n  dependency: nope\n  command: bin/x\n', 'sidecars[0].dependency'],
        ['a missing command', '- name: a\n  dependency: config-server\n', 'sidecars[0].command'],
        ['a command over 4096 characters', `- name: a\n  dependency: config-server\n  command: bin/${'x'.repeat(4096)}\n`, 'sidecars[0].command'],
        ['an absolute command', '- name: a\n  dependency: config-server\n  command: /bin/sh -c x\n', 'sidecars[0].command'],
        ['a command escaping the dependency', '- name: a\n  dependency: config-server\n  command: ../../bin/x\n', 'sidecars[0].command'],
        ['args not a list', one('  args: "--x"\n'), 'sidecars[0].args'],
        ['an args entry not a string', one('  args: [[a]]\n'), 'sidecars[0].args[0]'],
        ['empty process_types', one('  process_types: []\n'), 'sidecars[0].process_types'],
        ['a duplicated process type', one('  process_types: [web, web]\n'), 'sidecars[0].process_types[1]'],
        ['a process type with spaces', one('  process_types: ["we b"]\n'), 'sidecars[0].process_types[0]'],
        ['memory with a unit', one('  memory: 64M\n'), 'sidecars[0].memory'],
        ['zero memory', one('  memory: 0\n'), 'sidecars[0].memory'],
        ['negative memory', one('  memory: -1\n'), 'sidecars[0].memory'],
        ['fractional memory', one('  memory: 1.5\n'), 'sidecars[0].memory'],
        ['an env name that is not an identifier', one('  env:\n    "1BAD": x\n'), 'sidecars[0].env.1BAD'],
        ['an env name with a dash', one('  env:\n    BAD-NAME: x\n'), 'sidecars[0].env.BAD-NAME'],
        ['an empty env value', one('  env:\n    EMPTY:\n'), 'sidecars[0].env.EMPTY'],
        ['a service ref with two selectors', one('  env:\n    T: {service: {name: a, tag: b}, credential: c}\n'), 'sidecars[0].env.T.service'],
        ['a service ref without credential', one('  env:\n    T: {service: {name: a}}\n'), 'sidecars[0].env.T.credential'],
        ['a service ref with an unknown key', one('  env:\n    T: {service: {name: a}, credential: c, default: d}\n'), 'sidecars[0].env.T.default'],
        ['a probe with two checks', one('  readiness:\n    http: {port: 1}\n    tcp: {port: 1}\n'), 'sidecars[0].readiness'],
        ['a probe with no check', one('  liveness:\n    period_seconds: 5\n'), 'sidecars[0].liveness'],
        ['a port of 0', one('  readiness:\n    http: {port: 0, path: /}\n'), 'sidecars[0].readiness.http.port'],
        ['a port over 65535', one('  readiness:\n    http: {port: 65536, path: /}\n'), 'sidecars[0].readiness.http.port'],
        ['a missing port', one('  readiness:\n    tcp: {host: localhost}\n'), 'sidecars[0].readiness.tcp.port'],
        ['a path without /', one('  readiness:\n    http: {port: 1, path: config}\n'), 'sidecars[0].readiness.http.path'],
        ['a path with spaces', one('  readiness:\n    http: {port: 1, path: "/a b"}\n'), 'sidecars[0].readiness.http.path'],
        ['a hostile host', one('  readiness:\n    http: {port: 1, host: "x;reboot"}\n'), 'sidecars[0].readiness.http.host'],
        ['an exec probe without command', one('  readiness:\n    exec: {}\n'), 'sidecars[0].readiness.exec.command'],
        ['a bad on_timeout', one('  readiness:\n    tcp: {port: 1}\n    on_timeout: retry\n'), 'sidecars[0].readiness.on_timeout'],
        ['on_timeout on liveness', one('  liveness:\n    tcp: {port: 1}\n    on_timeout: fail\n'), 'sidecars[0].liveness.on_timeout'],
        ['a period of 0', one('  readiness:\n    tcp: {port: 1}\n    period_seconds: 0\n'), 'sidecars[0].readiness.period_seconds'],
        ['a failure_threshold of 0', one('  liveness:\n    tcp: {port: 1}\n    failure_threshold: 0\n'), 'sidecars[0].liveness.failure_threshold'],
        ['a negative initial delay', one('  liveness:\n    tcp: {port: 1}\n    initial_delay_seconds: -1\n'), 'sidecars[0].liveness.initial_delay_seconds'],
        ['a negative stop grace', one('  stop_grace_seconds: -1\n'), 'sidecars[0].stop_grace_seconds'],
        ['a negative strip_components', one('  strip_components: -1\n'), 'sidecars[0].strip_components'],
        ['an unknown key (typo)', one('  proces_types: [web]\n'), 'sidecars[0].proces_types'],
        ['an entry that is not a mapping', '- config-server\n', 'sidecars[0]'],
      ];
      for (const [what, yaml, key] of cases) {
        it(`refuses ${what}, naming ${key}`, () => {
          const e = refusal(yaml);
          expect(e.key).to.equal(key);
          expect(e.message.startsWith(`manifest.yml: ${key}: `)).to.equal(true, e.message);
        });
      }

      it('refuses sidecars: that is not a list', () => {
        expect(() => parseManifest(`${HEAD}sidecars: {name: a}\n`, 'manifest.yml')).to.throw(ManifestError).with.property('key', 'sidecars');
      });
      it('refuses two sidecars with the same name', () => {
        const e = refusal(`${one()}${one()}`);
        expect(e.key).to.equal('sidecars[1].name');
        expect(e.message).to.contain('duplicate sidecar name');
      });
      it('refuses a sidecar whose name is another sidecar\'s process type', () => {
        const e = refusal(`${one('  process_types: [web, agent]\n')}- name: agent\n  dependency: config-server\n  command: bin/agent\n`);
        expect(e.key).to.equal('sidecars[0].process_types[1]');
      });
      it('names the full path of a deep error', () => {
        const e = refusal(`${one()}- name: second\n  dependency: config-server\n  command: bin/x\n  readiness:\n    http: {port: "80x", path: /}\n`);
        expect(e.message).to.equal('manifest.yml: sidecars[1].readiness.http.port: must be a whole number, got "80x"');
      });
    });
  });
});
