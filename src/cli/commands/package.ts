// `sidecar-buildpack package`: build a cached or uncached buildpack zip (CONTRACT §5).

import path from 'node:path';
import type { Command } from 'commander';
import { defaultCacheDir } from '../../packager/naming.js';
import { packageBuildpack, type PackageResult } from '../../packager/package.js';
import { stackFromFlags } from '../../packager/validate.js';
import { cliFetcherFactory } from '../fetcher.js';
import type { CliIO } from '../io.js';
import { formatBytes, progressFor } from '../progress.js';

interface PackageFlags {
  cached?: boolean;
  stack?: string;
  anyStack?: boolean;
  version?: string;
  cachedir?: string;
  output?: string;
  dir?: string;
  json?: boolean;
  profile?: string;
  exclude: string[];
  include: string[];
  keepRuntimeSymbols?: boolean;
}

/** Repeatable, comma-separated list option. */
const names = (value: string, acc: string[]): string[] => [...acc, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];

/** The human result on stdout: where the zip is, its size and digest. */
export function describeResult(r: PackageResult): string {
  return `${r.cached ? 'cached' : 'uncached'} buildpack created and saved as ${r.zipPath} with a size of ${formatBytes(r.bytes)} (${r.bytes} bytes)\nsha256: ${r.sha256}\n`;
}

export function register(program: Command, io: CliIO): void {
  program
    .command('package')
    .description('package the buildpack as a zip (cached: with its dependencies, for offline foundations)')
    .option('--cached', 'include every dependency file in the zip')
    .option('--stack <stack>', 'package for this stack only (dependencies of other stacks are dropped)')
    .option('--any-stack', 'package for any stack')
    .option('--version <version>', 'buildpack version (default: the VERSION file)')
    .option('--cachedir <dir>', 'download cache (default: ~/.buildpack-packager/cache)')
    .option('--output <dir>', 'directory for the zip (default: the buildpack directory)')
    .option('--dir <dir>', 'the buildpack directory', '.')
    .option('--json', 'print the result as JSON')
    .option('--profile <name>', 'cached only: leave out the dependencies a packaging_profiles entry excludes')
    .option('--exclude <names>', 'cached only: leave out these dependencies (comma-separated, repeatable)', names, [] as string[])
    .option('--include <names>', "cached only: keep these dependencies the profile excludes", names, [] as string[])
    .option('--keep-runtime-symbols', "cached only: carry the staging runtime's bin/node as archived, not stripped of symbols and debug info")
    .action(async (flags: PackageFlags) => {
      const stack = stackFromFlags(flags.stack, flags.anyStack === true);
      const dir = path.resolve(io.cwd, flags.dir ?? '.');
      const home = io.env.HOME ?? io.cwd;
      const result = await packageBuildpack({
        dir,
        stack,
        cached: flags.cached === true,
        ...(flags.version !== undefined ? { version: flags.version } : {}),
        cacheDir: flags.cachedir ? path.resolve(io.cwd, flags.cachedir) : defaultCacheDir(home),
        ...(flags.output ? { outputDir: path.resolve(io.cwd, flags.output) } : {}),
        env: io.env,
        ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
        exclude: flags.exclude,
        include: flags.include,
        keepRuntimeSymbols: flags.keepRuntimeSymbols === true,
        createFetcher: cliFetcherFactory(io.env),
        onEvent: progressFor(io.stderr, io.env),
      });
      io.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : describeResult(result));
    });
}
