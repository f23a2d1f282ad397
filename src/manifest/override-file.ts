// libbuildpack's ApplyOverride: a buildpack earlier in the chain may leave
// `<depsDir>/<idx>/override.yml`, a map keyed by buildpack language, whose default_versions and
// dependencies replace (or extend) this manifest's.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError } from '../errors.js';
import { FieldReader } from './fields.js';
import { readDefault, readDependency } from './parse.js';
import type { Manifest } from './types.js';
import { MAX_MANIFEST_BYTES, readYaml } from './yaml.js';

/**
 * Apply one override.yml document to `m` and return the new manifest (`m` is not changed).
 * Only the section keyed by `m.language` counts. A default version replaces every default of the
 * same name (or is appended); a dependency replaces the entry with the same name and version (or
 * is appended). libbuildpack's own replace assigns the old entry to itself, so its overrides of
 * an existing entry are lost; here they take effect.
 */
export function applyOverrideText(m: Manifest, text: string, file: string): Manifest {
  const f = new FieldReader(file);
  const doc = f.optMap(readYaml(text, file), '');
  const section = doc ? f.optMap(doc[m.language], m.language) : undefined;
  if (!section) return m;

  const defaults = [...m.default_versions];
  f.list(section.default_versions, `${m.language}.default_versions`).forEach((d, i) => {
    const o = readDefault(f, d, `${m.language}.default_versions[${i}]`);
    let replaced = false;
    defaults.forEach((cur, j) => {
      if (cur.name === o.name) {
        defaults[j] = o;
        replaced = true;
      }
    });
    if (!replaced) defaults.push(o);
  });

  const dependencies = [...m.dependencies];
  f.list(section.dependencies, `${m.language}.dependencies`).forEach((d, i) => {
    const o = readDependency(f, d, `${m.language}.dependencies[${i}]`, true);
    let replaced = false;
    dependencies.forEach((cur, j) => {
      if (cur.name === o.name && cur.version === o.version) {
        dependencies[j] = o;
        replaced = true;
      }
    });
    if (!replaced) dependencies.push(o);
  });
  return { ...m, default_versions: defaults, dependencies };
}

/** Apply every `<depsDir>/*\/override.yml`, in name order as Go's filepath.Glob gives them. */
export async function applyOverrideFiles(m: Manifest, depsDir: string): Promise<Manifest> {
  let entries: string[];
  try {
    entries = (await readdir(depsDir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return m;
    throw new ManifestError(depsDir, undefined, `cannot list the deps dir (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let out = m;
  for (const entry of entries) {
    const file = join(depsDir, entry, 'override.yml');
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (st.size > MAX_MANIFEST_BYTES) throw new ManifestError(file, undefined, 'is over the 10 MiB limit');
    out = applyOverrideText(out, await readFile(file, 'utf8'), file);
  }
  return out;
}
