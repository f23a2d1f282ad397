// `sidecar-buildpack run-task APP "COMMAND" [--name N] [-m MEMORY]`: run a one-off task with an
// app's droplet (its own container, the task env, no sidecars), print its `[APP/TASK/<name>/0]`
// lines, and exit with the task's exit status, as `cf run-task` + `cf logs` would show.

import type { Command } from 'commander';
import { ExitStatusError, UsageError } from '../../errors.js';
import { parseMemory } from '../../platform/app-manifest.js';
import { requestControl } from '../../platform/control.js';
import { AppStore, stateRoot } from '../../platform/state.js';
import type { TaskResult } from '../../platform/types.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('run-task')
    .description('run a one-off task with the droplet of an app pushed with push --detach; exits with its status')
    .argument('<app>', 'the app name')
    .argument('<command>', 'the task command (run by bash, as the launcher does)')
    .option('--name <name>', 'the task name (default: 8 random hex digits)')
    .option('-m, --memory <size>', 'the task memory, e.g. 256M (default 1G)')
    .action(async (name: string, command: string, flags: { name?: string; memory?: string }) => {
      const store = new AppStore(stateRoot(io.env));
      const record = await store.get(name);
      if (!record.socket) throw new UsageError(`app ${name} runs in a foreground push (pid ${record.pid}): run-task needs push --detach`);
      const memoryMb = flags.memory ? parseMemory(flags.memory, '-m', 'memory') : undefined;
      const result = await requestControl<TaskResult>(
        record.socket,
        { op: 'run-task', command, options: { ...(flags.name ? { name: flags.name } : {}), ...(memoryMb ? { memoryMb } : {}) } },
        (line) => io.stdout.write(`${line}\n`),
      );
      if (result.exitStatus === 0) io.stderr.write(`task ${result.name} succeeded\n`);
      // The CLI exits with the task's own status.
      if (result.exitStatus !== 0) throw new ExitStatusError('TASK_FAILED', `task ${result.name} failed with exit status ${result.exitStatus}`, result.exitStatus);
    });
}

