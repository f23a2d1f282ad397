// push_ready_ratio: the local platform's push of the fixture app (this buildpack's sidecar from a
// 127.0.0.1 download, its staging runtime in the buildpack as in a cached zip, the fixture final
// buildpack installing node for the app) until GET /config through the app answers, vs
// starting the same app and sidecar processes directly and polling the same URL.

import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { LocalPlatform } from '../../src/platform/index.js';
import { REPO, makeBenchBuildpack } from '../lib/buildpack.js';
import type { BenchContext, CaseResult } from '../lib/context.js';
import { sha256File } from '../lib/inputs.js';
import { sample, timeAsync, timeRun, type Trial } from '../lib/measure.js';
import { addStagingRuntime } from '../../test/helpers/node-runtime.js';
import { ratioResult } from './supply.js';

const APP = path.join(REPO, 'fixtures', 'apps', 'node-app');
const CONFIG_SERVER = path.join(REPO, 'fixtures', 'config-server', 'bin', 'config-server');
const FINAL_BP = path.join(REPO, 'fixtures', 'buildpacks', 'final');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Poll `url` every 5 ms until it answers 200 (both sides of the ratio use this same loop). */
async function until200(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await getStatus(url)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function pushCase(ctx: BenchContext): Promise<CaseResult> {
  const key = 'push_ready_ratio';
  const root = path.join(ctx.work, key);
  // the sidecar dependency: a tarball of the fixture config-server, served by the benchmark
  const src = path.join(root, 'config-server-src');
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  await fs.copyFile(CONFIG_SERVER, path.join(src, 'bin', 'config-server'));
  await fs.chmod(path.join(src, 'bin', 'config-server'), 0o755);
  const tgz = path.join(root, 'config-server.tgz');
  await timeRun('tar', ['-czf', tgz, '-C', src, 'bin']);
  const bp = await makeBenchBuildpack(path.join(root, 'buildpack'), {
    dependencies: [{ name: 'config-server', version: '0.0.0', uri: ctx.server.add(`/${key}/config-server.tgz`, tgz), sha256: await sha256File(tgz) }],
    sidecars: [{ name: 'config-server', dependency: 'config-server', command: 'bin/config-server', env: { CONFIG_SERVER_PORT: '8082' } }],
  });
  // the stack has no node: bin/supply runs on the buildpack's own runtime, in place as in a cached zip
  await addStagingRuntime(bp);
  const platform = new LocalPlatform({ hostEnv: ctx.env, workRoot: path.join(root, 'platform') });

  const push: Trial = {
    run: async () => {
      // the app env's own CONFIG_SERVER_PORT wins over the sidecar's default: a free port, not 8082
      const sidecarPort = await freePort();
      let deployment: Awaited<ReturnType<LocalPlatform['deploy']>> | undefined;
      try {
        // one app name for every push: like repeated `cf push`, later pushes find the app cache
        const ms = await timeAsync(async () => {
          deployment = await platform.deploy({ dir: APP, name: 'bench-app', buildpacks: [bp, FINAL_BP], env: { CONFIG_SERVER_PORT: String(sidecarPort) } });
          await until200(`${deployment.url}/config`);
        });
        return ms;
      } finally {
        await deployment?.delete();
      }
    },
  };

  const direct: Trial = {
    run: async () => {
      const [port, sidecarPort] = [await freePort(), await freePort()];
      const children: ChildProcess[] = [];
      try {
        return await timeAsync(async () => {
          const env = { ...ctx.env, PORT: String(port), CONFIG_SERVER_PORT: String(sidecarPort) };
          children.push(spawn(CONFIG_SERVER, [], { env, stdio: 'ignore' }));
          children.push(spawn('node', ['server.js'], { cwd: APP, env, stdio: 'ignore' }));
          await until200(`http://127.0.0.1:${port}/config`);
        });
      } finally {
        await Promise.all(children.map(stop));
      }
    },
  };

  const samples = await sample(push, direct, ctx.fastRuns);
  return ratioResult(key, 3, samples, {
    baseline_command: 'node server.js & fixtures/config-server/bin/config-server & poll GET /config',
    polling_interval_ms: 5,
  });
}
