// Issue 12 §2: a sidecar with `tasks: true` runs around a task's command. Driven through the
// platform's own launcher script (src/platform/local/launcher.ts) with a task's environment
// (CONTRACT §2 "Tasks": no CF_INSTANCE_GUID, no PORT, no process_type), with real processes.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ReadinessSpec } from '../../src/manifest/types.js';
import { renderSidecar } from '../../src/sidecar/render.js';
import { writeSidecar } from '../helpers/sidecar-spec.js';
import { Droplet, SHELLS, alive, launchProcess, releaseAfterEach, spec, until } from './harness.js';

// The sidecar: says hello on stdout and stderr, is "ready" once it wrote $MARKS/ready, records
// its pid and the signals it gets; AGENT_MODE=stubborn ignores SIGTERM, never does not get ready,
// exits ends at once.
const AGENT = `#!/bin/sh
echo $$ > "$MARKS/sidecar.pid"
trap 'echo TERM >> "$MARKS/signals"; [ "$AGENT_MODE" = stubborn ] || exit 0' TERM
echo "hello from the sidecar"
echo "a warning from the sidecar" >&2
[ "\${AGENT_MODE-}" = exits ] && exit 0
[ "\${AGENT_MODE-}" = never ] || echo "answer-42" > "$MARKS/ready"
while :; do sleep 0.1; done
`;

const TASK_ENV = {
  VCAP_APPLICATION: JSON.stringify({ application_name: 'app', name: 'app' }),
  CF_INSTANCE_PORT: '',
  CF_INSTANCE_ADDR: '',
  CF_INSTANCE_PORTS: '[]',
};

function ready(over: Partial<ReadinessSpec> = {}): ReadinessSpec {
  return { exec: { command: 'test -f "$MARKS/ready"' }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 5, on_timeout: 'fail', ...over };
}

