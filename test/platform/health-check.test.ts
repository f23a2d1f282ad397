// The startup health check against real listeners on 127.0.0.1: port, http, process, and the
// platform's failure texts with the start timeout (compressed by the time scale).

import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { checkOnce, STARTUP_POLL_MAX_MS, waitForStartup } from '../../src/platform/health-check.js';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('health check', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const httpServer = async (handler: http.RequestListener) => {
    const s = http.createServer(handler);
    servers.push(s);
    return listen(s);
  };

  describe('#checkOnce', () => {
    it('port: passes when something listens', async () => {
      const s = net.createServer((c) => c.destroy());
      servers.push(s);
      expect(await checkOnce({ type: 'port' }, { host: '127.0.0.1', port: await listen(s) }, 1000)).to.equal(undefined);
    });
    it('http: passes on 200 only, and says the status otherwise', async () => {
      const port = await httpServer((q, r) => {
        r.statusCode = q.url === '/health' ? 200 : 503;
        r.end();
      });
      expect(await checkOnce({ type: 'http', endpoint: '/health' }, { host: '127.0.0.1', port }, 1000)).to.equal(undefined);
      expect(await checkOnce({ type: 'http', endpoint: '/' }, { host: '127.0.0.1', port }, 1000)).to.match(/^failed to make HTTP request to '\/' on port \d+: received status code 503 in \d+ms$/);
    });
    it('http: times out a try after its invocation timeout', async () => {
      const port = await httpServer(() => undefined);
      expect(await checkOnce({ type: 'http', endpoint: '/' }, { host: '127.0.0.1', port }, 200)).to.equal(`failed to make HTTP request to '/' on port ${port}: timed out after 0.20 seconds`);
    });
    it('http: dials through the given connection (a container\'s network), never host:port itself', async () => {
      const port = await httpServer((_q, r) => r.end());
      // host:port names an address nothing listens on; the connection goes to the real server
      expect(await checkOnce({ type: 'http', endpoint: '/' }, { host: '127.0.0.2', port: 1, connect: () => net.connect(port, '127.0.0.1') }, 1000)).to.equal(undefined);
    });
    it('process: has no check', async () => {
      expect(await checkOnce({ type: 'process' }, { host: '127.0.0.1', port: 1 }, 10)).to.equal(undefined);
    });
  });

  describe('#waitForStartup', () => {
    it('passes once the app starts listening', async () => {
      const port = await closedPort();
      const s = net.createServer((c) => c.destroy());
      servers.push(s);
      setTimeout(() => s.listen(port, '127.0.0.1'), 100);
      const out = await waitForStartup({ type: 'port' }, { host: '127.0.0.1', port }, { cancelled: () => false });
      expect(out).to.deep.equal({ healthy: true });
    });
    it('polls from 5 ms, doubling, never pausing longer than STARTUP_POLL_MAX_MS, 10 ms (a fast app is seen quickly)', async () => {
      const pauses: number[] = [];
      let tries = 0;
      const out = await waitForStartup({ type: 'port', startTimeoutMs: 60_000 }, { host: '127.0.0.1', port: await closedPort() }, {
        cancelled: () => ++tries > 8,
        sleep: async (ms) => {
          pauses.push(ms);
        },
      });
      expect(out).to.deep.equal({ healthy: false, cancelled: true });
      expect(STARTUP_POLL_MAX_MS).to.equal(10);
      expect(pauses).to.deep.equal([5, 10, 10, 10]);
    });
    it('stops when cancelled (the instance crashed)', async () => {
      let cancelled = false;
      setTimeout(() => (cancelled = true), 50);
      const out = await waitForStartup({ type: 'port' }, { host: '127.0.0.1', port: await closedPort() }, { cancelled: () => cancelled });
      expect(out).to.deep.equal({ healthy: false, cancelled: true });
    });
    context('failure cases', () => {
      it('fails after the start timeout with the platform texts (port)', async () => {
        const port = await closedPort();
        const out = await waitForStartup({ type: 'port', startTimeoutMs: 1000 }, { host: '127.0.0.1', port }, { cancelled: () => false });
        expect(out).to.deep.include({
          healthy: false,
          logLine: 'Failed after 1s: startup health check never passed.',
          crashReason: `Instance never healthy after 1s: failed to make TCP connection to 127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused`,
        });
      });
      it('fails an http check whose endpoint never answers 200, with its own timeout', async () => {
        const port = await httpServer((_q, r) => {
          r.statusCode = 500;
          r.end();
        });
        const out = await waitForStartup({ type: 'http', endpoint: '/ready', startTimeoutMs: 200 }, { host: '127.0.0.1', port }, { cancelled: () => false });
        expect(out).to.deep.include({ healthy: false, logLine: 'Failed after 200ms: startup health check never passed.' });
        expect((out as { crashReason: string }).crashReason).to.match(/^Instance never healthy after 200ms: failed to make HTTP request to '\/ready' on port \d+: received status code 500/);
      });
    });
  });
});
