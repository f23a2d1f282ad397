// The staging runtime of a cached zip, slimmed to what staging needs: the bare `bin/node` of the
// manifest's node archive (not npm, headers or docs). The zip deflates it about as well as the
// archive's gzip did, the platform unpacks the zip once, and bin/supply then only has to check the
// binary's sha256 (recorded in dist/runtime.tsv) before running it in place — nothing to unpack
// and nothing kept in the app cache. See docs/staging-runtime.md.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { PackagerError } from '../errors.js';
import { sha256File } from './download-cache.js';

/** `bin/node` at the archive's root (CF's node dependency) or under one folder (nodejs.org's). */
const NODE_BINARY = /^(?:\.\/)?(?:[^/]+\/)?bin\/node$/;

export interface RuntimeBinary {
  /** The extracted binary (inside `workDir`). */
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * Extract the runtime's `bin/node` from `archive` (a verified `.tgz`) into `workDir` and hash it.
 * Throws PackagerError when the archive cannot be read as a tarball or holds no such file.
 */
export async function extractRuntimeBinary(archive: string, workDir: string, label: string): Promise<RuntimeBinary> {
  const found: string[] = [];
  try {
    await tar.x({
      file: archive,
      cwd: workDir,
      strict: true,
      filter: (p, entry) => {
        const hit = NODE_BINARY.test(p) && (entry as { type?: string }).type === 'File';
        if (hit) found.push(p.replace(/^\.\//, ''));
        return hit;
      },
    });
  } catch (err) {
    throw new PackagerError(`${label}: the staging runtime must be a .tgz holding bin/node; it cannot be read as one (${(err as Error).message})`, 'RUNTIME_UNREADABLE', { cause: err });
  }
  if (found.length === 0) throw new PackagerError(`${label}: the staging runtime archive holds no bin/node (nor <folder>/bin/node)`, 'RUNTIME_NO_BINARY');
  // the shallowest one: bin/node before <folder>/bin/node
  const chosen = found.sort((a, b) => a.split('/').length - b.split('/').length)[0];
  const file = path.join(workDir, ...chosen.split('/'));
  const st = await fs.lstat(file);
  return { path: file, sha256: await sha256File(file), bytes: st.size };
}

/** Where the binary goes inside the zip: beside where the archive would have been. */
export function runtimeBinaryZipPath(archiveZipPath: string): string {
  return `${path.posix.dirname(archiveZipPath)}/bin/node`;
}
