// One attempt at fetching a URI: `node-fetch` is the HTTP client (redirect: 'manual', compress
// off, an AbortSignal for every timeout); this file keeps the fetcher's own rules around it:
// which redirects to follow and with which credentials, how a status is classified, the proxy
// (an agent from proxy-agent.ts, loaded only when one is configured), and the body handed out as
// a guarded stream (idle timeout, total deadline, short-body detection). Every way an attempt
// ends clears its timers and destroys its sockets. Retrying is fetch.ts's business.

import { createReadStream, promises as fs } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Response } from 'node-fetch';
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
const HIGH_WATER_MARK = 1024 * 1024;

// Loaded on the first http(s) request: a staging served from the cached buildpack never needs it.
let nodeFetch: Promise<typeof import('node-fetch')> | undefined;
let proxyAgents: Promise<typeof import('./proxy-agent.js')> | undefined;
// node:http and node:https too (with net and tls under them, a few ms of a staging's start)
let httpModules: Promise<[typeof import('node:http'), typeof import('node:https')]> | undefined;

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
    const exchange = await request(url, s);
    const { res } = exchange;
    const location = res.headers.get('location');
    if (REDIRECTS.has(res.status) && location) {
      exchange.end();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new AttemptError(`HTTP ${res.status} redirect to an invalid location`, false, res.status);
      }
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
    if (res.status >= 200 && res.status < 300) return guardBody(exchange, s);
    exchange.end();
    throw statusError(res, s.env, url);
  }
}

