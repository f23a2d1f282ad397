// `sidecar-buildpack apps`: the apps this user has running on the local platform (push --detach).

import type { Command } from 'commander';
import { AppStore, stateRoot } from '../../platform/state.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('apps')
    .description('list the apps pushed with push --detach (per user)')
    .action(async () => {
      const apps = await new AppStore(stateRoot(io.env)).list();
      if (apps.length === 0) {
        io.stdout.write('No apps found.\n');
        return;
      }
      const rows = [['name', 'state', 'url', 'pid'], ...apps.map((a) => [a.name, a.state, a.url ?? '', String(a.pid)])];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd()}\n`);
    });
}