describe('sidecars for tasks', () => {
  releaseAfterEach();

  describe('#renderSidecar', () => {
    it('ships the task wrapper only for tasks: true', () => {
      expect(renderSidecar(spec(), '0').files.map((f) => f.path)).to.not.include('sidecars/agent/task');
      expect(renderSidecar(spec({ tasks: true }), '0').files.map((f) => f.path)).to.include('sidecars/agent/task');
    });
  });

  for (const shell of SHELLS) {
    describe(`a task run by the launcher (wrapper under ${shell})`, () => {
      async function droplet(over: Parameters<typeof spec>[0] = {}): Promise<Droplet> {
        const d = await Droplet.create(spec({ tasks: true, readiness: ready(), stop_grace_seconds: 1, ...over }), AGENT);
        if (shell === 'sh') {
          // the generated scripts carry #!/bin/sh; run the task wrapper under dash explicitly too
          const file = d.file('sidecars/agent/task');
          await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('#!/bin/sh', '#!/bin/dash'));
        }
        return d;
      }

      it('starts the sidecar first, waits for it, runs the command, and exits with its status (0 and 3)', async () => {
        for (const status of [0, 3]) {
          const d = await droplet();
          const run = await launchProcess(d, `echo "task got $(cat "$MARKS/ready")"; exit ${status}`, TASK_ENV);
          const end = await run.done;
          expect(end).to.deep.equal({ code: status, signal: null }, run.stderr);
          expect(run.stdout).to.include('task got answer-42');
          expect(run.stdout).to.include('[sidecar agent] hello from the sidecar');
          expect(run.stderr).to.include('[sidecar agent] a warning from the sidecar');
          const pid = Number(await d.readMark('sidecar.pid'));
          expect(alive(pid)).to.equal(false);
          expect(await d.readMark('signals')).to.equal('TERM\n');
        }
      });

      it('passes the command through unchanged: quotes, $ and newlines are the task\'s own', async () => {
        const d = await droplet({ readiness: undefined });
        // into a file: on stdout the sidecar's prefixed lines may land between the command's writes
        const run = await launchProcess(d, `printf '%s|' "it's" '$HOME' "a\nb" > "$MARKS/out"`, TASK_ENV);
        expect((await run.done).code).to.equal(0, run.stderr);
        expect(await d.readMark('out')).to.equal("it's|$HOME|a\nb|");
      });

      it('fails the task without running its command when the sidecar never gets ready (on_timeout: fail)', async () => {
        const d = await droplet({ readiness: ready({ timeout_seconds: 1 }), env: { AGENT_MODE: { kind: 'literal', value: 'never' } } });
        const run = await launchProcess(d, 'touch "$MARKS/command-ran"', TASK_ENV);
        expect((await run.done).code).to.equal(1);
        expect(await d.readMark('command-ran')).to.equal(undefined);
        expect(run.stderr).to.include("sidecar agent: not ready in time (exec test -f \"$MARKS/ready\"); the task command will not run (on_timeout: fail;");
        expect(alive(Number(await d.readMark('sidecar.pid')))).to.equal(false);
      });

      it('runs the command anyway with on_timeout: continue', async () => {
        const d = await droplet({ readiness: ready({ timeout_seconds: 1, on_timeout: 'continue' }), env: { AGENT_MODE: { kind: 'literal', value: 'never' } } });
        const run = await launchProcess(d, 'touch "$MARKS/command-ran"; exit 5', TASK_ENV);
        expect((await run.done).code).to.equal(5);
        expect(await d.readMark('command-ran')).to.equal('');
        expect(run.stderr).to.include('WARNING: sidecar agent: not ready in time');
      });

      it('SIGKILLs a sidecar that ignores SIGTERM after stop_grace_seconds, so the task completes', async () => {
        const d = await droplet({ env: { AGENT_MODE: { kind: 'literal', value: 'stubborn' } } });
        const run = await launchProcess(d, 'exit 0', TASK_ENV);
        expect((await run.done).code).to.equal(0);
        // the sidecar's own wrapper (same grace) or the task wrapper sends it, whichever comes first
        expect(run.stderr).to.match(/\[sidecar agent\] (sidecar agent: )?still running 1s after SIGTERM(\/SIGINT)?; sending SIGKILL/);
        expect(alive(Number(await d.readMark('sidecar.pid')))).to.equal(false);
      });

      it('completes with its command when the sidecar had already exited: its stop timers are not waited out', async () => {
        // dash lost the SIGTERM that stopped a timer forked a moment before (src/sidecar/task.ts
        // stopTimer): such a task ended only after stop_grace_seconds and the drain, here 62 s
        for (let i = 0; i < 3; i++) {
          const d = await droplet({ readiness: undefined, stop_grace_seconds: 60, env: { AGENT_MODE: { kind: 'literal', value: 'exits' } } });
          const run = await launchProcess(d, 'sleep 0.3; exit 4', TASK_ENV);
          expect(await run.done).to.deep.equal({ code: 4, signal: null }, run.stderr);
          expect(run.stdout).to.include('[sidecar agent] hello from the sidecar');
        }
      });

      it('forwards SIGTERM to the command and dies of it, stopping the sidecar', async () => {
        const d = await droplet({ readiness: undefined });
        const run = await launchProcess(d, 'echo $$ > "$MARKS/command.pid"; exec sleep 30', TASK_ENV);
        await until(async () => (await d.readMark('command.pid')) !== undefined && (await d.readMark('sidecar.pid')) !== undefined, 'the command and the sidecar');
        run.kill('SIGTERM');
        expect(await run.done).to.deep.equal({ code: null, signal: 'SIGTERM' });
        expect(alive(Number(await d.readMark('command.pid')))).to.equal(false);
        expect(alive(Number(await d.readMark('sidecar.pid')))).to.equal(false);
      });

      it('stops the sidecar and dies of SIGTERM when stopped while it waits for the sidecar', async () => {
        const d = await droplet({ readiness: ready({ timeout_seconds: 60 }), env: { AGENT_MODE: { kind: 'literal', value: 'never' } } });
        const run = await launchProcess(d, 'touch "$MARKS/command-ran"', TASK_ENV);
        await until(() => run.stdout.includes('waiting for it to be ready'), 'the wait');
        run.kill('SIGTERM');
        expect(await run.done).to.deep.equal({ code: null, signal: 'SIGTERM' });
        expect(await d.readMark('command-ran')).to.equal(undefined);
        expect(alive(Number(await d.readMark('sidecar.pid')))).to.equal(false);
      });

      it('leaves an instance\'s processes alone: web and the sidecar itself are not wrapped', async () => {
        const d = await droplet({ readiness: undefined });
        const web = await launchProcess(d, 'echo "web: $0"', { ...TASK_ENV, CF_INSTANCE_GUID: 'guid-1', VCAP_APPLICATION: JSON.stringify({ process_type: 'web' }) });
        expect((await web.done).code).to.equal(0);
        expect(web.stdout).to.include('web: bash');
        expect(web.stdout).to.not.include('[sidecar agent]');
        expect(await d.readMark('sidecar.pid')).to.equal(undefined);
      });
    });
  }

  context('when two sidecars (here of two buildpacks) run for tasks', () => {
    it('nests their wrappers: both start before the command, both are stopped after it, its status is kept', async () => {
      const d = await Droplet.create(spec({ tasks: true, readiness: ready(), stop_grace_seconds: 1 }), AGENT);
      const second = `#!/bin/sh\necho $$ > "$MARKS/second.pid"\necho second > "$MARKS/second-ready"\nwhile :; do sleep 0.1; done\n`;
      await writeSidecar(d.deps, spec({ name: 'second', dependency: 'second', tasks: true, readiness: ready({ exec: { command: 'test -f "$MARKS/second-ready"' } }) }), second, '1');
      await fs.mkdir(d.file('profile.d'), { recursive: true });
      // the launcher sources every buildpack's hook: copy the second one beside the first
      await fs.copyFile(path.join(d.deps, '1', 'profile.d', 'second.sh'), d.file('profile.d/zz-second.sh'));
      const run = await launchProcess(d, 'cat "$MARKS/ready" "$MARKS/second-ready"; exit 4', TASK_ENV);
      expect((await run.done).code).to.equal(4, run.stderr);
      expect(run.stdout).to.include('answer-42\nsecond\n');
      expect(run.stdout).to.include('sidecar second is ready');
      expect(run.stdout).to.include('[sidecar agent] hello from the sidecar');
      for (const mark of ['sidecar.pid', 'second.pid']) expect(alive(Number(await d.readMark(mark))), mark).to.equal(false);
    });
  });

  context('failure cases', () => {
    it('does not wait for a sidecar that does not run for tasks (no tasks: true)', async () => {
      const d = await Droplet.create(spec({ readiness: ready({ timeout_seconds: 30 }) }), AGENT);
      const run = await launchProcess(d, 'echo task-ran', TASK_ENV);
      expect((await run.done).code).to.equal(0);
      expect(run.stdout).to.include('task-ran');
      expect(run.stdout).to.not.include('waiting');
    });
  });
});
