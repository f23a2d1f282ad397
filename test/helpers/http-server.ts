// Test helper: a real HTTP(S) server on 127.0.0.1:0 with per-path behaviours (serve, fail,
// stall, reset, drip, redirect, auth...), request counting, and a forward proxy (plain and
// CONNECT, optionally demanding credentials or always answering 407). No mocks: real sockets.
//
//   const server = await TestServer.start();
//   server.route('/dep.tgz', serve.sequence(serve.status(500), serve.bytes(data)));
//   await fetcher.fetchToFile(server.url('/dep.tgz'), dest);
//   expect(server.count('/dep.tgz')).to.equal(2);
//   await server.close();

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** What the server does for one request. `n` counts this path's requests, from 1. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Behaviour builders. */
export const serve = {
  /** 200 with `body`; `contentLength: false` sends it chunked (no Content-Length). */
  bytes(body: string | Buffer, options: { contentLength?: boolean; headers?: Record<string, string> } = {}): Behaviour {
    const data = Buffer.from(body);
    return (_req, res) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', ...options.headers };
      if (options.contentLength !== false) headers['content-length'] = data.length;
      res.writeHead(200, headers);
      res.end(data);
    };
  },
  /** Answer `status` with an optional text body and headers. */
  status(status: number, options: { body?: string; headers?: Record<string, string> } = {}): Behaviour {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain', ...options.headers });
      res.end(options.body ?? `status ${status}\n`);
    };
  },
  /** 429 Too Many Requests with `Retry-After: <seconds>`. */
  tooManyRequests(retryAfterSeconds: number): Behaviour {
    return serve.status(429, { headers: { 'retry-after': String(retryAfterSeconds) } });
  },
  /** Request n gets `behaviours[n-1]`; the last one repeats. */
  sequence(...behaviours: Behaviour[]): Behaviour {
    return (req, res, n) => behaviours[Math.min(n, behaviours.length) - 1](req, res, n);
  },
  /** Declare the full length, send `afterBytes`, then go silent (the socket stays open). */
  stall(body: string | Buffer, afterBytes: number): Behaviour {
    const data = Buffer.from(body);
    return (_req, res) => {
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, afterBytes));
    };
  },
  /** Declare the full length, send `afterBytes`, then reset the connection (TCP RST). */
  reset(body: string | Buffer, afterBytes: number): Behaviour {
    const data = Buffer.from(body);
    return (_req, res) => {
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, afterBytes), () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
    };
  },
  /** Declare `claimedLength` (default: body + 100) but send only `body`, then close cleanly (FIN). */
  short(body: string | Buffer, claimedLength?: number): Behaviour {
    const data = Buffer.from(body);
    return (_req, res) => {
      res.writeHead(200, { 'content-length': claimedLength ?? data.length + 100 });
      res.write(data, () => res.socket?.end());
    };
  },
  /** Send `body` in `chunkSize` pieces every `intervalMs` (a slow but live server). */
  drip(body: string | Buffer, options: { chunkSize: number; intervalMs: number }): Behaviour {
    const data = Buffer.from(body);
    return (_req, res) => {
      res.writeHead(200, { 'content-length': data.length });
      void (async () => {
        for (let at = 0; at < data.length && !res.destroyed; at += options.chunkSize) {
          res.write(data.subarray(at, at + options.chunkSize));
          await wait(options.intervalMs);
        }
        res.end();
      })();
    };
  },
  /** Redirect to `location` (absolute or relative). */
  redirect(location: string, status = 302): Behaviour {
    return (_req, res) => {
      res.writeHead(status, { location });
      res.end();
    };
  },
  /** 401 unless the request carries these basic-auth credentials; then `inner`. */
  basicAuth(user: string, password: string, inner: Behaviour): Behaviour {
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    return (req, res, n) => {
      if (req.headers.authorization !== expected) return serve.status(401, { headers: { 'www-authenticate': 'Basic realm="test"' } })(req, res, n);
      inner(req, res, n);
    };
  },
};

/** One request as the server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** Track sockets so close() can end stalled connections at once. */
function trackSockets(server: net.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** A real HTTP (or HTTPS, with `tls`) server on 127.0.0.1 and a random port. */
export class TestServer {
  readonly requests: SeenRequest[] = [];
  private readonly routes = new Map<string, Behaviour>();
  private readonly counts = new Map<string, number>();
  private sockets = new Set<Socket>();

  private constructor(private readonly server: http.Server, private readonly scheme: 'http' | 'https') {}

  /** Start listening. Unrouted paths answer 404. */
  static async start(options: { tls?: { key: string; cert: string } } = {}): Promise<TestServer> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => instance.handle(req, res);
    const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
    const instance = new TestServer(server, options.tls ? 'https' : 'http');
    instance.sockets = trackSockets(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  /** Set the behaviour of `path` (exact match on the path, query ignored). */
  route(path: string, behaviour: Behaviour): this {
    this.routes.set(path, behaviour);
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port><path>`, with `user:password@` when given. */
  url(path: string, credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
    return `${this.scheme}://${auth}127.0.0.1:${this.port}${path}`;
  }

  /** Requests received for `path` so far. */
  count(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  /** Stop: open (stalled) connections are destroyed. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (this.counts.get(p) ?? 0) + 1;
    this.counts.set(p, n);
    this.requests.push({ method: req.method ?? '', path: p, headers: req.headers });
    const behaviour = this.routes.get(p) ?? serve.status(404);
    behaviour(req, res, n);
  }
}

/** Options of {@link TestProxy}. */
export interface ProxyOptions {
  /** Demand these credentials (Proxy-Authorization: Basic); 407 otherwise. */
  auth?: { user: string; password: string };
  /** Answer every request (plain and CONNECT) with 407. */
  always407?: boolean;
}

/** A forward proxy: absolute-URI GETs are relayed; CONNECT opens a TCP tunnel. */
export class TestProxy {
  /** `GET http://...` and `CONNECT host:port` requests received, in order. */
  readonly requests: Array<{ method: string; target: string; headers: http.IncomingHttpHeaders }> = [];
  private sockets = new Set<Socket>();

  private constructor(private readonly server: http.Server) {}

  static async start(options: ProxyOptions = {}): Promise<TestProxy> {
    const server = http.createServer();
    const proxy = new TestProxy(server);
    proxy.sockets = trackSockets(server);
    const authorized = (h: http.IncomingHttpHeaders): boolean => {
      if (options.always407) return false;
      if (!options.auth) return true;
      return h['proxy-authorization'] === `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`;
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      proxy.requests.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers });
      if (!authorized(req.headers)) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' });
        return res.end();
      }
      const upstream = http.request(req.url ?? '', { method: req.method, headers: { ...req.headers, 'proxy-authorization': '' }, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      proxy.requests.push({ method: 'CONNECT', target: req.url ?? '', headers: req.headers });
      if (!authorized(req.headers)) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      proxy.sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `http://127.0.0.1:<port>`, with `user:password@` when given. */
  url(credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
    return `http://${auth}127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let cachedCert: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost (made once per process with openssl). */
export function selfSignedCert(): { key: string; cert: string } {
  if (cachedCert) return cachedCert;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sidecar-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cachedCert = { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
    return cachedCert;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
