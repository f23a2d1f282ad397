// Test helpers for the platform specs: temp dirs and small buildpacks/apps written to disk.

import { mkdtemp, mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FINAL_BP = path.join(REPO, 'fixtures/buildpacks/final');
export const HANDMADE_BP = path.join(REPO, 'fixtures/buildpacks/handmade-sidecar');

/** A temp dir removed by `cleanup()`. */
export async function tempDir(prefix = 'platform-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write a file map under `root`; entries ending in `#x` are made executable (suffix removed). */
export async function writeTree(root: string, files: Record<string, string>): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    const exec = name.endsWith('#x');
    const file = path.join(root, exec ? name.slice(0, -2) : name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    await chmod(file, exec ? 0o755 : 0o644);
  }
  return root;
}

/** A supply buildpack whose bin/supply is `body` (sh; $1..$4 are the builder's argv). */
export async function supplyBuildpack(root: string, body: string): Promise<string> {
  return writeTree(root, { 'bin/supply#x': `#!/bin/sh\nset -e\n${body}\n`, 'bin/detect#x': '#!/bin/sh\nexit 1\n' });
}

/** A node web app answering `GET /` with `body` and echoing env vars at `/env/<NAME>`. */
export function nodeWebApp(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'server.js': `const http = require('node:http');
const port = Number(process.env.PORT);
http.createServer((req, res) => {
  if (req.url.startsWith('/env/')) return res.end(String(process.env[req.url.slice(5)]));
  if (req.url === '/sidecar') {
    return http.get('http://127.0.0.1:' + process.env.HANDMADE_PORT + '/', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => res.end(b)); })
      .on('error', (e) => { res.statusCode = 502; res.end(e.message); });
  }
  res.end('hello from the app');
}).listen(port, () => console.log('app listening on ' + port));
`,
    ...extra,
  };
}

/** Retry `fn` until it returns without throwing (sidecars start beside, not before, the app). */
export async function eventually<T>(fn: () => Promise<T>, attempts = 50, delayMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  throw last;
}
