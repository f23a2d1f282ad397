// `lifecycle_metadata.buildpacks[]`: each buildpack's key plus what its deps/<idx>/config.yml
// says (name, version, config, output_metadata), read as the builder reads it: a missing or
// unreadable file, or YAML that does not parse, leaves only the key, in silence
// (buildpackrunner/runner.go buildpacksMetadata ignores both errors).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { BuildpackMetadata } from '../types.js';

/** Read `deps/<padded idx>/config.yml` of each buildpack; what cannot be read leaves only the key. */
export async function buildpackMetadata(keys: string[], depsDir: string, idx: (i: number) => string): Promise<BuildpackMetadata[]> {
  const out: BuildpackMetadata[] = [];
  for (let i = 0; i < keys.length; i++) {
    const meta: BuildpackMetadata = { key: keys[i], name: '' };
    const file = path.join(depsDir, idx(i), 'config.yml');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // no config.yml (a hand-written buildpack, e.g. cloudfoundry/example-sidecar-buildpack)
    }
    if (text !== undefined) {
      try {
        const doc = (parse(text) ?? {}) as Record<string, unknown>;
        if (typeof doc.name === 'string') meta.name = doc.name;
        if (doc.version != null && doc.version !== '') meta.version = String(doc.version);
        if (doc.config && typeof doc.config === 'object') meta.config = doc.config as Record<string, unknown>;
        if (doc.output_metadata !== undefined) meta.output_metadata = doc.output_metadata;
      } catch {
        // the builder ignores a config.yml it cannot unmarshal
      }
    }
    out.push(meta);
  }
  return out;
}
