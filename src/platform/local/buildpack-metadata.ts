// `lifecycle_metadata.buildpacks[]`: each buildpack's key plus what its deps/<idx>/config.yml
// says (name, version, config, output_metadata), read as the builder reads it.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { BuildpackMetadata } from '../types.js';

/**
 * Read `deps/<padded idx>/config.yml` of each buildpack. A missing file is reported on `say`
 * with the builder's wording and leaves only the key.
 */
export async function buildpackMetadata(
  keys: string[],
  depsDir: string,
  idx: (i: number) => string,
  say: (line: string) => void,
): Promise<BuildpackMetadata[]> {
  const out: BuildpackMetadata[] = [];
  for (let i = 0; i < keys.length; i++) {
    const meta: BuildpackMetadata = { key: keys[i], name: '' };
    const file = path.join(depsDir, idx(i), 'config.yml');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      say(`Failed to read buildpack config.yml for buildpack key ${keys[i]}: open ${file}: no such file or directory`);
    }
    if (text !== undefined) {
      try {
        const doc = (parse(text) ?? {}) as Record<string, unknown>;
        if (typeof doc.name === 'string') meta.name = doc.name;
        if (doc.version != null && doc.version !== '') meta.version = String(doc.version);
        if (doc.config && typeof doc.config === 'object') meta.config = doc.config as Record<string, unknown>;
        if (doc.output_metadata !== undefined) meta.output_metadata = doc.output_metadata;
      } catch (e) {
        say(`Failed to unmarshal buildpack metadata for buildpack key ${keys[i]}: ${(e as Error).message}`);
      }
    }
    out.push(meta);
  }
  return out;
}
