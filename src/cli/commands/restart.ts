// `sidecar-buildpack restart APP`: stop an app pushed with push --detach and push it again from
// the same sources and options (the local platform keeps no droplet between runs, so this
// stages again, like `cf restage`), returning once it runs.

import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { requestControl } from '../../platform/control.js';
import { AppStore, stateRoot } from '../../platform/state.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('restart')
    .description('stop an app pushed with push --detach and start it again (stages again)')
    .argument('<app>', 'the app name')
    .action(async (name: string) => {
      const store = new AppStore(stateRoot(io.env));
      const record = await store.get(name);
      if (!record.socket) throw new UsageError(`app ${name} runs in a foreground push (pid ${record.pid}): it cannot be restarted from here`);
      await requestControl(record.socket, { op: 'restart' }, (line) => io.stdout.write(`${line}\n`));
      const after = await store.read(name);
      io.stderr.write(`${name} is running${after?.url ? ` at ${after.url}` : ''}\n`);
    });
}
