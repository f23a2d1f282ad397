import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SidecarSpec } from '../../src/manifest/types.js';
import { renderSidecar, splitCommand } from '../../src/sidecar/render.js';
import { shQuote } from '../../src/sidecar/shell.js';
import { sidecarSpec as spec, writeSidecar } from '../helpers/sidecar-spec.js';

const HOSTILE = [`a'b`, '$(touch /tmp/pwned-sidecar)', '`id`', 'x; rm -rf /', 'line1\nline2', '"quoted" $HOME *', ''];

describe('sidecar rendering', () => {
  let deps: string;
  beforeEach(async () => {
    deps = await fs.mkdtemp(path.join(os.tmpdir(), 'render-'));
  });
  afterEach(() => fs.rm(deps, { recursive: true, force: true }));

  // a "binary" that prints its argv and one env var, one per line
  const PRINTER = '#!/bin/sh\nfor a in "$@"; do printf "ARG[%s]\\n" "$a"; done\nprintf "ENV[%s]\\n" "$MY_VAR"\n';
  const materialize = (s: SidecarSpec, idx = '0'): Promise<string> => writeSidecar(deps, s, PRINTER, idx);

  function launch(command: string, env: Record<string, string> = {}): string {
    // what the launcher does: bash -c "<command>" with DEPS_DIR set
    return execFileSync('bash', ['-c', command], { env: { PATH: process.env.PATH, DEPS_DIR: deps, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  describe('#renderSidecar', () => {
    it('declares a launch.yml sidecar for its process types with its memory', () => {
      const r = renderSidecar(spec({ memory: 64, process_types: ['web', 'worker'] }), '2');
      expect(r.process).to.include({ type: 'config-server', memory: 64 });
      expect(r.process.sidecarFor).to.deep.equal(['web', 'worker']);
      expect(r.process.command).to.equal('"$DEPS_DIR"/2/sidecars/config-server/run "$DEPS_DIR"/2/config-server/bin/config-server');
    });

    it('runs the binary under $DEPS_DIR with the author args and each arg quoted', async () => {
      const command = await materialize(spec({ command: 'bin/config-server --mode fast', args: HOSTILE }));
      const out = launch(command);
      const expected = ['--mode', 'fast', ...HOSTILE].map((a) => `ARG[${a}]`).join('\n');
      expect(out).to.equal(`${expected}\nENV[]\n`);
      await fs.access('/tmp/pwned-sidecar').then(
        () => expect.fail('a hostile arg was executed'),
        () => undefined,
      );
    });

    it('treats the words after the command path as data, never as shell', async () => {
      const command = await materialize(spec({ command: 'bin/config-server --a ; touch /tmp/pwned-sidecar-cmd $(id) `id` &&' }));
      expect(launch(command)).to.equal(['--a', ';', 'touch', '/tmp/pwned-sidecar-cmd', '$(id)', '`id`', '&&'].map((a) => `ARG[${a}]`).join('\n') + '\nENV[]\n');
      await fs.access('/tmp/pwned-sidecar-cmd').then(
        () => expect.fail('a word of the command was executed'),
        () => undefined,
      );
    });

    for (const value of HOSTILE) {
      it(`gives the sidecar its env default as inert data: ${JSON.stringify(value)}`, async () => {
        const command = await materialize(spec({ env: { MY_VAR: { kind: 'literal', value } } }));
        expect(launch(command)).to.equal(`ENV[${value}]\n`);
      });
    }

    it('keeps a value the app already set, even an empty one', async () => {
      const command = await materialize(spec({ env: { MY_VAR: { kind: 'literal', value: 'default' } } }));
      expect(launch(command, { MY_VAR: 'mine' })).to.equal('ENV[mine]\n');
      expect(launch(command, { MY_VAR: '' })).to.equal('ENV[]\n');
    });

    it('gives the app the same defaults through its profile.d script', async () => {
      await materialize(spec({ env: { MY_VAR: { kind: 'literal', value: `it's $x` } } }));
      const out = execFileSync('bash', ['-c', `. "$DEPS_DIR/0/profile.d/config-server.sh"; printf '%s' "$MY_VAR"`], {
        env: { PATH: process.env.PATH, DEPS_DIR: deps },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(out).to.equal(`it's $x`);
    });

    it('passes the sidecar exit status through the wrapper', async () => {
      const command = await materialize(spec());
      await fs.writeFile(path.join(deps, '0', 'config-server', 'bin', 'config-server'), '#!/bin/sh\nexit 42\n');
      let status = 0;
      try {
        launch(command);
      } catch (e) {
        status = (e as { status: number }).status;
      }
      expect(status).to.equal(42);
    });
  });

  describe('#shQuote', () => {
    it('leaves plain words alone and quotes the rest', () => {
      expect(shQuote('bin/x')).to.equal('bin/x');
      expect(shQuote(`a'b`)).to.equal(`'a'\\''b'`);
      expect(shQuote('')).to.equal(`''`);
    });
  });

  context('failure cases', () => {
    it('refuses a command path outside the dependency', () => {
      expect(() => splitCommand('../../etc/x')).to.throw(/inside its dependency/);
      expect(() => splitCommand('/bin/sh')).to.throw(/inside its dependency/);
    });
    it('refuses an env name that is not a shell identifier', () => {
      expect(() => renderSidecar(spec({ env: { 'A;B': { kind: 'literal', value: 'x' } } }), '0')).to.throw(/shell identifier/);
    });
    it('refuses a command whose rendered form exceeds 4096 characters, naming the manifest key (issue 13 §6)', () => {
      const words = Array(2000).fill('x').join(' ');
      expect(() => renderSidecar(spec({ command: `bin/c ${words}` }), '0')).to.not.throw();
      const e = (() => {
        try {
          renderSidecar(spec({ command: `bin/c ${words}`, args: Array(20).fill("it's") }), '0', { file: 'bp/manifest.yml', key: 'sidecars[2]' });
        } catch (err) {
          return err as Error;
        }
        throw new Error('no refusal');
      })();
      expect(e.message).to.match(/^bp\/manifest\.yml: sidecars\[2\]\.command: renders to 4\d{3} characters in launch\.yml/);
    });
  });

  describe('a 255-character name (the longest Cloud Controller accepts)', () => {
    it('renders, writes and runs: wrapper, profile.d hook (a short unique file name), readiness', async () => {
      const name = `a${'-b'.repeat(127)}`;
      expect(name).to.have.length(255);
      const s = spec({ name, env: { MY_VAR: { kind: 'literal', value: 'long' } }, readiness: { exec: { command: 'true' }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 2, on_timeout: 'fail' } });
      const command = await materialize(s);
      const profile = renderSidecar(s, '0').files.find((f) => f.path.startsWith('profile.d/'))!.path;
      expect(path.basename(profile).length).to.be.below(130);
      expect(launch(command)).to.equal('ENV[long]\n');
      const out = execFileSync('bash', ['-c', `. "$DEPS_DIR"/0/${profile}; echo "$MY_VAR"`, 'launcher', deps, 'app-cmd'], {
        env: { PATH: process.env.PATH, DEPS_DIR: deps, CF_INSTANCE_GUID: 'g' },
        encoding: 'utf8',
      });
      expect(out).to.equal(`sidecar ${name} is ready\nlong\n`);
      const other = renderSidecar(spec({ name: `${name.slice(0, 254)}c` }), '0').files.find((f) => f.path.startsWith('profile.d/'))!.path;
      expect(other).to.not.equal(profile);
    });
  });
});
