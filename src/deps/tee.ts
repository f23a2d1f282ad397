// The one-pass core: a sink that hashes everything it is given and copies it to several
// destinations at once (the app-cache temp file, the extractor), with back-pressure.

import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Hashes (sha256) and copies every chunk to its destinations. A `required` destination failing
 * fails the tee; an `optional` one (the extractor) that fails or closes is dropped, and the tee
 * keeps reading and hashing, so the digest is always of the whole input (a tampered file is then
 * reported as a checksum mismatch, not as whatever the extractor tripped on).
 */
export class HashingTee extends Writable {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(private readonly required: Writable[] = [], private readonly optional: Writable[] = []) {
    super({ highWaterMark: 1024 * 1024 });
    for (const t of required) t.on('error', (e) => this.destroy(e));
    for (const t of optional) t.on('error', () => undefined); // their reader reports it
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** The sha256 (hex) of everything written; call once, after 'finish'. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    const waits: Promise<void>[] = [];
    for (const t of this.required) waits.push(writeTo(t, chunk, true));
    for (const t of this.optional) waits.push(writeTo(t, chunk, false));
    if (waits.every((w) => w === DONE)) return done();
    Promise.all(waits).then(() => done(), done);
  }

  override _final(done: (e?: Error | null) => void): void {
    for (const t of [...this.required, ...this.optional]) if (live(t)) t.end();
    Promise.all(this.required.map((t) => finished(t))).then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (e?: Error | null) => void): void {
    // Called with null by autoDestroy after a normal finish: the destinations then still hold
    // data their readers have not consumed, so only a real failure is passed on to them.
    if (err) for (const t of [...this.required, ...this.optional]) if (!t.destroyed) t.destroy(err);
    done(err);
  }
}

const DONE = Promise.resolve();

function live(t: Writable): boolean {
  return !t.destroyed && !t.writableEnded;
}

function writeTo(t: Writable, chunk: Buffer, required: boolean): Promise<void> {
  if (!live(t)) return required ? Promise.reject(t.errored ?? new Error('destination closed early')) : DONE;
  if (t.write(chunk)) return DONE;
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      t.off('drain', settle);
      t.off('close', settle);
      t.off('error', settle);
      if (required && !live(t) && t.errored) reject(t.errored);
      else resolve();
    };
    t.on('drain', settle);
    t.on('close', settle);
    t.on('error', settle);
  });
}
