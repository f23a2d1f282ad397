// `sidecar-buildpack init DIR --name NAME`: scaffold a new sidecar buildpack.

import path from 'node:path';
import { Option, type Command } from 'commander';
import { scaffoldBuildpack } from '../../packager/scaffold.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('init <dir>')
    .description('scaffold a sidecar buildpack that packages and stages out of the box')
    .requiredOption('--name <name>', 'the buildpack, sidecar and dependency name (lowercase, digits, -)')
    // for toolkit development: copy the shims and bundles of this checkout, not the installed package
    .addOption(new Option('--toolkit-root <dir>').hideHelp())
    .action(async (dir: string, flags: { name: string; toolkitRoot?: string }) => {
      const result = await scaffoldBuildpack({
        dir: path.resolve(io.cwd, dir),
        name: flags.name,
        ...(flags.toolkitRoot ? { packageRoot: path.resolve(io.cwd, flags.toolkitRoot) } : {}),
      });
      io.stdout.write(`created ${flags.name} buildpack in ${result.dir}:\n${result.files.map((f) => `  ${f}\n`).join('')}`);
      io.stdout.write(`next: cd ${path.relative(io.cwd, result.dir) || '.'} && sidecar-buildpack package --stack cflinuxfs4\n`);
    });
}
