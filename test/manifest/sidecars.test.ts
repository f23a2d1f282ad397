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
          on_timeout: 'fail',
        });
        expect(s.liveness).to.deep.equal({
          http: { port: 8082, path: '/config/' },
          initial_delay_seconds: 5,
          period_seconds: 10,
          failure_threshold: 3,
        });
        expect(s.stop_grace_seconds).to.equal(10);
        expect(s.strip_components).to.equal(1);
      });
    });

    context('when probes use tcp or exec and defaults', () => {
      it('fills readiness and liveness defaults separately', () => {
        const [s] = sidecars(one('  readiness:\n    tcp: {port: 8082}\n    on_timeout: continue\n  liveness:\n    exec: {command: "bin/check --quick"}\n'));
        // readiness: 30 s, no threshold; liveness: 3 in a row, no time limit (issue 12 §4)
        expect(s.readiness).to.deep.equal({ tcp: { port: 8082 }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 30, on_timeout: 'continue' });
        expect(s.liveness).to.deep.equal({ exec: { command: 'bin/check --quick' }, initial_delay_seconds: 0, period_seconds: 10, failure_threshold: 3 });
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

  describe('issue 12 keys', () => {
    const agent = (name: string, extra = '') => `- name: ${name}\n  dependency: config-server\n  command: bin/${name}\n${extra}`;

    context('proxy:', () => {
      it('defaults app_port to 8081, for {} and for true', () => {
        expect(sidecars(one('  proxy: {}\n'))[0].proxy).to.deep.equal({ app_port: 8081 });
        expect(sidecars(one('  proxy: true\n'))[0].proxy).to.deep.equal({ app_port: 8081 });
        expect(sidecars(one('  proxy: {app_port: 9000}\n'))[0].proxy).to.deep.equal({ app_port: 9000 });
      });
      it('refuses two proxies for one process type, naming both', () => {
        const e = refusal(`${agent('envoy', '  proxy: {}\n')}${agent('edge-proxy', '  process_types: [worker, web]\n  proxy: {app_port: 9000}\n')}`);
        expect(e.key).to.equal('sidecars[1].proxy');
        expect(e.message).to.equal(
          "manifest.yml: sidecars[1].proxy: edge-proxy and envoy (sidecars[0]) are both proxies for web: only one process can listen on the instance's port",
        );
      });
      it('allows proxies for different process types', () => {
        expect(sidecars(`${agent('a', '  proxy: {}\n')}${agent('b', '  process_types: [worker]\n  proxy: {}\n')}`)).to.have.length(2);
      });
      const cases: [string, string, string][] = [
        ['app_port 8080 (the proxy\'s own)', one('  proxy: {app_port: 8080}\n'), 'sidecars[0].proxy.app_port'],
        ['app_port 0', one('  proxy: {app_port: 0}\n'), 'sidecars[0].proxy.app_port'],
        ['an unknown proxy key', one('  proxy: {port: 1}\n'), 'sidecars[0].proxy.port'],
        ['a proxy for tasks', one('  proxy: {}\n  tasks: true\n'), 'sidecars[0].tasks'],
        ['a proxy whose readiness checks its own $PORT', one('  proxy: {}\n  readiness:\n    tcp: {port: $PORT}\n'), 'sidecars[0].readiness.tcp.port'],
        ['a proxy whose readiness checks 8080', one('  proxy: {}\n  readiness:\n    http: {port: 8080, path: /}\n'), 'sidecars[0].readiness.http.port'],
      ];
      for (const [what, yaml, key] of cases) it(`refuses ${what}, naming ${key}`, () => expect(refusal(yaml).key).to.equal(key));
    });

    context('tasks:', () => {
      it('reads true and false', () => {
        expect(sidecars(one('  tasks: true\n'))[0].tasks).to.equal(true);
        expect(sidecars(one('  tasks: false\n'))[0]).to.not.have.property('tasks');
      });
      it('refuses anything else', () => expect(refusal(one('  tasks: yes\n')).key).to.equal('sidecars[0].tasks'));
    });

    context('volumes:', () => {
      it('normalises paths relative to /home/vcap', () => {
        const [s] = sidecars(one('  volumes:\n  - {name: varlog, path: logs/app}\n  - {name: spool, path: /home/vcap/spool/./x/}\n'));
        expect(s.volumes).to.deep.equal([{ name: 'varlog', path: 'logs/app' }, { name: 'spool', path: 'spool/x' }]);
      });
      it('allows the same volume in two sidecars only with the same path', () => {
        expect(sidecars(`${agent('a', '  volumes: [{name: v, path: logs/v}]\n')}${agent('b', '  volumes: [{name: v, path: logs/v}]\n')}`)).to.have.length(2);
        const e = refusal(`${agent('a', '  volumes: [{name: v, path: logs/v}]\n')}${agent('b', '  volumes: [{name: v, path: logs/w}]\n')}`);
        expect(e.key).to.equal('sidecars[1].volumes[0].path');
      });
      const cases: [string, string, string][] = [
        ['an absolute path outside /home/vcap', '  volumes: [{name: v, path: /var/log}]\n', 'sidecars[0].volumes[0].path'],
        ['/home/vcapx', '  volumes: [{name: v, path: /home/vcapx/a}]\n', 'sidecars[0].volumes[0].path'],
        ['/home/vcap itself', '  volumes: [{name: v, path: /home/vcap}]\n', 'sidecars[0].volumes[0].path'],
        ['a path climbing out', '  volumes: [{name: v, path: logs/../../etc}]\n', 'sidecars[0].volumes[0].path'],
        ['a path inside the droplet\'s app/', '  volumes: [{name: v, path: app/logs}]\n', 'sidecars[0].volumes[0].path'],
        ['a path inside deps/', '  volumes: [{name: v, path: ./deps/x}]\n', 'sidecars[0].volumes[0].path'],
        ['a path with shell characters', '  volumes: [{name: v, path: "logs/$(id)"}]\n', 'sidecars[0].volumes[0].path'],
        ['an upper-case name', '  volumes: [{name: VarLog, path: logs/a}]\n', 'sidecars[0].volumes[0].name'],
        ['a name listed twice', '  volumes: [{name: v, path: a}, {name: v, path: b}]\n', 'sidecars[0].volumes[1].name'],
        ['a missing path', '  volumes: [{name: v}]\n', 'sidecars[0].volumes[0].path'],
        ['a volume variable also in env', '  env: {V_VOLUME: x}\n  volumes: [{name: v, path: a}]\n', 'sidecars[0].volumes[0].name'],
      ];
      for (const [what, extra, key] of cases) it(`refuses ${what}, naming ${key}`, () => expect(refusal(one(extra)).key).to.equal(key));
    });

    context('probes that follow the app\'s settings', () => {
      it('reads a port from a variable and keeps references in the path', () => {
        const [s] = sidecars(one('  readiness:\n    http: {port: $CONFIG_SERVER_PORT, path: "/${CONFIG_PREFIX}/config/"}\n  liveness:\n    tcp: {port: "${X_1}"}\n'));
        expect(s.readiness?.http).to.deep.equal({ port: { env: 'CONFIG_SERVER_PORT' }, path: '/${CONFIG_PREFIX}/config/' });
        expect(s.liveness?.tcp).to.deep.equal({ port: { env: 'X_1' } });
      });
      it('keeps a declared readiness failure_threshold and liveness timeout_seconds', () => {
        const [s] = sidecars(one('  readiness:\n    tcp: {port: 1}\n    failure_threshold: 5\n  liveness:\n    tcp: {port: 1}\n    timeout_seconds: 20\n'));
        expect(s.readiness).to.include({ failure_threshold: 5, timeout_seconds: 30 });
        expect(s.liveness).to.include({ failure_threshold: 3, timeout_seconds: 20 });
      });
      const cases: [string, string, string][] = [
        ['a port variable that is not a name', '  readiness:\n    tcp: {port: "$1X"}\n', 'sidecars[0].readiness.tcp.port'],
        ['a port expression', '  readiness:\n    tcp: {port: "$(id)"}\n', 'sidecars[0].readiness.tcp.port'],
        ['a stray $ in a path', '  readiness:\n    http: {port: 1, path: "/a$"}\n', 'sidecars[0].readiness.http.path'],
        ['a command substitution in a path', '  readiness:\n    http: {port: 1, path: "/$(id)"}\n', 'sidecars[0].readiness.http.path'],
      ];
      for (const [what, extra, key] of cases) it(`refuses ${what}, naming ${key}`, () => expect(refusal(one(extra)).key).to.equal(key));
    });

    context('the command as launch.yml carries it (issue 13 §6)', () => {
      it('refuses a command under 4096 characters that renders past 4096, with the rendered length', () => {
        // 2040 words of one character: 4080 characters written, each quoted word adds nothing,
        // but the wrapper path and the binary's path in front push it past the limit
        const words = Array(2040).fill('x').join(' ');
        const e = refusal(one('', `  dependency: config-server\n  command: bin/c ${words}\n`));
        expect(e.key).to.equal('sidecars[0].command');
        expect(e.message).to.match(/renders to \d+ characters in launch\.yml .*at most 4096$/);
      });
      it('accepts a 255-character name', () => {
        const name = `a${'b'.repeat(254)}`;
        expect(sidecars(`- name: ${name}\n  dependency: config-server\n  command: bin/x\n`)[0].name).to.have.length(255);
      });
    });
  });
});
