// A V8 code cache for the supply bundle: what dist/run.cjs reads and writes (src/bin/run.ts).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** The first line of a code cache file: what it was made from. */
export function codeCacheHeader(bundleSource: string): string {
  const sha256 = createHash('sha256').update(bundleSource).digest('hex');
  return JSON.stringify({ format: 1, bundle_sha256: sha256, node: process.version, v8: process.versions.v8, arch: process.arch, platform: process.platform });
}

/**
 * The first of `files` (one path a line) whose header is `header`, with its cache data, else
 * undefined (missing, unreadable, another bundle or node).
 */
export function readCodeCache(files: string | undefined, header: string): { file: string; data: Buffer } | undefined {
  for (const file of (files ?? '').split('\n')) {
    if (!file) continue;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      continue;
    }
    const nl = data.indexOf(0x0a);
    if (nl >= 0 && data.subarray(0, nl).toString('utf8') === header) return { file, data: data.subarray(nl + 1) };
  }
  return undefined;
}

/** Run the CommonJS bundle `file` as the main module, from `cachedData` when given; returns its script. */
export function runBundle(file: string, source: string, cachedData: Buffer | undefined): vm.Script {
  const script = new vm.Script(Module.wrap(source.replace(/^#!.*/, '')), { filename: file, cachedData });
  const mod = new Module(file);
  mod.filename = file;
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  // the bundle finds its buildpack from its own path
  process.argv[1] = file;
  run.call(mod.exports, mod.exports, mod.require.bind(mod) as NodeJS.Require, mod, file, path.dirname(file));
  return script;
}
