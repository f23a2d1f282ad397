// Unique temp paths beside a target, for write-then-rename (atomic on one filesystem).

import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** A hidden temp path in the same directory as `target`, unique across processes and calls. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}
