import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import type { LivenessSpec } from '../../src/manifest/types.js';
import { renderRunScript } from '../../src/sidecar/render.js';
import { Droplet, Run, SHELLS, Target, releaseAfterEach, spec, until } from './harness.js';

// A sidecar binary that records the signals it gets and exits 0 on TERM/INT.
const GRACEFUL = `#!/bin/sh
trap 'echo TERM >> "$MARKS/signals"; exit 0' TERM
trap 'echo INT >> "$MARKS/signals"; exit 0' INT
echo $$ > "$MARKS/started"
while :; do sleep 0.1; done
`;
// One that ignores TERM: only SIGKILL ends it.
const STUBBORN = `#!/bin/sh
trap 'echo TERM >> "$MARKS/signals"' TERM
echo $$ > "$MARKS/started"
while :; do sleep 0.1; done
`;

function probe(over: Partial<LivenessSpec>): LivenessSpec {
  return { initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 1, failure_threshold: 2, ...over };
}

describe('sidecar launch wrapper', () => {
  let droplet: Droplet | undefined;
  let target: Target | undefined;
  releaseAfterEach();

  describe('#renderRunScript', () => {
    it('stops its own helpers (the SIGKILL timer, the liveness loop) with SIGKILL', () => {
      // dash loses a SIGTERM that reaches a subshell just after its fork: a binary that failed at
      // once left the liveness loop, just forked, holding our stderr through its initial delay
      const script = renderRunScript(spec({ liveness: probe({ http: { port: 1, path: '/' } }) }));
      expect(script).to.include('kill -s KILL "$_sb_killer"');
      expect(script).to.include('kill -s KILL "$_sb_live"');
      expect(script).to.not.match(/kill "\$_sb_(killer|live)"/);
    });

    context('when nothing needs supervising', () => {
      it('just execs the binary after the env defaults', () => {
        const script = renderRunScript(spec({ env: { A: { kind: 'service', service: { name: 's' }, credential: 'c' } } }));
        expect(script.trim().split('\n').slice(-2)).to.deep.equal(['. "${0%/*}/env.sh"', 'exec "$@"']);
      });

      for (const shell of SHELLS) {
        it(`becomes the binary: same pid, nothing left in between (${shell})`, async () => {
          droplet = await Droplet.create(spec(), GRACEFUL);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(async () => (await droplet!.readMark('started')) !== undefined, 'the binary to start');
          expect(Number((await droplet.readMark('started'))!.trim())).to.equal(run.pid);
          run.kill('SIGTERM');
          expect(await run.done).to.deep.equal({ code: 0, signal: null });
        });
      }
    });
  });

  for (const shell of SHELLS) {
    describe(`at launch under ${shell}`, () => {
      context('when the platform stops the sidecar', () => {
        it('forwards SIGTERM to the binary and exits as it did', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 5 }), GRACEFUL);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(async () => (await droplet!.readMark('started')) !== undefined, 'the binary to start');
          expect(Number((await droplet.readMark('started'))!.trim())).to.not.equal(run.pid);
          run.kill('SIGTERM');
          expect(await run.done).to.deep.equal({ code: 0, signal: null });
          expect(await droplet.readMark('signals')).to.equal('TERM\n');
        });

        it('forwards SIGINT although background children start with it ignored', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 5 }), GRACEFUL);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(async () => (await droplet!.readMark('started')) !== undefined, 'the binary to start');
          run.kill('SIGINT');
          expect(await run.done).to.deep.equal({ code: 0, signal: null });
          expect(await droplet.readMark('signals')).to.equal('INT\n');
        });

        it('sends SIGKILL after the grace and dies of SIGKILL itself (status 137)', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 1 }), STUBBORN);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(async () => (await droplet!.readMark('started')) !== undefined, 'the binary to start');
          run.kill('SIGTERM');
          expect(await run.done).to.deep.equal({ code: null, signal: 'SIGKILL' });
          expect(await droplet.readMark('signals')).to.equal('TERM\n');
          expect(run.stderr).to.include('sidecar agent: still running 1s after SIGTERM/SIGINT; sending SIGKILL');
        });

        it('lets a shell that waits for it report status 137, as the platform would', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 1 }), STUBBORN);
          const cmd = droplet.command.replace(/^"\$DEPS_DIR"/, `${shell} "$DEPS_DIR"`);
          const run = new Run(['bash', '-c', `${cmd} & echo $! > "$MARKS/wrapper"; wait $!; echo "status=$?"`], droplet.env());
          await until(async () => (await droplet!.readMark('started')) !== undefined, 'the binary to start');
          process.kill(Number((await droplet.readMark('wrapper'))!.trim()), 'SIGTERM');
          await run.done;
          expect(run.stdout).to.equal('status=137\n');
        });
      });

      context('when the binary ends by itself', () => {
        it('exits with its status', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 1 }), '#!/bin/sh\nexit 42\n');
          expect(await new Run(droplet.launchArgv(shell), droplet.env()).done).to.deep.equal({ code: 42, signal: null });
        });

        for (const [sig, name] of [['USR2', 'SIGUSR2'], ['KILL', 'SIGKILL'], ['SEGV', 'SIGSEGV']] as const) {
          it(`re-raises the signal it died of (${name})`, async () => {
            droplet = await Droplet.create(spec({ stop_grace_seconds: 1 }), `#!/bin/sh\nkill -${sig} $$\n`);
            expect(await new Run(droplet.launchArgv(shell), droplet.env()).done).to.deep.equal({ code: null, signal: name });
          });
        }

        it('reports a missing binary as 127', async () => {
          droplet = await Droplet.create(spec({ stop_grace_seconds: 1 }), '#!/bin/sh\n');
          await fs.rm(droplet.file('agent/bin/agent'));
          expect((await new Run(droplet.launchArgv(shell), droplet.env()).done).code).to.equal(127);
        });
      });

      context('when a liveness check is declared', () => {
        it('keeps the sidecar while checks pass and stops it after N failures in a row', async () => {
          target = await Target.listening('ok');
          droplet = await Droplet.create(spec({ liveness: probe({ http: { port: target.port, path: '/health' } }), stop_grace_seconds: 5 }), GRACEFUL);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(() => target!.okCount() >= 2, 'two passing checks');
          expect(await droplet.readMark('signals')).to.equal(undefined);
          target.mode = 'fail';
          const end = await run.done;
          expect(target.answers.filter((a) => a.mode === 'fail')).to.have.length(2);
          expect(target.answers.every((a) => a.path === '/health')).to.equal(true);
          expect(run.stderr).to.include(
            `sidecar agent: liveness check failed 2 times in a row (http GET http://127.0.0.1:${target.port}/health); stopping it so the platform restarts the instance`,
          );
          expect(await droplet.readMark('signals')).to.equal('TERM\n');
          // the binary exited 0 on TERM, but an unhealthy stop must not look clean
          expect(end).to.deep.equal({ code: 1, signal: null });
        });

        it('stops it once failures have lasted timeout_seconds, before failure_threshold (issue 12 §4)', async () => {
          target = await Target.listening('fail');
          droplet = await Droplet.create(spec({ liveness: probe({ tcp: { port: target.port }, failure_threshold: 100, timeout_seconds: 2 }), stop_grace_seconds: 5 }), GRACEFUL);
          await target.close();
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          expect((await run.done).code).to.equal(1);
          expect(run.stderr).to.include(`sidecar agent: liveness check kept failing for 2s (tcp 127.0.0.1:${target.port}); stopping it`);
        });

        it('reads its port from the variable it names (the app\'s setting wins over the default)', async () => {
          target = await Target.listening('ok');
          droplet = await Droplet.create(
            spec({ env: { AGENT_PORT: { kind: 'literal', value: '1' } }, liveness: probe({ http: { port: { env: 'AGENT_PORT' }, path: '/' } }), stop_grace_seconds: 5 }),
            GRACEFUL,
          );
          const run = new Run(droplet.launchArgv(shell), droplet.env({ AGENT_PORT: String(target.port) }));
          await until(() => target!.okCount() >= 2, 'two passing checks on the app-set port');
          run.kill('SIGTERM');
          expect((await run.done).code).to.equal(0);
        });

        it('counts a check that hangs as failed', async () => {
          target = await Target.listening('hang');
          droplet = await Droplet.create(spec({ liveness: probe({ http: { port: target.port, path: '/' }, failure_threshold: 1 }) }), GRACEFUL);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          expect(await run.done).to.deep.equal({ code: 1, signal: null });
          expect(run.stderr).to.include('liveness check failed 1 times in a row');
        });

        it('kills a binary that ignores SIGTERM after the grace', async () => {
          target = await Target.reserve(); // nothing listens: tcp checks fail
          droplet = await Droplet.create(spec({ liveness: probe({ tcp: { port: target.port } }), stop_grace_seconds: 1 }), STUBBORN);
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          expect(await run.done).to.deep.equal({ code: null, signal: 'SIGKILL' });
          expect(run.stderr).to.include(`(tcp 127.0.0.1:${target.port})`);
          expect(await droplet.readMark('signals')).to.equal('TERM\n');
        });

        it('runs an exec check in the dependency dir', async () => {
          droplet = await Droplet.create(spec({ liveness: probe({ exec: { command: 'echo >> "$MARKS/checks"; test -x bin/agent && test -f "$MARKS/healthy"' } }), stop_grace_seconds: 2 }), GRACEFUL);
          await fs.writeFile(droplet.mark('healthy'), '');
          const run = new Run(droplet.launchArgv(shell), droplet.env());
          await until(async () => ((await droplet!.readMark('checks')) ?? '').length >= 2, 'two passing checks');
          expect(await droplet.readMark('signals')).to.equal(undefined);
          await fs.rm(droplet.mark('healthy'));
          expect(await run.done).to.deep.equal({ code: 1, signal: null });
          expect(run.stderr).to.include('(exec echo >> "$MARKS/checks"; test -x bin/agent && test -f "$MARKS/healthy")');
        });
      });
    });
  }

  context('failure cases', () => {
    it('exits with the status of a binary that fails at once, liveness loop and all', async () => {
      target = await Target.listening('ok');
      droplet = await Droplet.create(spec({ liveness: probe({ http: { port: target.port, path: '/' }, initial_delay_seconds: 30 }) }), '#!/bin/sh\necho boom >&2\nexit 3\n');
      const run = new Run(droplet.launchArgv('sh'), droplet.env());
      expect(await run.done).to.deep.equal({ code: 3, signal: null });
      expect(run.stderr).to.equal('boom\n');
      expect(target.answers).to.have.length(0);
    });

    it('never runs a hostile argument', async () => {
      const args = [`$(touch "$MARKS/pwned")`, '`touch "$MARKS/pwned"`', `'; touch "$MARKS/pwned"; '`, 'a\nb'];
      droplet = await Droplet.create(spec({ args, stop_grace_seconds: 1 }), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n');
      const run = new Run(droplet.launchArgv('sh'), droplet.env());
      expect((await run.done).code).to.equal(0);
      expect(run.stdout).to.equal(args.map((a) => `[${a}]`).join(''));
      expect(await droplet.readMark('pwned')).to.equal(undefined);
    });
  });
});
