import path from 'node:path';
import { promises as fs } from 'node:fs';
import { LocalPlatform } from '../src/platform/index.js';
import { REPO, makeBenchBuildpack } from './lib/buildpack.js';
import { addStagingRuntime } from '../test/helpers/node-runtime.js';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const root = '/tmp/prof/w';
await fs.rm(root, { recursive: true, force: true });
await fs.mkdir(path.join(root, 'src/bin'), { recursive: true });
await fs.copyFile(path.join(REPO, 'fixtures/config-server/bin/config-server'), path.join(root, 'src/bin/config-server'));
execFileSync('tar', ['-czf', path.join(root, 'cs.tgz'), '-C', path.join(root, 'src'), 'bin']);
const sha = createHash('sha256').update(await fs.readFile(path.join(root, 'cs.tgz'))).digest('hex');
const srv = http.createServer(async (req, res) => { res.end(await fs.readFile(path.join(root, 'cs.tgz'))); });
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const port = (srv.address() as any).port;
const bp = await makeBenchBuildpack(path.join(root, 'buildpack'), {
  dependencies: [{ name: 'config-server', version: '0.0.0', uri: `http://127.0.0.1:${port}/cs.tgz`, sha256: sha }],
  sidecars: [{ name: 'config-server', dependency: 'config-server', command: 'bin/config-server', env: { CONFIG_SERVER_PORT: '8082' } }],
});
await addStagingRuntime(bp);
let T0 = 0; const stamps: string[] = [];
const platform = new LocalPlatform({ onLog: (l: string) => stamps.push(`${(performance.now() - T0).toFixed(0).padStart(4)} ${l}`), hostEnv: process.env, workRoot: path.join(root, 'platform') });
const get = (u: string) => new Promise<number>((r) => { const q = http.get(u, { agent: false }, (s) => { s.resume(); s.on('end', () => r(s.statusCode ?? 0)); }); q.on('error', () => r(0)); });
for (let i = 0; i < Number(process.argv[2] ?? 6); i++) {
  const t0 = performance.now(); T0 = t0; stamps.length = 0;
  const d = await platform.deploy({ dir: path.join(REPO, 'fixtures/apps/node-app'), name: 'bench-app', buildpacks: [process.env.BP ?? bp, path.join(REPO, 'fixtures/buildpacks/final')], env: { CONFIG_SERVER_PORT: String(40000 + i) } });
  const t1 = performance.now();
  while (!process.env.BP && (await get(`${d.url}/config`)) !== 200) await new Promise((r) => setTimeout(r, 5));
  const t2 = performance.now();
  console.log(`deploy ${(t1 - t0).toFixed(0)} ms, +config ${(t2 - t1).toFixed(0)} ms`);
  if (i === Number(process.argv[2] ?? 6) - 1) console.log(stamps.join('\n'));
  await d.delete();
}
srv.close();
