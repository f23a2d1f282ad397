// Test helper: bundles src/bin/supply.ts into one CommonJS file the way scripts/build.mjs does
// (unminified), for tests that need the current sources rather than a possibly stale dist/.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Writes the supply bundle to `outfile`. esbuild is imported only here, when a bundle is wanted,
 * so a caller can fall back when it is unavailable (the build then rejects).
 */
export async function buildSupplyBundle(outfile: string, logLevel: 'warning' | 'silent' = 'warning'): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [path.join(REPO, 'src', 'bin', 'supply.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    logLevel,
    // ESM sources may use import.meta.url; in the CommonJS bundle it is the bundle's own URL
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl=require("url").pathToFileURL(__filename).href;' },
  });
}
