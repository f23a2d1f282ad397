// `sidecar-buildpack logs APP [--recent]`: an app's tagged log lines (push --detach keeps them in
// the per-user state dir); without --recent, follows new lines until Ctrl-C, like `cf logs`.

import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppStore, pidAlive, stateRoot } from '../../platform/state.js';
import type { CliIO } from '../io.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function register(program: Command, io: CliIO): void {
  program
    .command('logs')
    .description('show the logs of an app pushed with push --detach: everything so far with --recent, else follow')
    .argument('<app>', 'the app name')
    .option('--recent', 'print the logs so far and exit')
    .action(async (name: string, flags: { recent?: boolean }) => {
      const store = new AppStore(stateRoot(io.env));
      const record = await store.get(name);
      const file = await open(store.logFile(name), 'r');
      const stop = flags.recent ? undefined : io.stopSignal?.();
      try {
        let offset = 0;
        const buf = Buffer.alloc(64 * 1024);
        for (;;) {
          const { bytesRead } = await file.read(buf, 0, buf.length, offset);
          if (bytesRead > 0) {
            offset += bytesRead;
            io.stdout.write(buf.subarray(0, bytesRead).toString());
            continue;
          }
          if (flags.recent || stop?.signal.aborted || !pidAlive(record.pid)) return;
          await sleep(200);
        }
      } finally {
        stop?.dispose();
        await file.close();
      }
    });
}
