// Reading and atomically rewriting a buildpack's manifest.yml for the editing commands.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ManifestError } from '../errors.js';
import { COMPILED_MANIFEST_PATH, compiledManifestFor } from '../manifest/compiled.js';
import { parseManifest } from '../manifest/parse.js';
import { tempPathFor } from '../packager/atomic-path.js';
import { RUNTIME_TABLE_PATH, runtimeTableFor } from '../packager/runtime-table.js';
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
  // what is made from the text, made before anything is written: an edit whose staging runtime
  // table or compiled manifest cannot be made (a default one stack has no match for) changes no file
  const generated = await generatedFiles(path.dirname(m.file), text, m.file);
  const tmp = tempPathFor(m.file);
  let mode = 0o644;
  try {
    mode = (await fs.stat(m.file)).mode & 0o777;
  } catch {
    // new file: default mode
  }
  await writeAtomic(m.file, tmp, text, mode);
  for (const g of generated) if (g.present) await writeAtomic(g.target, tempPathFor(g.target), g.text, 0o644);
}

async function writeAtomic(file: string, tmp: string, text: string, mode: number): Promise<void> {
  try {
    await fs.writeFile(tmp, text, { mode });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * The files made from manifest.yml, with whether the buildpack has them (`init` writes them):
 * those it has are written again from the edited text, so that staging from the buildpack's
 * directory (a git URL) reads the new manifest without parsing YAML and finds the runtime the
 * manifest now names. A buildpack without them gets none, but its edit is checked all the same.
 */
async function generatedFiles(dir: string, text: string, file: string): Promise<{ target: string; text: string; present: boolean }[]> {
  const generated = [
    { rel: RUNTIME_TABLE_PATH, make: () => runtimeTableFor(text, file, 'sidecar-buildpack dependency', parseManifest) },
    { rel: COMPILED_MANIFEST_PATH, make: () => compiledManifestFor(text, file, 'sidecar-buildpack dependency', parseManifest) },
  ];
  const out = [];
  for (const g of generated) {
    const target = path.join(dir, ...g.rel.split('/'));
    out.push({ target, text: g.make(), present: await fs.stat(target).then((st) => st.isFile(), () => false) });
  }
  return out;
}
