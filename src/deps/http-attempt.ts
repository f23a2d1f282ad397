// One attempt at fetching a URI: connect (directly, through a forward proxy, or through a CONNECT
// tunnel), follow redirects, classify the status, and hand out the body as a guarded stream
// (idle timeout, total deadline, short-body detection). Retrying is fetch.ts's business.

import { createReadStream, promises as fs } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { redactText, redactUri } from '../log/redact.js';
import { proxyFor } from './proxy.js';
import type { FetchedBody, FetchOptions } from './types.js';

/** Why an attempt failed, and whether another attempt may succeed. Internal to the fetcher. */
export class AttemptError extends Error {
  constructor(reason: string, readonly retryable: boolean, readonly status?: number, readonly retryAfterMs?: number) {
    super(redactText(reason));
  }
}

/** Settings of one attempt, resolved from FetchOptions. */
export interface AttemptSettings {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxRedirects: number;
  /** Epoch ms after which the attempt (and its body) is aborted, not retried. */
  deadline: number;
  env: Record<string, string | undefined>;
  ca?: FetchOptions['ca'];
  onProgress?: FetchOptions['onProgress'];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Open `uri` (http, https or file) and return its body, following redirects. */
export async function openOnce(uri: string, s: AttemptSettings): Promise<FetchedBody> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AttemptError(`not a valid URI`, false);
  }
  if (url.protocol === 'file:') return openFile(url);
  const visited = [url.href];
  for (;;) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AttemptError(`unsupported URI scheme ${url.protocol}`, false);
    const { res, abort } = await request(url, s);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      abort();
      const next = new URL(res.headers.location, url);
      // Credentials go only to the origin they were given for.
      if (next.origin !== url.origin || next.username === '') {
        if (next.origin !== url.origin) { next.username = ''; next.password = ''; }
        else { next.username = url.username; next.password = url.password; }
      }
      if (visited.includes(next.href)) throw new AttemptError(`redirect loop: ${[...visited, next.href].map(redactUri).join(' -> ')}`, false);
      if (visited.length > s.maxRedirects) throw new AttemptError(`too many redirects (more than ${s.maxRedirects})`, false);
      visited.push(next.href);
      url = next;
      continue;
    }
    if (status >= 200 && status < 300) return guardBody(res, abort, s);
    res.resume();
    abort();
    throw statusError(res, s.env, url);
  }
}

function statusError(res: IncomingMessage, env: Record<string, string | undefined>, url: URL): AttemptError {
  const status = res.statusCode ?? 0;
  const text = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  if (status === 407) {
    const proxy = safeProxyFor(url, env);
    return new AttemptError(`proxy authentication required (${text}) at proxy ${proxy ? redactUri(proxy.href) : '?'}`, false, status);
  }
  if (status === 408 || status === 429 || status >= 500) return new AttemptError(text, true, status, retryAfter(res.headers['retry-after']));
  return new AttemptError(text, false, status);
}

function safeProxyFor(url: URL, env: Record<string, string | undefined>): URL | undefined {
  try {
    return proxyFor(url, env);
  } catch {
    return undefined;
  }
}

/** `Retry-After` as ms: delta-seconds or an HTTP date. */
function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function openFile(url: URL): Promise<FetchedBody> {
  const file = fileURLToPath(url);
  let size: number;
  let regular: boolean;
  try {
    const st = await fs.stat(file);
    ({ size } = st);
    regular = st.isFile();
  } catch (e) {
    throw new AttemptError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, false);
  }
  // A device or a fifo (file:///dev/zero, a pipe nobody writes) would stream forever or block.
  if (!regular) throw new AttemptError(`cannot read ${file}: not a regular file`, false);
  return { stream: createReadStream(file, { highWaterMark: 1024 * 1024 }), size };
}

function authHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(password)}`).toString('base64')}`;
}

