import { expect } from 'chai';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { ReadinessSpec } from '../../src/manifest/types.js';
import { renderProfileScript, renderSidecar } from '../../src/sidecar/render.js';
import { Droplet, Run, SHELLS, type Shell, Target, pathWithoutCurl, releaseAfterEach, spec, until } from './harness.js';

function readiness(over: Partial<ReadinessSpec>): ReadinessSpec {
  return { initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 10, on_timeout: 'fail', ...over };
}

const VCAP_WEB = JSON.stringify({ application_name: 'app', process_type: 'web' });

/** What the launcher does for one process: source the profile.d hook with $1 = app dir, $2 = command. */
function launch(droplet: Droplet, shell: Shell, command = 'node server.js', env: Record<string, string | undefined> = {}, times = 1): Run {
  const source = Array(times).fill('. "$DEPS_DIR/0/profile.d/agent.sh"').join('; ');
  const script = `cd "$1"; ${source}; shift; echo "APP-STARTED $1"`;
  return new Run([shell, '-c', script, 'launcher', path.join(droplet.root, 'app'), command], droplet.env({ VCAP_APPLICATION: VCAP_WEB, CF_INSTANCE_GUID: 'f00-instance', ...env }));
}

describe('sidecar readiness gate', () => {
  let droplet: Droplet | undefined;
  let target: Target | undefined;
  releaseAfterEach();

  describe('#renderProfileScript', () => {
    it('only loads the env defaults when no readiness check is declared', () => {
      expect(renderProfileScript(spec(), { idx: '0', env: '"$DEPS_DIR"/0/sidecars/agent/env.sh' }).trim().split('\n').slice(1)).to.deep.equal([
        '. "$DEPS_DIR"/0/sidecars/agent/env.sh',
      ]);
    });

    it('ships the check, the gate and the JSON reader only when readiness is declared', () => {
      const without = renderSidecar(spec(), '0').files.map((f) => f.path);
      expect(without).to.not.include.members(['sidecars/agent/await', 'sidecars/agent/readiness', 'sidecars/agent/vcap.awk']);
      const withIt = renderSidecar(spec({ readiness: readiness({ tcp: { port: 1 } }) }), '0').files.map((f) => f.path);
      expect(withIt).to.include.members(['sidecars/agent/await', 'sidecars/agent/readiness', 'sidecars/agent/vcap.awk']);
    });
  });

  for (const shell of SHELLS) {
    describe(`at launch under ${shell}`, () => {
      context('when the sidecar starts listening a moment after the app process', () => {
        it('holds the app back until the check passes, then starts it', async () => {
          target = await Target.reserve();
          droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/config/' } }) }), '');
          const run = launch(droplet, shell);
          await until(() => run.stdout.includes('waiting for it to be ready'), 'the gate to wait');
          await new Promise((r) => setTimeout(r, 1500));
          expect(run.stdout).to.not.include('APP-STARTED');
          await target.listen();
          const end = await run.done;
          expect(end.code).to.equal(0);
          const lines = run.stdout.trim().split('\n');
          expect(lines[0]).to.equal(`sidecar agent: waiting for it to be ready (http GET http://127.0.0.1:${target.port}/config/), up to 10s`);
          expect(lines[1]).to.match(/^sidecar agent is ready after \d+s$/);
          expect(lines[2]).to.equal('APP-STARTED node server.js');
          expect(target.answers.map((a) => [a.mode, a.path])).to.deep.equal([['ok', '/config/']]);
        });
      });

      context('when the sidecar is already ready', () => {
        it('starts the app at once and is idempotent when sourced again', async () => {
          target = await Target.listening('ok');
          droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/' } }) }), '');
          const run = launch(droplet, shell, 'node server.js', {}, 2);
          expect((await run.done).code).to.equal(0);
          expect(run.stdout).to.equal('sidecar agent is ready\nAPP-STARTED node server.js\n');
          expect(target.answers).to.have.length(1);
        });
      });

      context('when the check never passes', () => {
        it('fails the app process with on_timeout: fail', async () => {
          target = await Target.listening('fail');
          droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/' }, timeout_seconds: 2 }) }), '');
          const run = launch(droplet, shell);
          expect((await run.done).code).to.equal(1);
          expect(run.stdout).to.not.include('APP-STARTED');
          expect(run.stderr).to.equal(
            `sidecar agent: not ready in time (http GET http://127.0.0.1:${target.port}/); the app process will not start ` +
              '(on_timeout: fail; set AGENT_READINESS_TIMEOUT to wait longer or AGENT_READINESS=off to skip the check)\n',
          );
          expect(target.answers.length).to.be.greaterThan(1);
        });

        it('warns and starts the app with on_timeout: continue', async () => {
          target = await Target.listening('hang');
          droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/' }, timeout_seconds: 2, on_timeout: 'continue' }) }), '');
          const run = launch(droplet, shell);
          expect((await run.done).code).to.equal(0);
          expect(run.stdout).to.match(/APP-STARTED node server\.js\n$/);
          expect(run.stderr).to.include('WARNING: sidecar agent: not ready in time');
          expect(run.stderr).to.include('starting the app anyway (on_timeout: continue;');
        });

        it('honours AGENT_READINESS_TIMEOUT set at launch', async () => {
          target = await Target.reserve();
          droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 60 }) }), '');
          const run = launch(droplet, shell, 'node server.js', { AGENT_READINESS_TIMEOUT: '1' });
          expect((await run.done).code).to.equal(1);
          expect(run.stdout).to.include('up to 1s');
        });
      });

      context('when the process must not wait', () => {
        it('never waits inside a sidecar: $2 is a toolkit sidecar command (its own or another)', async () => {
          target = await Target.reserve();
          droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 30 }) }), '');
          for (const cmd of [droplet.command, '"$DEPS_DIR"/3/sidecars/other/run "$DEPS_DIR"/3/other/bin/x', `${droplet.deps}/0/sidecars/agent/run ${droplet.deps}/0/agent/bin/agent`]) {
            const run = launch(droplet, shell, cmd);
            expect((await run.done).code).to.equal(0);
            expect(run.stdout).to.equal(`APP-STARTED ${cmd}\n`);
          }
        });

        it('skips process types the sidecar does not run beside', async () => {
          target = await Target.reserve();
          droplet = await Droplet.create(spec({ process_types: ['web', 'my_worker-2'], readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 30 }) }), '');
          const other = launch(droplet, shell, 'rake jobs', { VCAP_APPLICATION: JSON.stringify({ process_type: 'clock' }) });
          expect((await other.done).code).to.equal(0);
          expect(other.stdout).to.equal('APP-STARTED rake jobs\n');
          // a listed type with characters that need escaping still waits
          const listed = launch(droplet, shell, 'rake jobs', { VCAP_APPLICATION: JSON.stringify({ process_type: 'my_worker-2' }), AGENT_READINESS_TIMEOUT: '1' });
          expect((await listed.done).code).to.equal(1);
        });

        it('is switched off by AGENT_READINESS=off at launch', async () => {
          target = await Target.reserve();
          droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 30 }) }), '');
          const run = launch(droplet, shell, 'node server.js', { AGENT_READINESS: 'OFF' });
          expect((await run.done).code).to.equal(0);
          expect(run.stdout).to.equal('APP-STARTED node server.js\n');
        });
      });
    });
  }

  describe('checks', () => {
    it('uses a bash HTTP/1.0 GET when curl is missing', async () => {
      const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'nocurl-'));
      try {
        target = await Target.listening('fail');
        droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: "/a'b?x=$(id)" } }) }), '');
        const env = droplet.env({ PATH: await pathWithoutCurl(bin) });
        const check = () => new Run(['sh', droplet!.file('sidecars/agent/readiness')], env).done;
        expect((await check()).code).to.equal(1);
        target.mode = 'ok';
        expect((await check()).code).to.equal(0);
        expect(target.answers.map((a) => a.path)).to.deep.equal(["/a'b?x=$(id)", "/a'b?x=$(id)"]);
      } finally {
        await fs.rm(bin, { recursive: true, force: true });
      }
    });

    it('passes on 2xx and 3xx only, with curl', async () => {
      target = await Target.listening('fail');
      droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/[x]' } }) }), '');
      const check = () => new Run(['sh', droplet!.file('sidecars/agent/readiness')], droplet!.env({ HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9' })).done;
      expect((await check()).code).to.equal(1);
      target.mode = 'ok';
      expect((await check()).code).to.equal(0);
      expect(target.answers.map((a) => a.path)).to.deep.equal(['/[x]', '/[x]']);
    });

    it('runs an exec check in the dependency dir', async () => {
      droplet = await Droplet.create(spec({ readiness: readiness({ exec: { command: 'test -x bin/agent' } }) }), '#!/bin/sh\n');
      expect((await new Run(['sh', droplet.file('sidecars/agent/readiness')], droplet.env()).done).code).to.equal(0);
      await fs.chmod(droplet.file('agent/bin/agent'), 0o644);
      expect((await new Run(['sh', droplet.file('sidecars/agent/readiness')], droplet.env()).done).code).to.equal(1);
    });
  });

  context('failure cases', () => {
    it('fails when nothing listens at all (tcp), and says how to wait longer or skip', async () => {
      target = await Target.reserve();
      droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 1 }) }), '');
      const run = launch(droplet, 'bash');
      expect((await run.done).code).to.equal(1);
      expect(run.stderr).to.include(`(tcp 127.0.0.1:${target.port})`);
      expect(run.stderr).to.include('AGENT_READINESS_TIMEOUT');
    });

    it('ignores a malformed AGENT_READINESS_TIMEOUT at launch', async () => {
      target = await Target.reserve();
      droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: target.port }, timeout_seconds: 1 }) }), '');
      const run = launch(droplet, 'sh', 'x', { AGENT_READINESS_TIMEOUT: '$(touch "$MARKS/pwned")' });
      expect((await run.done).code).to.equal(1);
      expect(run.stdout).to.include('up to 1s');
      expect(await droplet.readMark('pwned')).to.equal(undefined);
    });
  });

  describe('issue 12 §4: checks that follow the app\'s settings', () => {
    it('probes the port the app set in the variable the check names, over the sidecar\'s default', async () => {
      target = await Target.listening('ok');
      droplet = await Droplet.create(
        spec({ env: { AGENT_PORT: { kind: 'literal', value: '1' } }, readiness: readiness({ http: { port: { env: 'AGENT_PORT' }, path: '/${AGENT_PREFIX}/config/' } }) }),
        '',
      );
      const run = launch(droplet, 'sh', 'node server.js', { AGENT_PORT: String(target.port), AGENT_PREFIX: 'v2' });
      expect((await run.done).code).to.equal(0);
      expect(run.stdout).to.equal('sidecar agent is ready\nAPP-STARTED node server.js\n');
      expect(target.answers.map((a) => a.path)).to.deep.equal(['/v2/config/']);
    });

    it('uses the sidecar\'s env default when the app sets nothing, and names the port in its messages', async () => {
      target = await Target.reserve();
      droplet = await Droplet.create(spec({ env: { AGENT_PORT: { kind: 'literal', value: String(target.port) } }, readiness: readiness({ tcp: { port: { env: 'AGENT_PORT' } }, timeout_seconds: 1 }) }), '');
      const run = launch(droplet, 'bash');
      expect((await run.done).code).to.equal(1);
      expect(run.stdout).to.include(`waiting for it to be ready (tcp 127.0.0.1:${target.port}), up to 1s`);
    });

    it('gives up at once, saying why, when the variable holds no port', async () => {
      droplet = await Droplet.create(spec({ readiness: readiness({ tcp: { port: { env: 'AGENT_PORT' } }, timeout_seconds: 30 }) }), '');
      for (const value of [undefined, 'eighty', '70000']) {
        const run = launch(droplet, 'sh', 'node server.js', { AGENT_PORT: value });
        expect((await run.done).code).to.equal(1);
        expect(run.stderr).to.include(`readiness check of sidecar agent: AGENT_PORT is not a port number between 1 and 65535 (got "${value ?? ''}")`);
        expect(run.stderr).to.include('sidecar agent: the readiness check cannot run');
        expect(run.stdout).to.not.include('waiting');
      }
    });

    it('refuses a path variable that expands to something that is not a URL path', async () => {
      droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: 1, path: '$AGENT_PATH' } }) }), '');
      const run = launch(droplet, 'sh', 'x', { AGENT_PATH: '/a b' });
      expect((await run.done).code).to.equal(1);
      expect(run.stderr).to.include('must hold no spaces or control characters once expanded (got "/a b")');
    });

    it('gives up after failure_threshold failed checks in a row, before the timeout', async () => {
      target = await Target.listening('fail');
      droplet = await Droplet.create(spec({ readiness: readiness({ http: { port: target.port, path: '/' }, timeout_seconds: 60, failure_threshold: 2 }) }), '');
      const run = launch(droplet, 'sh');
      expect((await run.done).code).to.equal(1);
      expect(target.answers).to.have.length(2);
      expect(run.stderr).to.include(`sidecar agent: failed 2 checks in a row (http GET http://127.0.0.1:${target.port}/); the app process will not start`);
    });
  });
});
