// Buildpacks for the benchmark: a copy of this repository's buildpack (bin/ shims, the committed
// dist/supply.cjs bundle, VERSION) whose manifest.yml lists generated dependencies served by the
// benchmark's own 127.0.0.1 server, optionally "cached" (the files under dependencies/), and the
// staging runtime table dist/runtime.tsv made from that manifest.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifest } from '../../src/manifest/parse.js';
import { COMPILED_MANIFEST_PATH, compiledManifestFor } from '../../src/manifest/compiled.js';
import { HEAD_BYTES_KEY, HEAD_SHA256_KEY, RUNTIME_TABLE_PATH, runtimeTableFor } from '../../src/packager/runtime-table.js';

/** The repository root (bench/lib/ is two levels below it). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A dependency of the benchmark buildpack's manifest. */
export interface BenchDependency {
  name: string;
  version: string;
  uri: string;
  sha256: string;
  /** Put this local file into the buildpack as a cached dependency (`file:` entry). */
  cachedFrom?: string;
  /** The staging runtime's head, as `dependency add node` records it (runtime-head.ts). */
  head?: { bytes: number; sha256: string };
}

/** A sidecar of the `sidecars:` section: it runs `command` of `dependency` beside web. */
export interface BenchSidecar {
  name: string;
  dependency: string;
  command: string;
  env?: Record<string, string>;
}

export interface BenchBuildpackSpec {
  dependencies: BenchDependency[];
  sidecars: BenchSidecar[];
}

/** `dependencies/<md5hex(uri)>/<basename(uri)>` (CONTRACT §4, cached buildpack layout). */
export function cachedFilePath(uri: string): string {
  return `dependencies/${createHash('md5').update(uri).digest('hex')}/${path.posix.basename(new URL(uri).pathname)}`;
}

function manifestText(spec: BenchBuildpackSpec): string {
  const lines = ['---', 'language: bench', 'default_versions:'];
  const names = [...new Set(spec.dependencies.map((d) => d.name))];
  for (const n of names) {
    const v = spec.dependencies.find((d) => d.name === n)!.version;
    lines.push(`- name: ${n}`, `  version: ${v}`);
  }
  lines.push('dependencies:');
  for (const d of spec.dependencies) {
    lines.push(`- name: ${d.name}`, `  version: "${d.version}"`, `  uri: ${d.uri}`, `  sha256: ${d.sha256}`, '  cf_stacks:', '  - cflinuxfs4');
    if (d.cachedFrom) lines.push(`  file: ${cachedFilePath(d.uri)}`);
    if (d.head) lines.push(`  ${HEAD_BYTES_KEY}: ${d.head.bytes}`, `  ${HEAD_SHA256_KEY}: ${d.head.sha256}`);
  }
  lines.push('include_files:', '- VERSION', '- bin/detect', '- bin/supply', '- dist/run.cjs', '- dist/supply.cjs', '- dist/supply-lazy.cjs', '- manifest.yml');
  if (spec.sidecars.length > 0) lines.push('sidecars:');
  for (const s of spec.sidecars) {
    lines.push(`- name: ${s.name}`, `  dependency: ${s.dependency}`, `  command: ${s.command}`, '  process_types: [web]', '  memory: 64');
    const env = Object.entries(s.env ?? {});
    if (env.length > 0) lines.push('  env:', ...env.map(([k, v]) => `    ${k}: "${v}"`));
  }
  return `${lines.join('\n')}\n`;
}

/** Write the benchmark buildpack into `dir` (created); returns `dir`. */
export async function makeBenchBuildpack(dir: string, spec: BenchBuildpackSpec): Promise<string> {
  await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
  for (const f of ['bin/supply', 'bin/detect', 'dist/run.cjs', 'dist/supply.cjs', 'dist/supply-lazy.cjs']) {
    await fs.copyFile(path.join(REPO, f), path.join(dir, f));
    await fs.chmod(path.join(dir, f), 0o755);
  }
  await fs.writeFile(path.join(dir, 'VERSION'), '0.0.0-bench\n');
  const manifest = manifestText(spec);
  await fs.writeFile(path.join(dir, 'manifest.yml'), manifest);
  // what bin/supply reads on a stack without node, as `npm run build` writes it for this repo
  await fs.writeFile(path.join(dir, RUNTIME_TABLE_PATH), runtimeTableFor(manifest, path.join(dir, 'manifest.yml'), 'bench', parseManifest));
  await fs.writeFile(path.join(dir, COMPILED_MANIFEST_PATH), compiledManifestFor(manifest, path.join(dir, 'manifest.yml'), 'bench', parseManifest));
  for (const d of spec.dependencies) {
    if (!d.cachedFrom) continue;
    const target = path.join(dir, ...cachedFilePath(d.uri).split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    // a hard link where possible: the same bytes without another copy on disk
    await fs.link(d.cachedFrom, target).catch(() => fs.copyFile(d.cachedFrom!, target));
  }
  return dir;
}