function statusError(res: Response, env: Record<string, string | undefined>, url: URL): AttemptError {
  const { status } = res;
  const text = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (status === 407) {
    const proxy = safeProxyFor(url, env);
    return new AttemptError(`proxy authentication required (${text}) at proxy ${proxy ? redactUri(proxy.href) : '?'}`, false, status);
  }
  if (status === 408 || status === 429 || status >= 500) return new AttemptError(text, true, status, retryAfter(res.headers.get('retry-after')));
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
function retryAfter(value: string | null): number | undefined {
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
  return { stream: createReadStream(file, { highWaterMark: HIGH_WATER_MARK }), size };
}

/**
 * `user:password` of a URI, percent-decoded. A bad escape (`p%zz`) is the URI's fault, not a
 * network's: a non-retryable error that names what is wrong without echoing the credentials.
 */
function credentials(url: URL, what: string): string {
  try {
    return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    throw new AttemptError(`the user name or password in ${what} has an invalid %-escape (write a literal % as %25)`, false);
  }
}

/** A request whose response headers arrived; `end` tears it down (idempotent). */
interface Exchange {
  res: Response;
  /** Abort the request (with `why` as the reason the body reports), clear timers, destroy sockets. */
  end: (why?: AttemptError) => void;
  /** Why the exchange was ended, when it was ended by a timer. */
  reason: () => AttemptError | undefined;
}

/** Issue the GET for `url`; resolves on response headers. */
async function request(url: URL, s: AttemptSettings): Promise<Exchange> {
  let proxy: URL | undefined;
  const proxyVariable = url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  try {
    proxy = proxyFor(url, s.env);
  } catch {
    throw new AttemptError(`invalid proxy URL in ${proxyVariable}`, false);
  }
  const headers: Record<string, string> = { 'user-agent': 'sidecar-buildpack', accept: '*/*' };
  if (url.username || url.password) headers.authorization = `Basic ${Buffer.from(credentials(url, 'the URI')).toString('base64')}`;
  // The proxy agents decode the proxy's credentials themselves; refuse a bad escape before they throw.
  if (proxy && (proxy.username || proxy.password)) credentials(proxy, `the proxy URL in ${proxyVariable}`);
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';

  const controller = new AbortController();
  const tls = url.protocol === 'https:' ? { ca: s.ca } : {};
  const [{ default: fetch }, agent] = await Promise.all([
    (nodeFetch ??= import('node-fetch')),
    proxy
      ? (proxyAgents ??= import('./proxy-agent.js')).then((m) => m.proxyAgent(proxy, url, { ca: s.ca, signal: controller.signal }))
      : (httpModules ??= Promise.all([import('node:http'), import('node:https')])).then(([http, https]) =>
          url.protocol === 'https:' ? new https.Agent({ keepAlive: false, ...tls }) : new http.Agent({ keepAlive: false }),
        ),
  ]);

  let reason: AttemptError | undefined;
  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  const end = (why?: AttemptError): void => {
    reason ??= why;
    timers.forEach(clearTimeout);
    if (ended) return;
    ended = true;
    controller.abort();
    agent.destroy();
  };
  timers.push(setTimeout(() => end(new AttemptError(`no response within ${s.connectTimeoutMs} ms${proxy ? ` (through proxy ${redactUri(proxy.href)})` : ''}`, true)), s.connectTimeoutMs));
  timers.push(setTimeout(() => end(deadlineError()), Math.max(0, s.deadline - Date.now())));
  try {
    const res = await fetch(bare.href, { headers, redirect: 'manual', compress: false, agent, signal: controller.signal, highWaterMark: HIGH_WATER_MARK });
    clearTimeout(timers[0]);
    // node-fetch emits 'error' on the body when aborted, listener or not: the body's consumer
    // (guardBody) reports it; here it must not crash the process.
    res.body?.on('error', () => undefined);
    return { res, end, reason: () => reason };
  } catch (e) {
    end();
    throw reason ?? networkError(e as Error & { code?: string });
  }
}

function deadlineError(): AttemptError {
  return new AttemptError(`gave up: total time limit reached`, false);
}

/** A failed request as a reason: the system error's code and message (node-fetch wraps them). */
function networkError(e: Error & { code?: string }): AttemptError {
  if (e instanceof AttemptError) return e;
  const code = e.code;
  const message = /reason: ([\s\S]*)$/.exec(e.message)?.[1] ?? e.message;
  // An untrusted certificate stays untrusted: retrying only delays the error.
  const tlsTrust = typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new AttemptError(`${code && !message.includes(code) ? `${code}: ` : ''}${message}`, !tlsTrust);
}

/**
 * The body as a stream that ends only when complete: a stall (no byte for idleTimeoutMs while we
 * are reading), a reset or fewer bytes than Content-Length destroy it with a retryable AttemptError.
 */
function guardBody(exchange: Exchange, s: AttemptSettings): FetchedBody {
  const { res } = exchange;
  const source = res.body as unknown as Readable;
  const header = res.headers.get('content-length');
  const expected = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  const body = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  // The body may fail before the consumer attaches (a short body that ends while it is still
  // creating its temp dir): the error stays in `body.errored` for the consumer's pipeline to
  // report, instead of crashing the process as an unhandled 'error' event.
  body.on('error', () => undefined);
  let received = 0;
  let ended = false;
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => exchange.end(new AttemptError(`stalled: no data for ${s.idleTimeoutMs} ms after ${received} bytes`, true)), s.idleTimeoutMs);
  };
  const fail = (fallback: string): void => {
    clearTimeout(idle);
    exchange.end();
    if (!ended && !body.destroyed) body.destroy(exchange.reason() ?? new AttemptError(fallback, true));
  };
  if (!source) {
    exchange.end();
    body.end();
    return { stream: body, size: expected };
  }
  arm();
  source.on('data', (chunk: Buffer) => {
    received += chunk.length;
    s.onProgress?.(received, expected);
    if (!body.write(chunk)) {
      // The consumer is slow, not the network: the idle clock stops while we wait for it.
      clearTimeout(idle);
      source.pause();
    } else arm();
  });
  body.on('drain', () => {
    if (ended) return;
    arm();
    source.resume();
  });
  source.on('end', () => {
    if (expected !== undefined && received !== expected) return fail(`short body: ${received} of ${expected} bytes`);
    ended = true;
    clearTimeout(idle);
    exchange.end();
    body.end();
  });
  source.on('error', () => fail(`connection lost after ${received} bytes`));
  source.on('close', () => fail(`connection closed after ${received} of ${expected ?? 'unknown'} bytes`));
  // A consumer that gives up (or fails) must not leave the socket open.
  body.on('close', () => {
    clearTimeout(idle);
    if (!ended) exchange.end();
  });
  return { stream: body, size: expected };
}
