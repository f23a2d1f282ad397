// Composition root of `bin/supply BUILD CACHE DEPS IDX` (CONTRACT §1): reads argv and env, wires
// the collaborators, runs supply, maps the outcome to an exit code. The only place that does.

import { rmSync } from 'node:fs';
import path from 'node:path';
import { HttpFetcher } from '../deps/fetch.js';
import { maxUnpackedBytesFrom } from '../deps/extract.js';
import { Installer } from '../deps/installer.js';
import { isBuildpackError } from '../errors.js';
import { fdSink, survivingStdio } from '../log/fd-sink.js';
import { StagingLogger } from '../log/logger.js';
import { COMPILED_MANIFEST_PATH } from '../manifest/compiled.js';
import { loadStagingManifest } from '../manifest/staging.js';
import { supply } from '../supply/supply.js';
import { readTextOrNone } from '../sync-fs.js';

/**
 * bin/supply on a stack without node runs a verified bin/node it extracted into a private temp
 * dir and names that dir in SIDECAR_BUILDPACK_RUNTIME_TMP: remove it now (the running binary
 * stays mapped), so no staging leaves a runtime behind. Only the dir made for this very process:
 * the shim exec'd node, so its `$$` in the dir's name is this pid.
 */
/**
 * bin/supply on a stack without node took its runtime from dist/runtime.tsv, and names the sha256
 * of the manifest text that table was written from (`-`: none recorded). A manifest.yml edited
 * since may name another runtime: worth a warning (staging goes on). The bundle hashes the text
 * for nothing; the shim would spend two processes on it in every such staging.
 */
function tableManifestSha256(): string | undefined {
  const recorded = process.env.SIDECAR_BUILDPACK_TABLE_MANIFEST_SHA256;
  delete process.env.SIDECAR_BUILDPACK_TABLE_MANIFEST_SHA256;
  return recorded;
}

const STALE_TABLE = "dist/runtime.tsv was written from another manifest.yml: the staging runtime may not be the manifest's (rebuild it: npm run build, or package the buildpack)";

function removeTempRuntime(): void {
  const dir = process.env.SIDECAR_BUILDPACK_RUNTIME_TMP;
  delete process.env.SIDECAR_BUILDPACK_RUNTIME_TMP;
  if (!dir || !path.isAbsolute(dir) || !path.basename(dir).startsWith(`sidecar-buildpack-node.${process.pid}.`)) return;
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // left for the next staging's sweep of dead temp runtimes
  }
}

async function main(): Promise<number> {
  survivingStdio();
  removeTempRuntime();
  const tableManifest = tableManifestSha256();
  const logger = new StagingLogger(fdSink(1), { debug: Boolean(process.env.BP_DEBUG) });
  const args = process.argv.slice(2);
  if (args.length !== 4) {
    logger.error('usage: bin/supply <build-dir> <cache-dir> <deps-dir> <deps-index>');
    return 1;
  }
  const [buildDir, cacheDir, depsDir, depsIdx] = args.map((a, i) => (i === 3 ? a : path.resolve(a)));
  // the bundle lives in <buildpack>/dist/, the TypeScript source in <buildpack>/src/bin/
  const here = path.dirname(path.resolve(process.argv[1]));
  const buildpackDir = path.basename(here) === 'dist' ? path.dirname(here) : path.resolve(here, '../..');
  try {
    const { manifest, compiled, answers, textSha256 } = await loadStagingManifest(buildpackDir);
    logger.debug(compiled ? `manifest: ${COMPILED_MANIFEST_PATH}, made from this manifest.yml` : `manifest: ${manifest.file} parsed (no ${COMPILED_MANIFEST_PATH} made from it)`);
    if (tableManifest !== undefined && tableManifest !== textSha256()) logger.warning(STALE_TABLE);
    for (const w of manifest.warnings ?? []) logger.warning(w);
    const buildpackVersion = (readTextOrNone(path.join(buildpackDir, 'VERSION')) ?? '').trim();
    const fetcher = new HttpFetcher({
      env: process.env,
      onRetry: (attempt, reason) => logger.warning(`download attempt ${attempt} failed (${reason}); retrying`),
    });
    const installer = new Installer({ buildpackDir, cacheDir, logger, fetcher, maxUnpackedBytes: maxUnpackedBytesFrom(process.env) });
    await supply(
      { buildDir, cacheDir, depsDir, depsIdx, stack: process.env.CF_STACK || undefined, env: process.env, now: new Date() },
      { manifest, answers, buildpackVersion, installer, logger },
    );
    return 0;
  } catch (err) {
    if (isBuildpackError(err)) {
      logger.error(err.message);
      return 1;
    }
    fdSink(2).write(`sidecar-buildpack supply: unexpected error (a bug):\n${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}

main().then((code) => {
  process.exitCode = code;
});