/** Issue the GET for `url`; resolves on response headers. `abort` tears the attempt down. */
async function request(url: URL, s: AttemptSettings): Promise<{ res: IncomingMessage; abort: (reason?: AttemptError) => void }> {
  let proxy: URL | undefined;
  try {
    proxy = proxyFor(url, s.env);
  } catch {
    throw new AttemptError(`invalid proxy URL in ${url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'}`, false);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const headers: Record<string, string> = { 'user-agent': 'sidecar-buildpack', accept: '*/*' };
  if (url.username || url.password) headers.authorization = authHeader(url.username, url.password);
  const proxyHeaders: Record<string, string> = {};
  if (proxy && (proxy.username || proxy.password)) proxyHeaders['proxy-authorization'] = authHeader(proxy.username, proxy.password);
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';

  let tunnel: Socket | undefined;
  if (proxy && url.protocol === 'https:') tunnel = await connectTunnel(proxy, `${url.hostname}:${port}`, proxyHeaders, s);

  return new Promise((resolve, reject) => {
    const tlsOptions = { ca: s.ca, servername: isIP(host) ? undefined : host };
    let req: http.ClientRequest;
    if (tunnel) {
      const socket = tunnel;
      req = https.request({ host, port, path: bare.pathname + bare.search, headers, createConnection: () => tls.connect({ ...tlsOptions, socket }) });
    } else if (proxy) {
      req = http.request({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80), path: bare.href, headers: { ...headers, ...proxyHeaders, host: url.host }, agent: false });
    } else {
      const mod = url.protocol === 'https:' ? https : http;
      req = mod.request({ host, port, path: bare.pathname + bare.search, headers, agent: false, ...(url.protocol === 'https:' ? tlsOptions : {}) });
    }
    let reason: AttemptError | undefined;
    const timers: NodeJS.Timeout[] = [];
    const abort = (why?: AttemptError): void => {
      reason ??= why;
      timers.forEach(clearTimeout);
      req.destroy(why);
      tunnel?.destroy();
    };
    timers.push(setTimeout(() => abort(new AttemptError(`no response within ${s.connectTimeoutMs} ms`, true)), s.connectTimeoutMs));
    timers.push(setTimeout(() => abort(deadlineError()), Math.max(0, s.deadline - Date.now())));
    req.on('error', (e) => reject(reason ?? networkError(e)));
    req.on('response', (res) => {
      clearTimeout(timers[0]);
      (res as IncomingMessage & { abortReason?: () => AttemptError | undefined }).abortReason = () => reason;
      res.on('close', () => timers.forEach(clearTimeout));
      resolve({ res, abort });
    });
    req.end();
  });
}

function deadlineError(): AttemptError {
  return new AttemptError(`gave up: total time limit reached`, false);
}

function networkError(e: Error): AttemptError {
  const code = (e as NodeJS.ErrnoException).code;
  // An untrusted certificate stays untrusted: retrying only delays the error.
  const tlsTrust = typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new AttemptError(`${code ? `${code}: ` : ''}${e.message}`, !tlsTrust);
}

/** Open a CONNECT tunnel through `proxy` to `target` (host:port). */
function connectTunnel(proxy: URL, target: string, headers: Record<string, string>, s: AttemptSettings): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80), method: 'CONNECT', path: target, headers: { ...headers, host: target }, agent: false });
    const timer = setTimeout(() => req.destroy(new AttemptError(`proxy ${redactUri(proxy.href)} did not answer CONNECT within ${s.connectTimeoutMs} ms`, true)), Math.min(s.connectTimeoutMs, Math.max(0, s.deadline - Date.now())));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof AttemptError ? e : networkError(e));
    });
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if (status === 200) return resolve(socket);
      socket.destroy();
      if (status === 407) reject(new AttemptError(`proxy authentication required (HTTP 407) at proxy ${redactUri(proxy.href)}`, false, 407));
      else reject(new AttemptError(`proxy ${redactUri(proxy.href)} refused CONNECT to ${target}: HTTP ${status}`, status >= 500, status));
    });
    req.end();
  });
}

/**
 * The body as a stream that ends only when complete: a stall (no byte for idleTimeoutMs while we
 * are reading), a reset or fewer bytes than Content-Length destroy it with a retryable AttemptError.
 */
function guardBody(res: IncomingMessage, abort: (reason?: AttemptError) => void, s: AttemptSettings): FetchedBody {
  const header = res.headers['content-length'];
  const expected = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  const reasonOf = (res as IncomingMessage & { abortReason?: () => AttemptError | undefined }).abortReason ?? (() => undefined);
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  // The body may fail before the consumer attaches (a short body that ends while it is still
  // creating its temp dir): the error stays in `body.errored` for the consumer's pipeline to
  // report, instead of crashing the process as an unhandled 'error' event.
  body.on('error', () => undefined);
  let received = 0;
  let ended = false;
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => abort(new AttemptError(`stalled: no data for ${s.idleTimeoutMs} ms after ${received} bytes`, true)), s.idleTimeoutMs);
  };
  const fail = (fallback: string): void => {
    clearTimeout(idle);
    if (!ended && !body.destroyed) body.destroy(reasonOf() ?? new AttemptError(fallback, true));
  };
  arm();
  res.on('data', (chunk: Buffer) => {
    received += chunk.length;
    s.onProgress?.(received, expected);
    if (!body.write(chunk)) {
      // The consumer is slow, not the network: the idle clock stops while we wait for it.
      clearTimeout(idle);
      res.pause();
    } else arm();
  });
  body.on('drain', () => {
    if (ended) return;
    arm();
    res.resume();
  });
  res.on('end', () => {
    clearTimeout(idle);
    if (expected !== undefined && received !== expected) return fail(`short body: ${received} of ${expected} bytes`);
    ended = true;
    body.end();
  });
  res.on('error', () => fail(`connection lost after ${received} bytes`));
  res.on('close', () => fail(`connection closed after ${received} of ${expected ?? 'unknown'} bytes`));
  // A consumer that gives up (or fails) must not leave the socket open.
  body.on('close', () => {
    clearTimeout(idle);
    if (!ended) abort();
  });
  return { stream: body, size: expected };
}
