// What the CLI is given instead of globals: streams, environment and working directory. The
// composition root (src/bin/cli.ts) passes process.stdout/stderr/env/cwd; tests pass memory sinks.

import type { Command } from 'commander';

/** A text stream; `isTTY`/`columns` decide how progress is drawn. */
export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A stop request (Ctrl-C, SIGTERM) as an AbortSignal; dispose() stops listening. */
export interface StopSignal {
  signal: AbortSignal;
  dispose(): void;
}

export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Long-running commands (push) listen for stop requests through this; none = never stopped. */
  stopSignal?: () => StopSignal;
  /** How to start this CLI again (`push --detach` starts its supervisor with it): argv[0..]. */
  selfCommand?: string[];
}

/**
 * How a command joins the CLI: a module `src/cli/commands/<name>.ts` exports
 * `register(program, io)`, which adds its subcommand(s) to `program`. Actions throw typed errors
 * (src/errors.ts) instead of printing them; main() prints each once and picks the exit code.
 */
export type RegisterCommand = (program: Command, io: CliIO) => void;
