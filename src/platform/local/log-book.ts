// The deployment's log: tagged lines as the platform shows them (`[APP/PROC/WEB/0] OUT ...`),
// kept in order and pushed to listeners as they arrive.

/** Where a line comes from: `OUT` (stdout) or `ERR` (stderr). */
export type LogStream = 'OUT' | 'ERR';

/** A sink for one source's byte stream: splits into lines, tags and records each. */
export interface LineWriter {
  write(chunk: Buffer | string): void;
  /** Flush a last line without newline. */
  end(): void;
}

export class LogBook {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  /** Record `text` (one or more lines) under `tag`, e.g. `STG/0`, `CELL/0`. */
  add(tag: string, stream: LogStream, text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.push(`[${tag}] ${stream} ${line}`);
  }

  /** A line splitter for a child's stdout or stderr. */
  writer(tag: string, stream: LogStream): LineWriter {
    let pending = '';
    return {
      write: (chunk) => {
        pending += chunk.toString();
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const p of parts) this.push(`[${tag}] ${stream} ${p.replace(/\r$/, '')}`);
      },
      end: () => {
        if (pending !== '') this.push(`[${tag}] ${stream} ${pending}`);
        pending = '';
      },
    };
  }

  /** Everything so far, one line each, newline-terminated. */
  text(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }

  /** Lines recorded from index `from` on (for snapshots such as the staging log). */
  since(from: number): string {
    return this.lines.slice(from).map((l) => `${l}\n`).join('');
  }

  get length(): number {
    return this.lines.length;
  }

  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private push(line: string): void {
    this.lines.push(line);
    for (const l of this.listeners) {
      try {
        l(line);
      } catch {
        // A listener's failure must not stop log collection.
      }
    }
  }
}
