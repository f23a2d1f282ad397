// dist/run.cjs: how bin/supply runs dist/supply.cjs (beside it) with a node it found on PATH, and
// with the buildpack's own node when a V8 code cache comes with it.
// - A node on PATH is not asked `node --version` first (a whole process, 4 ms of every such
//   staging): this file checks the version itself, and a node older than 18 runs bin/supply again
//   told to pass over PATH's node (SIDECAR_BUILDPACK_PATH_NODE=too-old), which then finds the
//   staging runtime as on a stack without node. So this file is built for old nodes' syntax.
// - Code caches: bin/supply names them in SIDECAR_BUILDPACK_CODE_CACHE (one path a line; the
//   first made for this bundle and node is used). A cached zip carries its staging runtime's bare
//   bin/node, and the packager ran that very binary once through this file to record the cache
//   (SIDECAR_BUILDPACK_WRITE_CODE_CACHE): compiling the bundle is most of what node spends before
//   supply starts work. A node on PATH of the same version and V8 uses it as well. The cache is
//   used only when its header names this bundle (sha256) and this node and V8; V8 rejects it
//   besides when its own checks fail. Either way the bundle then compiles as it would when run
//   directly. See docs/staging-runtime.md.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { fdSink } from '../log/fd-sink.js';
import { StagingLogger } from '../log/logger.js';
import { codeCacheHeader, readCodeCache, runBundle } from '../supply/code-cache.js';

/** The oldest node the bundle runs on (its build target). */
const OLDEST_MAJOR = 18;

/**
 * Run by a node older than {@link OLDEST_MAJOR}: bin/supply again, which passes over PATH's node,
 * with this process's arguments, output and exit status (or its signal).
 */
function rerunWithoutPathNode(dist: string): void {
  const shim = path.join(dist, '..', 'bin', 'supply');
  const env = Object.assign({}, process.env, { SIDECAR_BUILDPACK_PATH_NODE: 'too-old' });
  // (required here: loading child_process costs every other staging a millisecond or two)
  const { spawnSync } = Module.createRequire(import.meta.url)('child_process') as typeof import('node:child_process');
  // (through sh, as the platform would run it: an unpacked buildpack's mode bits are not trusted here)
  const r = spawnSync('/bin/sh', [shim, ...process.argv.slice(2)], { stdio: 'inherit', env });
  if (r.error) {
    process.stderr.write(`sidecar-buildpack supply: node ${process.version} on PATH is older than ${OLDEST_MAJOR}, and ${shim} could not be run again without it: ${r.error.message}\n`);
    process.exitCode = 1;
  } else if (r.signal) process.kill(process.pid, r.signal);
  else process.exitCode = r.status === null ? 1 : r.status;
}

function main(): void {
  const dist = path.dirname(path.resolve(process.argv[1]));
  if (!(Number(process.versions.node.split('.')[0]) >= OLDEST_MAJOR)) return rerunWithoutPathNode(dist);
  const bundle = path.join(dist, 'supply.cjs');
  const cacheFile = process.env.SIDECAR_BUILDPACK_CODE_CACHE;
  const writeTo = process.env.SIDECAR_BUILDPACK_WRITE_CODE_CACHE;
  delete process.env.SIDECAR_BUILDPACK_CODE_CACHE;
  delete process.env.SIDECAR_BUILDPACK_WRITE_CODE_CACHE;
  const source = readFileSync(bundle, 'utf8');
  // (the bundle's sha256 only when there is a cache to read or write: a node on PATH has none)
  const header = cacheFile || writeTo ? codeCacheHeader(source) : '';
  const cached = cacheFile ? readCodeCache(cacheFile, header) : undefined;
  const script = runBundle(bundle, source, cached?.data);
  if (cacheFile && process.env.BP_DEBUG) {
    const how = !cached ? 'not used: missing, or made for another bundle or node' : script.cachedDataRejected ? 'rejected by V8' : 'used';
    new StagingLogger(fdSink(1), { debug: true }).debug(`code cache ${cached?.file ?? cacheFile.split('\n').join(', ')}: ${how}`);
  }
  if (!writeTo) return;
  // after a whole staging, so the functions it compiled on the way are in the cache too
  process.once('exit', (code) => {
    if (code !== 0) return;
    const tmp = `${writeTo}.tmp.${process.pid}`;
    try {
      writeFileSync(tmp, Buffer.concat([Buffer.from(`${header}\n`), script.createCachedData()]));
      renameSync(tmp, writeTo);
    } catch {
      rmSync(tmp, { force: true });
    }
  });
}

main();
