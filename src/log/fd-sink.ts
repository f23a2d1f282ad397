// Staging output written straight to its file descriptor. The builder reads a staging through a
// pipe, and `process.stdout` on a pipe is a net.Socket: node loads `net` and its stream machinery
// to make one, 4.5 ms of every staging (of 75 ms for an 8 MiB dependency from the app cache). A
// staging prints a few lines, in order, each as soon as it happens: a synchronous write per line
// is what it needs.

import { writeSync } from 'node:fs';
import type { TextSink } from './logger.js';

/** A wait of `ms` on this thread (a full non-blocking pipe). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A sink writing each chunk whole to `fd`, synchronously. A pipe whose reader went away (EPIPE;
 * node ignores SIGPIPE) or a descriptor that is not open (EBADF) loses what is written from then
 * on and the staging goes on; a full non-blocking pipe (EAGAIN) is waited for.
 */
export function fdSink(fd: number): TextSink {
  let gone = false;
  return {
    write(chunk: string): boolean {
      if (gone) return false;
      const data = Buffer.from(chunk);
      for (let at = 0; at < data.length; ) {
        try {
          at += writeSync(fd, data, at, data.length - at);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') {
            pause(1);
            continue;
          }
          if (code === 'EPIPE' || code === 'EBADF') {
            gone = true;
            return false;
          }
          throw e;
        }
      }
      return true;
    },
  };
}

/**
 * What writes to `process.stdout` or `process.stderr` all the same (a library's debug output)
 * survives a reader that went away: the stream, once something makes it, ignores EPIPE. Node
 * makes each on first use, and this makes none.
 */
export function survivingStdio(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (!d?.get || !d.configurable) continue;
    const make = d.get;
    let guarded = false;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: d.enumerable,
      get() {
        const stream = make.call(process) as NodeJS.WriteStream;
        if (!guarded) {
          guarded = true;
          stream.on('error', (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
          });
        }
        return stream;
      },
    });
  }
}
