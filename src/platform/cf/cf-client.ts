// A thin, recording wrapper over the `cf` CLI: every command and its output go to a transcript
// (attached to DeployError logs); `curl` parses Cloud Controller's JSON.

import { BuildpackError } from '../../errors.js';
import type { CommandResult, CommandRunner } from './command-runner.js';

/** A cf command that failed; `transcript` holds every command run so far with its output. */
export class CfCommandError extends BuildpackError {
  constructor(
    readonly args: string[],
    readonly result: CommandResult,
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim().split('\n').slice(-2).join(' ')).trim();
    super('CF_COMMAND_FAILED', `cf ${args[0]} failed (exit ${result.code})${detail ? `: ${detail}` : ''}`);
  }
}

export class CfClient {
  private readonly lines: string[] = [];

  constructor(
    private readonly runner: CommandRunner,
    private readonly env: Record<string, string>,
  ) {}

  /** Everything run so far: `$ cf ...` lines followed by the output. */
  transcript(): string {
    return this.lines.join('');
  }

  /** Run `cf args...`; throws CfCommandError on a non-zero exit unless `allowFail`. */
  async run(args: string[], allowFail = false): Promise<CommandResult> {
    const result = await this.runner.run(args, this.env);
    this.lines.push(`$ cf ${args.join(' ')}\n`, result.stdout, result.stderr);
    if (result.code !== 0 && !allowFail) throw new CfCommandError(args, result);
    return result;
  }

  /** `cf curl <path>` parsed as JSON. */
  async curl<T = Record<string, unknown>>(apiPath: string): Promise<T> {
    const r = await this.run(['curl', apiPath]);
    try {
      return JSON.parse(r.stdout) as T;
    } catch (e) {
      throw new CfCommandError(['curl', apiPath], { ...r, code: r.code || 1, stderr: `not JSON: ${(e as Error).message}` });
    }
  }
}
