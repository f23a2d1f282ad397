// The `sidecar-buildpack` CLI: wires commander to the command modules and maps outcomes to exit
// codes. Reads nothing global: argv, streams, env and cwd come in through `io`.

import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { ExitStatusError, isBuildpackError, UsageError } from '../errors.js';
import { COMMANDS } from './commands/index.js';
import type { CliIO, RegisterCommand } from './io.js';

export type { CliIO, CliStream, RegisterCommand } from './io.js';

/** Exit codes: 0 ok, 1 a failure we explain, 2 bad usage, 70 a bug (an error that is not ours). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_BUG = 70;

/** Build the commander program with every registered command, writing only to `io`. */
export function buildProgram(io: CliIO, commands: readonly RegisterCommand[] = COMMANDS): Command {
  const program = new Command('sidecar-buildpack');
  program
    .description('Build, package and test Cloud Foundry supply buildpacks that ship sidecars')
    .version(pkg.version, '-V, --version', 'print the version of sidecar-buildpack')
    // the program's own options only before a command: `package --version 9.9.9` is package's
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
    })
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program, io);
  return program;
}

/**
 * Run the CLI with `argv` (arguments only, no node/script) and return the exit code. `commands`
 * defaults to the registered list (tests may pass their own).
 * ExitStatusError (a signal's 128+N, a task's status) → its message and its code; BuildpackError → its message on stderr, 1 (UsageError: 2); commander usage errors → 2
 * (commander already printed them); anything else is a bug → its stack on stderr, 70.
 */
export async function main(argv: string[], io: CliIO, commands: readonly RegisterCommand[] = COMMANDS): Promise<number> {
  const program = buildProgram(io, commands);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof ExitStatusError) {
      io.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    if (isBuildpackError(err)) {
      io.stderr.write(`error: ${err.message}\n`);
      return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
    }
    const stack = err instanceof Error ? (err.stack ?? String(err)) : String(err);
    io.stderr.write(`internal error (a bug in sidecar-buildpack, please report it):\n${stack}\n`);
    return EXIT_BUG;
  }
}
