// package_cached_ratio: `sidecar-buildpack package --cached` (the committed CLI bundle) of a
// buildpack whose three dependencies are already in the download cache, vs `zip -qrX` of the
// same files laid out as in the zip.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO, cachedFilePath, makeBenchBuildpack, type BenchDependency } from '../lib/buildpack.js';
import type { BenchContext, CaseResult } from '../lib/context.js';
import type { GeneratedArchive } from '../lib/inputs.js';
import { sample, timeRun, type Trial } from '../lib/measure.js';
import { freshDir, ratioResult, settle } from './supply.js';

/** Hard-link (or copy) `from` to `to`, creating its directory. */
async function place(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  await fs.link(from, to).catch(() => fs.copyFile(from, to));
}

export async function packageCase(ctx: BenchContext, archives: GeneratedArchive[]): Promise<CaseResult> {
  const key = 'package_cached_ratio';
  const root = path.join(ctx.work, key);
  const deps: BenchDependency[] = archives.map((a, i) => ({
    name: `dep-${String.fromCharCode(97 + i)}`,
    version: '1.0.0',
    uri: ctx.server.add(`/${key}/dep-${i}.tgz`, a.file),
    sha256: a.sha256,
  }));
  const bp = await makeBenchBuildpack(path.join(root, 'buildpack'), { dependencies: deps, sidecars: [] });
  // the download cache (libbuildpack layout) already holds every dependency
  const downloadCache = path.join(root, 'download-cache');
  for (const [i, d] of deps.entries()) await place(archives[i].file, path.join(downloadCache, ...cachedFilePath(d.uri).split('/')));
  const out = path.join(root, 'out');

  // the baseline's tree: the zip's files at their paths inside the zip
  const tree = path.join(root, 'zip-tree');
  for (const f of ['VERSION', 'bin/detect', 'bin/supply', 'dist/manifest.json', 'dist/run.cjs', 'dist/supply-lazy.cjs', 'dist/supply.cjs', 'manifest.yml']) await place(path.join(bp, f), path.join(tree, f));
  for (const [i, d] of deps.entries()) await place(archives[i].file, path.join(tree, ...cachedFilePath(d.uri).split('/')));

  const cli = path.join(REPO, 'dist', 'cli.cjs');
  const figure: Trial = {
    prepare: async () => {
      await freshDir(out);
      await settle();
    },
    run: async () => {
      const r = await timeRun('node', [cli, 'package', '--cached', '--any-stack', '--cachedir', downloadCache, '--output', out, '--dir', bp], { env: ctx.env });
      if (!r.stdout.includes('cached buildpack created')) throw new Error(`package did not report a zip:\n${r.stdout}${r.stderr}`);
      return r.ms;
    },
  };
  const baselineZip = path.join(root, 'baseline', 'bp.zip');
  const baseline: Trial = {
    prepare: async () => {
      await freshDir(path.dirname(baselineZip));
      await settle();
    },
    run: async () => (await timeRun('zip', ['-qrX', baselineZip, '.'], { cwd: tree, env: ctx.env })).ms,
  };
  const samples = await sample(figure, baseline, ctx.runs);
  const zips = await fs.readdir(out);
  const zipBytes = zips.length === 1 ? (await fs.stat(path.join(out, zips[0]))).size : null;
  return ratioResult(key, 1.2, samples, {
    input_bytes: archives.reduce((n, a) => n + a.bytes, 0),
    zip_bytes: zipBytes,
    baseline_zip_bytes: (await fs.stat(baselineZip)).size,
    command: `node dist/cli.cjs package --cached --any-stack --cachedir <download cache> --output <dir> --dir <buildpack>`,
    baseline_command: 'zip -qrX bp.zip . (in a tree of the same files)',
  });
}
