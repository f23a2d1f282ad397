// `sidecar-buildpack init DIR --name NAME`: scaffold a new sidecar buildpack.

import path from 'node:path';
import type { Command } from 'commander';
import { scaffoldBuildpack } from '../../packager/scaffold.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('init <dir>')
    .description('scaffold a sidecar buildpack that packages and stages out of the box')
    .requiredOption('--name <name>', 'the buildpack, sidecar and dependency name (lowercase, digits, -)')
    .action(async (dir: string, flags: { name: string }) => {
      const result = await scaffoldBuildpack({ dir: path.resolve(io.cwd, dir), name: flags.name });
      io.stdout.write(`created ${flags.name} buildpack in ${result.dir}:\n${result.files.map((f) => `  ${f}\n`).join('')}`);
      io.stdout.write(`next: cd ${path.relative(io.cwd, result.dir) || '.'} && sidecar-buildpack package --stack cflinuxfs4\n`);
    });
}
