// Issue 13 item 8: a fetch that fails leaves nothing behind that keeps the process alive. A real
// child process runs failing fetches against real servers here and reports, after each, which
// timers or sockets it still holds; it must also exit on its own (it is never killed: a lingering
// timer would hold it past the test's timeout and fail the test).

import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import net, { type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TestProxy, TestServer, selfSignedCert, serve } from '../helpers/http-server.js';
import { runAsync } from '../helpers/spawn.js';
import { useTmpDirs } from '../helpers/tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = Buffer.from('bytes of a dependency\n'.repeat(2000));

/** A TCP server that accepts connections and never says a word (a proxy that hangs on CONNECT). */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('HttpFetcher after a failure (no lingering timers or sockets)', function () {
  this.timeout(60_000);
  const tmp = useTmpDirs();
  let child: ChildProcess | undefined;
  let cleanups: Array<() => Promise<void>> = [];
  // After a timeout too: a lingering child is killed here, once the test has failed.
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(cleanups.map((c) => c()));
    cleanups = [];
  });

  it('holds no timer or socket after each kind of failure, and the process exits by itself', async () => {
    const server = await TestServer.start();
    const secure = await TestServer.start({ tls: selfSignedCert() });
    const proxy407 = await TestProxy.start({ always407: true });
    const hangingProxy = await silentServer();
    cleanups = [() => server.close(), () => secure.close(), () => proxy407.close(), () => hangingProxy.close()];
    const refused = await silentServer();
    const refusedPort = refused.port;
    await refused.close();
    server
      .route('/silent', () => undefined)
      .route('/stall', serve.stall(DATA, 1000))
      .route('/reset', serve.reset(DATA, 1000))
      .route('/500', serve.status(500))
      .route('/ok', serve.bytes(DATA))
      .route('/drip', serve.drip(DATA, { chunkSize: 100, intervalMs: 20 }))
      .route('/a', serve.redirect('/b'))
      .route('/b', serve.redirect('/a'));
    secure.route('/dep', serve.bytes(DATA));
    const dir = await tmp();
    const short = { connectTimeoutMs: 300, idleTimeoutMs: 300 };
    const cases = [
      { label: 'connection refused', uri: `http://127.0.0.1:${refusedPort}/x` },
      { label: 'HTTP 404', uri: server.url('/missing') },
      { label: 'HTTP 500 on every attempt', uri: server.url('/500') },
      { label: 'no response headers (connect timeout)', uri: server.url('/silent'), options: short },
      { label: 'a stalled body (idle timeout)', uri: server.url('/stall'), options: short },
      { label: 'a reset mid-body', uri: server.url('/reset') },
      { label: 'the total time limit', uri: server.url('/drip'), options: { totalTimeoutMs: 300 } },
      { label: 'a checksum mismatch', uri: server.url('/ok'), sha256: 'a'.repeat(64) },
      { label: 'a redirect loop', uri: server.url('/a') },
      { label: 'an untrusted certificate', uri: secure.url('/dep') },
      { label: 'a proxy answering 407', uri: server.url('/ok'), options: { env: { HTTP_PROXY: proxy407.url() } } },
      { label: 'a proxy answering 407 to CONNECT', uri: secure.url('/dep'), options: { env: { HTTPS_PROXY: proxy407.url() } } },
      { label: 'a proxy that never answers CONNECT', uri: secure.url('/dep'), options: { ...short, env: { HTTPS_PROXY: `http://127.0.0.1:${hangingProxy.port}` } } },
      { label: 'a missing file: URI', uri: pathToFileURL(path.join(dir, 'nope')).href },
    ];
    const run = await runAsync(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'fetch-child.ts'), JSON.stringify({ dir, cases })], { onSpawn: (c) => (child = c) });
    expect(run.status, run.stderr).to.equal(0);
    const reports = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { label: string; error?: string; resources: string[] });
    expect(reports.map((r) => r.label)).to.deep.equal(cases.map((c) => c.label));
    for (const r of reports) {
      expect(r.error, `${r.label} must fail`).to.be.a('string');
      expect(r.resources, `${r.label}: ${r.error}`).to.deep.equal([]);
    }
  });
});
