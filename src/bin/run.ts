// dist/run.cjs: runs dist/supply.cjs (beside it) from a V8 code cache, when bin/supply names
// some in SIDECAR_BUILDPACK_CODE_CACHE (one path a line; the first made for this bundle and node
// is used). A cached zip carries its staging runtime's bare bin/node, and the packager ran that
// very binary once through this file to record the cache (SIDECAR_BUILDPACK_WRITE_CODE_CACHE):
// compiling the bundle is most of what node spends before supply starts work. A node on PATH of
// the same version and V8 uses it as well. The cache is used only when its header names this
// bundle (sha256) and this node and V8; V8 rejects it besides when its own checks fail. Either way
// the bundle then compiles as it would when run directly. See docs/staging-runtime.md.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StagingLogger } from '../log/logger.js';
import { codeCacheHeader, readCodeCache, runBundle } from '../supply/code-cache.js';

function main(): void {
  const bundle = path.join(path.dirname(path.resolve(process.argv[1])), 'supply.cjs');
  const cacheFile = process.env.SIDECAR_BUILDPACK_CODE_CACHE;
  const writeTo = process.env.SIDECAR_BUILDPACK_WRITE_CODE_CACHE;
  delete process.env.SIDECAR_BUILDPACK_CODE_CACHE;
  delete process.env.SIDECAR_BUILDPACK_WRITE_CODE_CACHE;
  const source = readFileSync(bundle, 'utf8');
  const header = codeCacheHeader(source);
  const cached = readCodeCache(cacheFile, header);
  const script = runBundle(bundle, source, cached?.data);
  if (cacheFile && process.env.BP_DEBUG) {
    const how = !cached ? 'not used: missing, or made for another bundle or node' : script.cachedDataRejected ? 'rejected by V8' : 'used';
    new StagingLogger(process.stdout, { debug: true }).debug(`code cache ${cached?.file ?? cacheFile.split('\n').join(', ')}: ${how}`);
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
