// Reading and atomically rewriting a buildpack's manifest.yml for the editing commands.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ManifestError } from '../errors.js';
import { parseManifest } from '../manifest/parse.js';
import { tempPathFor } from '../packager/atomic-path.js';
import { parseManifestDocument, renderManifestDocument, type ManifestDocument } from '../packager/manifest-doc.js';

/** The editable document of `<dir>/manifest.yml`. */
export async function readManifestDocument(dir: string): Promise<ManifestDocument> {
  const file = path.join(dir, 'manifest.yml');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestError(file, undefined, code === 'ENOENT' ? 'not found: a buildpack needs a manifest.yml at its root' : `cannot be read (${code})`, { cause: err });
  }
  return parseManifestDocument(text, file);
}

/**
 * Write the document back, but only if the result is still a valid manifest (so an edit can
 * never leave a file the toolkit cannot read). Temp file + rename: a crash leaves the old file.
 */
export async function writeManifestDocument(m: ManifestDocument): Promise<void> {
  const text = renderManifestDocument(m);
  parseManifest(text, m.file);
  const tmp = tempPathFor(m.file);
  let mode = 0o644;
  try {
    mode = (await fs.stat(m.file)).mode & 0o777;
  } catch {
    // new file: default mode
  }
  try {
    await fs.writeFile(tmp, text, { mode });
    await fs.rename(tmp, m.file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
