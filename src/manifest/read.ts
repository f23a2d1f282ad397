// Reading manifest.yml's text, with the size limit checked before the file is read: shared by
// the parser's loadManifest and staging's loader (which must not load the YAML parser).

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManifestError } from '../errors.js';

/** Largest manifest accepted, in bytes (the platform itself refuses a zip's manifest over 1 MiB). */
export const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

/** Human size message for an oversized manifest. */
export function tooLarge(bytes: number, maxBytes: number): string {
  return `is ${bytes} bytes, over the ${formatBytes(maxBytes)} limit for a manifest`;
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** `<buildpackDir>/manifest.yml`: its path and text. A huge file is refused without loading it. */
export async function readManifestText(buildpackDir: string, maxBytes = MAX_MANIFEST_BYTES): Promise<{ file: string; text: string }> {
  const file = join(buildpackDir, 'manifest.yml');
  try {
    // synchronous: staging reads a few small files in a row, and a thread-pool round trip each
    // costs more than the read (src/depsdir/atomic.ts)
    const st = statSync(file);
    if (!st.isFile()) throw new ManifestError(file, undefined, 'is not a regular file');
    if (st.size > maxBytes) throw new ManifestError(file, undefined, tooLarge(st.size, maxBytes));
    return { file, text: readFileSync(file, 'utf8') };
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'not found: a buildpack needs a manifest.yml at its root' : `cannot be read (${code ?? (e as Error).message})`;
    throw new ManifestError(file, undefined, reason, { cause: e });
  }
}
