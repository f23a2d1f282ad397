import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpFetcher } from '../../src/deps/fetch.js';
import type { FetchOptions } from '../../src/deps/types.js';
import { ChecksumMismatchError, DownloadError } from '../../src/errors.js';
import { sha256 } from '../helpers/archives.js';
import { expectRejection } from '../helpers/assert.js';
import { TestProxy, TestServer, selfSignedCert, serve } from '../helpers/http-server.js';
import { useTmpDirs } from '../helpers/tmp.js';

const DATA = Buffer.from('the dependency bytes\n'.repeat(5000));
const SECRET = { user: 'alice', password: 's3cr3t-pw' };

describe('HttpFetcher', () => {
  const tmp = useTmpDirs();
  let server: TestServer;
  let dir: string;
  let sleeps: number[];
  let retries: string[];

  beforeEach(async () => {
    server = await TestServer.start();
    dir = await tmp();
    sleeps = [];
    retries = [];
  });
  afterEach(async () => server.close());

  /** A fetcher that records back-off sleeps instead of waiting them. */
  function fetcher(options: FetchOptions = {}): HttpFetcher {
    return new HttpFetcher({
      sleep: async (ms) => void sleeps.push(ms),
      onRetry: (_n, reason) => void retries.push(reason),
      idleTimeoutMs: 2000,
      connectTimeoutMs: 2000,
      ...options,
    });
  }
  const dest = (): string => path.join(dir, 'out', 'dep.bin');
  /** Everything in the destination directory: no temp file may be left behind. */
  const leftovers = async (): Promise<string[]> => fs.readdir(path.dirname(dest())).catch(() => []);

  describe('#fetchToFile', () => {
    context('when the server answers', () => {
      it('downloads with Content-Length, returning digest and size', async () => {
        server.route('/dep', serve.bytes(DATA));
        const result = await fetcher().fetchToFile(server.url('/dep'), dest(), sha256(DATA));
        expect(result).to.deep.equal({ sha256: sha256(DATA), bytes: DATA.length });
        expect(await fs.readFile(dest())).to.deep.equal(DATA);
        expect(await leftovers()).to.deep.equal(['dep.bin']);
      });

      it('downloads a chunked body without Content-Length', async () => {
        server.route('/dep', serve.bytes(DATA, { contentLength: false }));
        expect((await fetcher().fetchToFile(server.url('/dep'), dest())).bytes).to.equal(DATA.length);
      });

      it('reads file:// URIs', async () => {
        const src = path.join(dir, 'src.bin');
        await fs.writeFile(src, DATA);
        const result = await fetcher().fetchToFile(pathToFileURL(src).href, dest());
        expect(result.sha256).to.equal(sha256(DATA));
      });

      it('sends basic-auth credentials from the URI', async () => {
        server.route('/dep', serve.basicAuth(SECRET.user, SECRET.password, serve.bytes(DATA)));
        await fetcher().fetchToFile(server.url('/dep', SECRET), dest());
        expect(server.count('/dep')).to.equal(1);
      });

      it('follows redirects, relative ones included', async () => {
        server.route('/a', serve.redirect('/b', 301)).route('/b', serve.redirect(server.url('/c'), 307)).route('/c', serve.bytes(DATA));
        await fetcher().fetchToFile(server.url('/a'), dest());
        expect([server.count('/a'), server.count('/b'), server.count('/c')]).to.deep.equal([1, 1, 1]);
      });

      it('does not forward credentials to another origin', async () => {
        const other = await TestServer.start();
        try {
          other.route('/x', serve.bytes(DATA));
          server.route('/a', serve.redirect(other.url('/x')));
          await fetcher().fetchToFile(server.url('/a', SECRET), dest());
          expect(other.requests[0].headers.authorization).to.equal(undefined);
        } finally {
          await other.close();
        }
      });

      it('reports progress', async () => {
        server.route('/dep', serve.bytes(DATA));
        const seen: Array<[number, number | undefined]> = [];
        await fetcher({ onProgress: (r, t) => void seen.push([r, t]) }).fetchToFile(server.url('/dep'), dest());
        expect(seen.at(-1)).to.deep.equal([DATA.length, DATA.length]);
      });
    });

    context('when a failure is retryable', () => {
      const cases: Array<[string, () => void]> = [
        ['500 then 200', () => server.route('/dep', serve.sequence(serve.status(500), serve.bytes(DATA)))],
        ['503 then 200', () => server.route('/dep', serve.sequence(serve.status(503), serve.bytes(DATA)))],
        ['408 then 200', () => server.route('/dep', serve.sequence(serve.status(408), serve.bytes(DATA)))],
        ['a reset mid-body then 200', () => server.route('/dep', serve.sequence(serve.reset(DATA, 1000), serve.bytes(DATA)))],
        ['a short body then 200', () => server.route('/dep', serve.sequence(serve.short(DATA.subarray(0, 5000), DATA.length), serve.bytes(DATA)))],
        ['a stall mid-body then 200', () => server.route('/dep', serve.sequence(serve.stall(DATA, 1000), serve.bytes(DATA)))],
      ];
      for (const [label, setup] of cases) {
        it(`succeeds after ${label}, with exactly two requests`, async () => {
          setup();
          await fetcher({ idleTimeoutMs: 300 }).fetchToFile(server.url('/dep'), dest(), sha256(DATA));
          expect(server.count('/dep')).to.equal(2);
          expect(await fs.readFile(dest())).to.deep.equal(DATA);
          expect(await leftovers()).to.deep.equal(['dep.bin']);
          expect(retries).to.have.length(1);
        });
      }

      it('backs off exponentially', async () => {
        server.route('/dep', serve.sequence(serve.status(502), serve.status(502), serve.status(502), serve.bytes(DATA)));
        await fetcher({ backoffMs: 100 }).fetchToFile(server.url('/dep'), dest());
        expect(sleeps).to.deep.equal([100, 200, 400]);
      });

      it('honours Retry-After on 429', async () => {
        server.route('/dep', serve.sequence(serve.tooManyRequests(7), serve.bytes(DATA)));
        await fetcher().fetchToFile(server.url('/dep'), dest());
        expect(sleeps).to.deep.equal([7000]);
      });

      it('caps a long Retry-After', async () => {
        server.route('/dep', serve.sequence(serve.tooManyRequests(3600), serve.bytes(DATA)));
        await fetcher({ maxRetryAfterMs: 5000 }).fetchToFile(server.url('/dep'), dest());
        expect(sleeps).to.deep.equal([5000]);
      });

      it('keeps a slow but live drip going', async () => {
        server.route('/dep', serve.drip(DATA.subarray(0, 4000), { chunkSize: 500, intervalMs: 20 }));
        await fetcher({ idleTimeoutMs: 1000 }).fetchToFile(server.url('/dep'), dest());
        expect(server.count('/dep')).to.equal(1);
      });
    });

    context('failure cases', () => {
      it('does not retry 404: exactly one request, status on the error', async () => {
        const err = await expectRejection(fetcher().fetchToFile(server.url('/missing'), dest()), DownloadError, /HTTP 404/);
        expect(err.status).to.equal(404);
        expect(server.count('/missing')).to.equal(1);
        expect(await leftovers()).to.deep.equal([]);
      });

      for (const status of [400, 401, 403, 410]) {
        it(`does not retry ${status}`, async () => {
          server.route('/dep', serve.status(status));
          await expectRejection(fetcher().fetchToFile(server.url('/dep'), dest()), DownloadError);
          expect(server.count('/dep')).to.equal(1);
        });
      }

      it('gives up after the configured attempts of 5xx, keeping the status', async () => {
        server.route('/dep', serve.status(503));
        const err = await expectRejection(fetcher({ attempts: 3 }).fetchToFile(server.url('/dep'), dest()), DownloadError, /after 3 attempts/);
        expect(err.status).to.equal(503);
        expect(server.count('/dep')).to.equal(3);
      });

      it('gives up on a connection that keeps resetting, leaving no partial file', async () => {
        server.route('/dep', serve.reset(DATA, 2000));
        await expectRejection(fetcher({ attempts: 2 }).fetchToFile(server.url('/dep'), dest()), DownloadError);
        expect(server.count('/dep')).to.equal(2);
        expect(await leftovers()).to.deep.equal([]);
      });

      it('gives up on a server that always stalls (idle timeout), leaving no partial file', async () => {
        server.route('/dep', serve.stall(DATA, 1000));
        await expectRejection(fetcher({ attempts: 2, idleTimeoutMs: 200 }).fetchToFile(server.url('/dep'), dest()), DownloadError, /stalled/);
        expect(await leftovers()).to.deep.equal([]);
      });

      it('bounds the total time: a drip longer than the limit fails and is not retried', async () => {
        server.route('/dep', serve.drip(DATA, { chunkSize: 100, intervalMs: 20 }));
        await expectRejection(fetcher({ totalTimeoutMs: 300 }).fetchToFile(server.url('/dep'), dest()), DownloadError, /total time limit/);
        expect(server.count('/dep')).to.equal(1);
        expect(await leftovers()).to.deep.equal([]);
      });

      it('fails on a body shorter than Content-Length', async () => {
        server.route('/dep', serve.short(DATA.subarray(0, 100)));
        await expectRejection(fetcher({ attempts: 2 }).fetchToFile(server.url('/dep'), dest()), DownloadError, /(short body|closed|lost)/);
        expect(server.count('/dep')).to.equal(2);
      });

      it('stops a redirect loop with a clear error, without retrying', async () => {
        server.route('/a', serve.redirect('/b')).route('/b', serve.redirect('/a'));
        await expectRejection(fetcher().fetchToFile(server.url('/a'), dest()), DownloadError, /redirect loop/);
        expect([server.count('/a'), server.count('/b')]).to.deep.equal([1, 1]);
      });

      it('bounds a redirect chain', async () => {
        for (let i = 0; i < 5; i++) server.route(`/r${i}`, serve.redirect(`/r${i + 1}`));
        await expectRejection(fetcher({ maxRedirects: 3 }).fetchToFile(server.url('/r0'), dest()), DownloadError, /too many redirects/);
      });

      it('retries a refused connection, then fails without a status', async () => {
        const port = server.port;
        await server.close();
        const err = await expectRejection(fetcher({ attempts: 2 }).fetchToFile(`http://127.0.0.1:${port}/x`, dest()), DownloadError, /ECONNREFUSED/);
        expect(err.status).to.equal(undefined);
        expect(sleeps).to.have.length(1);
        server = await TestServer.start();
      });

      it('refuses other URI schemes without retrying', async () => {
        await expectRejection(fetcher().fetchToFile('ftp://example.org/x.tgz', dest()), DownloadError, /unsupported URI scheme/);
        expect(sleeps).to.deep.equal([]);
      });

      it('fails on a missing file:// path', async () => {
        await expectRejection(fetcher().fetchToFile(pathToFileURL(path.join(dir, 'nope')).href, dest()), DownloadError, /ENOENT/);
      });

      it('deletes the file on a checksum mismatch', async () => {
        server.route('/dep', serve.bytes(DATA));
        const err = await expectRejection(fetcher().fetchToFile(server.url('/dep'), dest(), 'a'.repeat(64)), ChecksumMismatchError);
        expect(err.message).to.equal(`dependency sha256 mismatch: expected sha256 ${'a'.repeat(64)}, actual sha256 ${sha256(DATA)}`);
        expect(await leftovers()).to.deep.equal([]);
        expect(server.count('/dep')).to.equal(1);
      });

      it('refuses a password with a bad %-escape: a DownloadError saying so, one try, no credentials shown', async () => {
        server.route('/dep', serve.bytes(DATA));
        const err = await expectRejection(fetcher().fetchToFile(`http://alice:pw%zzTail7@127.0.0.1:${server.port}/dep`, dest()), DownloadError, /user name or password in the URI has an invalid %-escape/);
        expect(err.message + err.uri).to.not.include('Tail7');
        expect([server.count('/dep'), sleeps.length]).to.deep.equal([0, 0]);
      });

      it('refuses a proxy password with a bad %-escape, naming the variable', async () => {
        const err = await expectRejection(fetcher({ env: { HTTP_PROXY: 'http://bob:pr%x@127.0.0.1:9' } }).fetchToFile(server.url('/dep'), dest()), DownloadError, /password in the proxy URL in HTTP_PROXY has an invalid %-escape/);
        expect(err.message).to.not.include('pr%x');
        expect(sleeps).to.deep.equal([]);
      });

      it('never shows credentials in errors or retry reasons', async () => {
        server.route('/a', serve.redirect('/b')).route('/b', serve.redirect('/a'));
        server.route('/dep', serve.status(500));
        const errors = [
          await expectRejection(fetcher({ attempts: 2 }).fetchToFile(server.url('/dep', SECRET), dest()), DownloadError),
          await expectRejection(fetcher().fetchToFile(server.url('/a', SECRET), dest()), DownloadError),
        ];
        const text = [...errors.flatMap((e) => [e.message, e.uri, String((e.cause as Error)?.message)]), ...retries].join('\n');
        expect(text).to.not.include(SECRET.password);
        expect(text).to.include('-redacted-:-redacted-@');
      });
    });
  });

  describe('#fetchWith', () => {
    it('calls the consumer again on a fresh body after a mid-body failure', async () => {
      server.route('/dep', serve.sequence(serve.reset(DATA, 3000), serve.bytes(DATA)));
      let calls = 0;
      const size = await fetcher().fetchWith(server.url('/dep'), async (body) => {
        calls++;
        let n = 0;
        for await (const c of body.stream) n += (c as Buffer).length;
        return n;
      });
      expect([calls, size]).to.deep.equal([2, DATA.length]);
    });

    context('failure cases', () => {
      it('passes the consumer\'s own errors through without retrying', async () => {
        server.route('/dep', serve.bytes(DATA));
        class Mine extends Error {}
        await expectRejection(fetcher().fetchWith(server.url('/dep'), async () => { throw new Mine('nope'); }), Mine);
        expect(server.count('/dep')).to.equal(1);
      });
    });
  });

  describe('#open', () => {
    it('returns the body stream and its size', async () => {
      server.route('/dep', serve.bytes(DATA));
      const body = await fetcher().open(server.url('/dep'));
      const parts: Buffer[] = [];
      for await (const c of body.stream) parts.push(c as Buffer);
      expect([body.size, Buffer.concat(parts).equals(DATA)]).to.deep.equal([DATA.length, true]);
    });

    context('failure cases', () => {
      it('rejects on 404 before any body', async () => {
        await expectRejection(fetcher().open(server.url('/none')), DownloadError, /404/);
      });
    });
  });

  describe('proxies', () => {
    let proxy: TestProxy;
    afterEach(async () => proxy?.close());

    it('sends http requests through HTTP_PROXY', async () => {
      proxy = await TestProxy.start();
      server.route('/dep', serve.bytes(DATA));
      await fetcher({ env: { HTTP_PROXY: proxy.url() } }).fetchToFile(server.url('/dep'), dest());
      expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).to.deep.equal([`GET ${server.url('/dep')}`]);
    });

    it('reads lowercase http_proxy and a proxy without a scheme', async () => {
      proxy = await TestProxy.start();
      server.route('/dep', serve.bytes(DATA));
      await fetcher({ env: { http_proxy: proxy.url().replace('http://', '') } }).fetchToFile(server.url('/dep'), dest());
      expect(proxy.requests).to.have.length(1);
    });

    it('sends proxy credentials from the proxy URL', async () => {
      proxy = await TestProxy.start({ auth: SECRET });
      server.route('/dep', serve.bytes(DATA));
      await fetcher({ env: { HTTP_PROXY: proxy.url(SECRET) } }).fetchToFile(server.url('/dep'), dest());
      expect(server.count('/dep')).to.equal(1);
    });

    for (const noProxy of ['127.0.0.1', '*', 'example.org, 127.0.0.1']) {
      it(`bypasses the proxy for NO_PROXY=${noProxy}`, async () => {
        proxy = await TestProxy.start();
        server.route('/dep', serve.bytes(DATA));
        await fetcher({ env: { HTTP_PROXY: proxy.url(), NO_PROXY: noProxy } }).fetchToFile(server.url('/dep'), dest());
        expect(proxy.requests).to.have.length(0);
        expect(server.count('/dep')).to.equal(1);
      });
    }

    it('tunnels https through HTTPS_PROXY with CONNECT', async () => {
      const cert = selfSignedCert();
      const secure = await TestServer.start({ tls: cert });
      try {
        proxy = await TestProxy.start();
        secure.route('/dep', serve.bytes(DATA));
        await fetcher({ env: { HTTPS_PROXY: proxy.url(), HTTP_PROXY: 'http://127.0.0.1:1' }, ca: cert.cert }).fetchToFile(secure.url('/dep'), dest());
        expect(proxy.requests.map((r) => `${r.method} ${r.target}`)).to.deep.equal([`CONNECT 127.0.0.1:${secure.port}`]);
        expect(await fs.readFile(dest())).to.deep.equal(DATA);
      } finally {
        await secure.close();
      }
    });

    it('fetches https directly with an extra CA', async () => {
      const cert = selfSignedCert();
      const secure = await TestServer.start({ tls: cert });
      try {
        secure.route('/dep', serve.bytes(DATA));
        await fetcher({ ca: cert.cert }).fetchToFile(secure.url('/dep'), dest());
        expect(secure.count('/dep')).to.equal(1);
      } finally {
        await secure.close();
      }
    });

    context('failure cases', () => {
      it('fails clearly on 407 from a forward proxy, without retrying or showing credentials', async () => {
        proxy = await TestProxy.start({ always407: true });
        const err = await expectRejection(
          fetcher({ env: { HTTP_PROXY: proxy.url(SECRET) } }).fetchToFile(server.url('/dep'), dest()),
          DownloadError,
          /proxy authentication required/,
        );
        expect(err.status).to.equal(407);
        expect(proxy.requests).to.have.length(1);
        expect(err.message).to.not.include(SECRET.password);
      });

      it('fails clearly on a malformed proxy variable, without retrying or echoing it', async () => {
        const err = await expectRejection(fetcher({ env: { HTTP_PROXY: `http://${SECRET.user}:${SECRET.password}@[bad` } }).fetchToFile(server.url('/dep'), dest()), DownloadError, /invalid proxy URL in HTTP_PROXY/);
        expect(err.message).to.not.include(SECRET.password);
        expect(sleeps).to.deep.equal([]);
      });

      it('fails clearly on 407 to CONNECT, without retrying', async () => {
        proxy = await TestProxy.start({ always407: true });
        const err = await expectRejection(
          fetcher({ env: { HTTPS_PROXY: proxy.url(SECRET) } }).fetchToFile('https://127.0.0.1:9/x.tgz', dest()),
          DownloadError,
          /proxy authentication required/,
        );
        expect(err.status).to.equal(407);
        expect(proxy.requests).to.have.length(1);
        expect(err.message).to.not.include(SECRET.password);
      });

      it('refuses a server certificate it does not trust, without retrying', async () => {
        const secure = await TestServer.start({ tls: selfSignedCert() });
        try {
          secure.route('/dep', serve.bytes(DATA));
          await expectRejection(fetcher().fetchToFile(secure.url('/dep'), dest()), DownloadError, /certificate/);
          expect(sleeps).to.deep.equal([]);
        } finally {
          await secure.close();
        }
      });
    });
  });
});
