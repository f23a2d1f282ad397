// The staging logger: libbuildpack's output format byte for byte (CONTRACT §4), so staging logs
// from this toolkit read like those of every other Cloud Foundry buildpack.

import { redactText } from './redact.js';

/** Anything with a `write(string)` — a stream, or an in-memory sink in tests. */
export interface TextSink {
  write(chunk: string): unknown;
}

const INDENT = '       ';
const RED = '\x1b[31;1m';
const BLUE = '\x1b[34;1m';
const RESET = '\x1b[0m';

/** What library code needs of a logger: a small interface so tests can pass their own. */
export interface Logger {
  beginStep(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export class StagingLogger implements Logger {
  constructor(
    private readonly out: TextSink,
    private readonly options: { debug?: boolean } = {},
  ) {}

  beginStep(message: string): void {
    this.print('-----> ', message);
  }

  info(message: string): void {
    this.print(INDENT, message);
  }

  warning(message: string): void {
    this.print(`${INDENT}${RED}**WARNING**${RESET} `, message);
  }

  error(message: string): void {
    this.print(`${INDENT}${RED}**ERROR**${RESET} `, message);
  }

  debug(message: string): void {
    if (this.options.debug) this.print(`${INDENT}${BLUE}DEBUG:${RESET} `, message);
  }

  private print(header: string, message: string): void {
    // libbuildpack indents every continuation line by 7 spaces; credentials never reach the log.
    const body = redactText(message).replace(/\n/g, `\n${INDENT}`);
    this.out.write(`${header}${body}\n`);
  }
}

/** A sink that keeps everything written, for tests and for collecting logs. */
export class MemorySink implements TextSink {
  private chunks: string[] = [];
  write(chunk: string): void {
    this.chunks.push(chunk);
  }
  text(): string {
    return this.chunks.join('');
  }
}

/** Remove ANSI colour codes (for comparing with texts that were transcribed without them). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
