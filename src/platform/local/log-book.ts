// The deployment's log: tagged lines as the platform shows them (`[APP/PROC/WEB/0] OUT ...`),
// kept in order and pushed to listeners as they arrive. Memory stays bounded: only the most
// recent lines are kept (listeners see every line), and a line is at most MAX_LINE characters.

import { StringDecoder } from 'node:string_decoder';

/** Where a line comes from: `OUT` (stdout) or `ERR` (stderr). */
export type LogStream = 'OUT' | 'ERR';

/** A sink for one source's byte stream: splits into lines, tags and records each. */
export interface LineWriter {
  write(chunk: Buffer | string): void;
  /** Flush a last line without newline. */
  end(): void;
}

/** Characters kept by default (the most recent lines); older lines are dropped. */
export const DEFAULT_RETAINED_CHARS = 8 * 1024 * 1024;
/**
 * A longer line (no newline within it) is recorded as several lines of this many characters, as
 * the cell's log streamer splits messages longer than 60 KiB.
 */
export const MAX_LINE = 61440;

export class LogBook {
  /** Retained lines: `lines[head..]`; `head` moves forward as old lines are dropped. */
  private lines: string[] = [];
  private head = 0;
  private retainedChars = 0;
  /** Lines ever recorded. */
  private total = 0;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(private readonly maxRetainedChars = DEFAULT_RETAINED_CHARS) {}

  /** Record `text` (one or more lines) under `tag`, e.g. `STG/0`, `CELL/0`. */
  add(tag: string, stream: LogStream, text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.push(`[${tag}] ${stream} ${line}`);
  }

  /** A line splitter for a child's stdout or stderr: linear in the bytes written. */
  writer(tag: string, stream: LogStream): LineWriter {
    const decoder = new StringDecoder('utf8');
    let parts: string[] = [];
    let pendingLength = 0;
    const emit = (line: string) => this.push(`[${tag}] ${stream} ${line.endsWith('\r') ? line.slice(0, -1) : line}`);
    const take = (text: string) => {
      let pos = 0;
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl === -1) break;
        const piece = text.slice(pos, nl);
        emit(parts.length > 0 ? parts.join('') + piece : piece);
        parts = [];
        pendingLength = 0;
        pos = nl + 1;
      }
      let rest = text.slice(pos);
      // a line without a newline is cut at MAX_LINE, so it can never grow without bound
      while (pendingLength + rest.length > MAX_LINE) {
        const cut = MAX_LINE - pendingLength;
        parts.push(rest.slice(0, cut));
        emit(parts.join(''));
        parts = [];
        pendingLength = 0;
        rest = rest.slice(cut);
      }
      if (rest) {
        parts.push(rest);
        pendingLength += rest.length;
      }
    };
    return {
      write: (chunk) => take(typeof chunk === 'string' ? chunk : decoder.write(chunk)),
      end: () => {
        take(decoder.end());
        if (pendingLength > 0) emit(parts.join(''));
        parts = [];
        pendingLength = 0;
      },
    };
  }

  /** The retained lines, one each, newline-terminated; a first line says how many were dropped. */
  text(): string {
    return this.from(0);
  }

  /** Retained lines recorded from index `from` on (for snapshots such as the staging log). */
  since(from: number): string {
    return this.from(from);
  }

  /** Lines recorded so far (dropped ones included). */
  get length(): number {
    return this.total;
  }

  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private get retained(): number {
    return this.lines.length - this.head;
  }

  private from(index: number): string {
    const firstKept = this.total - this.retained;
    const start = Math.max(index, firstKept);
    const kept = this.lines.slice(this.head + (start - firstKept)).map((l) => `${l}\n`);
    const dropped = start - index;
    if (dropped > 0) kept.unshift(`[CELL/0] ERR ... ${dropped} earlier log line(s) dropped (the local platform keeps the last ${this.maxRetainedChars} characters) ...\n`);
    return kept.join('');
  }

  private push(line: string): void {
    this.lines.push(line);
    this.total++;
    this.retainedChars += line.length + 1;
    while (this.retainedChars > this.maxRetainedChars && this.retained > 1) {
      this.retainedChars -= this.lines[this.head].length + 1;
      this.head++;
    }
    // compact now and then, so dropped lines are really freed
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    for (const l of this.listeners) {
      try {
        l(line);
      } catch {
        // A listener's failure must not stop log collection.
      }
    }
  }
}
