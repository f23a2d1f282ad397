// Hostile servers (issue 6): a real HTTP server on 127.0.0.1 misbehaving on purpose, staged
// through the real bin/supply child process (stalls and the total deadline through the Installer,
// where the timeouts can be made short). Each case: one clear error or a correct success, the
// expected number of requests, and nothing left behind.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HttpFetcher } from '../src/deps/fetch.js';
import { Installer } from '../src/deps/installer.js';
import { DownloadError } from '../src/errors.js';
import { MemorySink, StagingLogger } from '../src/log/logger.js';
import { serve, TestProxy, TestServer } from '../test/helpers/http-server.js';
import { expectRejection } from '../test/helpers/assert.js';
import { agentManifest, agentTgz, leftoversAfterFailure, makeBuildpack, runSupply, stagingDirs, tempLeftovers, tempRoot, tree, verifyCache, verifyInstalled, type StagingDirs, type SupplyRun } from './helpers/staging.js';

const PATHNAME = '/agent-1.0.0.tgz';

describe('reliability: hostile servers', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  let dep: Awaited<ReturnType<typeof agentTgz>>;

  before(async () => {
    dep = await agentTgz(256 * 1024);
  });
  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
  });
  afterEach(async () => {
    await server.close();
    await root.remove();
  });

  async function stage(uri = server.url(PATHNAME), env: Record<string, string> = {}): Promise<{ run: SupplyRun; dirs: StagingDirs }> {
    const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri, sha256: dep.sha256 }));
    const dirs = await stagingDirs(root.dir);
    return { run: await runSupply(bp, dirs, { env }), dirs };
  }

  async function expectSuccess(run: SupplyRun, dirs: StagingDirs): Promise<void> {
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(await verifyInstalled(dirs.deps, dep.files)).to.deep.equal([]);
    const cache = await verifyCache(dirs.cache, dep.sha256);
    expect(cache.files).to.have.length(1);
    expect(cache.bad).to.deep.equal([]);
    expect(cache.other).to.deep.equal([]);
    expect(await leftoversAfterFailure(dirs, run).then((p) => p.filter((x) => !x.startsWith('half-installed')))).to.deep.equal([]);
  }

  async function expectCleanFailure(run: SupplyRun, dirs: StagingDirs, pattern: RegExp): Promise<void> {
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stdout).to.match(pattern);
    expect(run.stdout.match(/\*\*ERROR\*\*/g), 'exactly one error line').to.have.length(1);
    expect(run.stderr).not.to.include('a bug');
    expect(await leftoversAfterFailure(dirs, run)).to.deep.equal([]);
    expect(await tree(path.join(dirs.cache, 'dependencies')).then((t) => t.filter((p) => !p.endsWith('/')))).to.deep.equal([]);
  }

  describe('bin/supply downloading a dependency', () => {
    context('when the connection is reset mid-body once', () => {
      it('retries and installs a verified dependency', async () => {
        server.route(PATHNAME, serve.sequence(serve.reset(dep.body, 64 * 1024), serve.bytes(dep.body)));
        const { run, dirs } = await stage();
        await expectSuccess(run, dirs);
        expect(server.count(PATHNAME)).to.equal(2);
        expect(run.stdout).to.match(/download attempt 1 failed \(.*\); retrying/);
      });
    });

    context('when the body is shorter than Content-Length once', () => {
      it('retries and installs a verified dependency', async () => {
        server.route(PATHNAME, serve.sequence(serve.short(dep.body.subarray(0, 1000), dep.body.length), serve.bytes(dep.body)));
        const { run, dirs } = await stage();
        await expectSuccess(run, dirs);
        expect(server.count(PATHNAME)).to.equal(2);
        expect(run.stdout).to.match(/download attempt 1 failed \((short body|connection lost after 1000 bytes|connection closed after 1000)/);
      });
    });

    context('when the server drips the body slowly', () => {
      it('waits for it (a live server is not a stall) with one request', async () => {
        server.route(PATHNAME, serve.drip(dep.body, { chunkSize: 16 * 1024, intervalMs: 15 }));
        const { run, dirs } = await stage();
        await expectSuccess(run, dirs);
        expect(server.count(PATHNAME)).to.equal(1);
      });
    });

    context('when the server answers 500 then 200', () => {
      it('succeeds after one retry', async () => {
        server.route(PATHNAME, serve.sequence(serve.status(500), serve.bytes(dep.body)));
        const { run, dirs } = await stage();
        await expectSuccess(run, dirs);
        expect(server.count(PATHNAME)).to.equal(2);
        expect(run.stdout).to.include('HTTP 500');
      });
    });

    context('when the server answers 429 with Retry-After', () => {
      it('waits and succeeds with the second request', async () => {
        server.route(PATHNAME, serve.sequence(serve.tooManyRequests(1), serve.bytes(dep.body)));
        const { run, dirs } = await stage();
        await expectSuccess(run, dirs);
        expect(server.count(PATHNAME)).to.equal(2);
        expect(run.stdout).to.include('HTTP 429');
      });
    });

    context('failure cases', () => {
      it('404: fails at once with exactly one request', async () => {
        const { run, dirs } = await stage();
        await expectCleanFailure(run, dirs, /could not download http:\/\/127\.0\.0\.1:\d+\/agent-1\.0\.0\.tgz: HTTP 404/);
        expect(server.count(PATHNAME)).to.equal(1);
      });

      it('reset on every attempt: gives up after the bounded number of attempts', async () => {
        server.route(PATHNAME, serve.reset(dep.body, 64 * 1024));
        const { run, dirs } = await stage();
        await expectCleanFailure(run, dirs, /gave up after 5 attempts/);
        expect(server.count(PATHNAME)).to.equal(5);
      });

      it('a redirect loop: fails naming the loop, not retried', async () => {
        server.route(PATHNAME, serve.redirect('/b'));
        server.route('/b', serve.redirect(PATHNAME));
        const { run, dirs } = await stage();
        await expectCleanFailure(run, dirs, /redirect loop/);
        expect(server.count(PATHNAME)).to.equal(1);
        expect(server.count('/b')).to.equal(1);
      });

      it('an endless redirect chain: bounded', async () => {
        server.route(PATHNAME, serve.redirect('/r/1'));
        for (let i = 1; i < 40; i++) server.route(`/r/${i}`, serve.redirect(`/r/${i + 1}`));
        const { run, dirs } = await stage();
        await expectCleanFailure(run, dirs, /too many redirects \(more than 10\)/);
        expect(server.count('/r/30')).to.equal(0);
      });

      it('a proxy answering 407: fails at once naming the proxy without its credentials', async () => {
        const proxy = await TestProxy.start({ always407: true });
        try {
          const proxyUrl = proxy.url({ user: 'proxyuser', password: 'proxy-s3cret' });
          const { run, dirs } = await stage(server.url(PATHNAME), { HTTP_PROXY: proxyUrl, http_proxy: proxyUrl });
          await expectCleanFailure(run, dirs, /proxy authentication required \(HTTP 407.*\) at proxy http:\/\/-redacted-:-redacted-@127\.0\.0\.1:\d+/);
          expect(proxy.requests).to.have.length(1);
          expect(run.stdout + run.stderr).not.to.include('proxy-s3cret');
          expect(server.count(PATHNAME)).to.equal(0);
        } finally {
          await proxy.close();
        }
      });

      it('a password holding a raw @ (user:p@ss@host): no part of it printed', async () => {
        // Regression: redaction stopped at the first `@`, leaving the password's tail in the log.
        server.route(PATHNAME, serve.basicAuth('deploy', 'p@ss-Tail9x', serve.status(403)));
        const { run, dirs } = await stage(`http://deploy:p@ss-Tail9x@127.0.0.1:${server.port}${PATHNAME}`);
        await expectCleanFailure(run, dirs, /could not download http:\/\/-redacted-:-redacted-@127\.0\.0\.1:\d+\/agent-1\.0\.0\.tgz: HTTP 403/);
        expect(run.stdout).to.match(/Download \[http:\/\/-redacted-:-redacted-@127\.0\.0\.1:/);
        expect(run.stdout + run.stderr).not.to.include('Tail9x');
        expect(server.count(PATHNAME)).to.equal(1);
      });

      it('a password with a bad %-escape: one clear error, no stack trace, no part of it printed', async () => {
        // Regression: decodeURIComponent's URIError escaped as "unexpected error (a bug)", exit 70.
        server.route(PATHNAME, serve.bytes(dep.body));
        const { run, dirs } = await stage(`http://deploy:pw%G1-Tail9q@127.0.0.1:${server.port}${PATHNAME}`);
        await expectCleanFailure(run, dirs, /could not download http:\/\/-redacted-:-redacted-@127\.0\.0\.1:\d+\/agent-1\.0\.0\.tgz: the user name or password in the URI has an invalid %-escape/);
        expect(run.stdout + run.stderr).not.to.include('Tail9q');
        expect(run.stderr).not.to.match(/\bat \S+ \(/);
        expect(server.count(PATHNAME)).to.equal(0);
      });

      it('user:pass@ in the URI: never printed, on success or failure, nor written to the deps dir', async () => {
        const secret = 'hunter2-XyZ';
        server.route(PATHNAME, serve.basicAuth('deploy', secret, serve.bytes(dep.body)));
        const ok = await stage(server.url(PATHNAME, { user: 'deploy', password: secret }));
        await expectSuccess(ok.run, ok.dirs);
        expect(ok.run.stdout).to.match(/Download \[http:\/\/-redacted-:-redacted-@127\.0\.0\.1:\d+\/agent-1\.0\.0\.tgz\]/);
        expect(ok.run.stdout + ok.run.stderr).not.to.include(secret);
        for (const f of await tree(ok.dirs.deps)) {
          if (f.endsWith('/')) continue;
          expect(await fs.readFile(path.join(ok.dirs.deps, f), 'latin1'), f).not.to.include(secret);
        }

        await fs.rm(path.join(root.dir, 'bp'), { recursive: true });
        const bad = await stage(server.url(PATHNAME, { user: 'deploy', password: `${secret}-wrong` }));
        await expectCleanFailure(bad.run, bad.dirs, /HTTP 401/);
        expect(bad.run.stdout + bad.run.stderr).not.to.include(secret);
      });
    });
  });

  describe('Installer with short timeouts (stalls)', () => {
    function installer(cacheDir: string, options: ConstructorParameters<typeof HttpFetcher>[0]): { installer: Installer; log: MemorySink } {
      const log = new MemorySink();
      const fetcher = new HttpFetcher({ backoffMs: 10, ...options });
      return { installer: new Installer({ buildpackDir: cacheDir, cacheDir, logger: new StagingLogger(log), fetcher }), log };
    }
    const entry = (uri: string) => ({ name: 'agent', version: '1.0.0', uri, sha256: dep.sha256, cf_stacks: [], extra: {} });

    context('when the body stalls once', () => {
      it('times the attempt out and succeeds on the next', async () => {
        server.route(PATHNAME, serve.sequence(serve.stall(dep.body, 50_000), serve.bytes(dep.body)));
        const cache = path.join(root.dir, 'cache');
        const target = path.join(root.dir, 'deps', '0', 'agent');
        const { installer: inst, log } = installer(cache, { idleTimeoutMs: 300, onRetry: (n, r) => log.write(`retry ${n}: ${r}\n`) });
        await inst.install(entry(server.url(PATHNAME)), target);
        expect(log.text()).to.match(/retry 1: stalled: no data for 300 ms after \d+ bytes/);
        expect(await fs.readFile(path.join(target, 'data/blob'))).to.deep.equal(dep.files['data/blob']);
        expect(server.count(PATHNAME)).to.equal(2);
      });
    });

    context('when the body fails before the consumer started reading it', () => {
      // Regression: the body stream had no 'error' listener until the consumer's pipeline
      // attached, so a short body ending during the installer's mkdir crashed bin/supply.
      it('reports it to the consumer (retried), never as an unhandled error', async () => {
        server.route(PATHNAME, serve.sequence(serve.short(dep.body.subarray(0, 1000), dep.body.length), serve.bytes(dep.body)));
        const fetcher = new HttpFetcher({ backoffMs: 10 });
        const got = await fetcher.fetchWith(server.url(PATHNAME), async (body) => {
          await new Promise((r) => setTimeout(r, 200));
          const chunks: Buffer[] = [];
          for await (const c of body.stream) chunks.push(c as Buffer);
          return Buffer.concat(chunks);
        });
        expect(got.equals(dep.body)).to.equal(true);
        expect(server.count(PATHNAME)).to.equal(2);
      });
    });

    context('failure cases', () => {
      it('stalls every time: a DownloadError after the bounded attempts, nothing left', async () => {
        server.route(PATHNAME, serve.stall(dep.body, 50_000));
        const cache = path.join(root.dir, 'cache');
        const target = path.join(root.dir, 'deps', '0', 'agent');
        const { installer: inst } = installer(cache, { idleTimeoutMs: 200, attempts: 3 });
        await expectRejection(inst.install(entry(server.url(PATHNAME)), target), DownloadError, /stalled: no data for 200 ms .*gave up after 3 attempts/);
        expect(server.count(PATHNAME)).to.equal(3);
        expect((await tree(path.join(root.dir, 'deps'))).filter((p) => p !== '0/'), 'nothing but (at most) the empty index dir').to.deep.equal([]);
        expect(await tree(cache)).to.deep.equal(['dependencies/']);
      });

      it('a drip that never ends: stopped by the total time bound, nothing left', async () => {
        const endless = Buffer.alloc(16 * 1024 * 1024);
        server.route(PATHNAME, serve.drip(endless, { chunkSize: 512, intervalMs: 20 }));
        const cache = path.join(root.dir, 'cache');
        const target = path.join(root.dir, 'deps', '0', 'agent');
        const { installer: inst } = installer(cache, { idleTimeoutMs: 1000, totalTimeoutMs: 1500 });
        await expectRejection(inst.install(entry(server.url(PATHNAME)), target), DownloadError, /total time limit/);
        expect(server.count(PATHNAME)).to.equal(1);
        expect(await tempLeftovers(root.dir)).to.deep.equal([]);
        expect((await tree(path.join(root.dir, 'deps'))).filter((p) => p !== '0/'), 'nothing but (at most) the empty index dir').to.deep.equal([]);
      });
    });
  });
});
