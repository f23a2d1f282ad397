// `sidecar-buildpack delete APP`: stop an app pushed with push --detach (every process and
// container) and remove it.

import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { requestControl } from '../../platform/control.js';
import { AppStore, stateRoot } from '../../platform/state.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('delete')
    .description('stop and remove an app pushed with push --detach')
    .argument('<app>', 'the app name')
    .action(async (name: string) => {
      const store = new AppStore(stateRoot(io.env));
      const record = await store.get(name);
      if (!record.socket) throw new UsageError(`app ${name} runs in a foreground push (pid ${record.pid}): stop that push with Ctrl-C`);
      io.stderr.write(`deleting ${name}...\n`);
      await requestControl(record.socket, { op: 'delete' });
      io.stderr.write(`deleted ${name}\n`);
    });
}
