// The web process's startup health check as Diego runs it (CONTRACT §2; cloudfoundry/healthcheck,
// executor health_check_step.go, CC app_recipe_builder.rb): `port` (default) dials the port,
// `http` GETs an endpoint and wants 200, each try with a 1 s timeout; `process` has no check.
// The texts are the platform's.

import net from 'node:net';
import http from 'node:http';
import { goDuration } from './backoff.js';

export type HealthCheckType = 'port' | 'http' | 'process';

export interface HealthCheckSpec {
  type: HealthCheckType;
  /** `http` only (default `/`). */
  endpoint?: string;
  /** The start timeout in ms (`timeout:`; default 60 s). */
  startTimeoutMs?: number;
  /** One try's timeout in ms (`health-check-invocation-timeout:`; default 1 s). */
  invocationTimeoutMs?: number;
}

/** Where the check dials: the container's first non-loopback IPv4 address and the app port. */
export interface HealthCheckTarget {
  host: string;
  port: number;
  /** The port check: does host:port accept a TCP connection within `timeoutMs`? Default: dial it. */
  portOpen?(timeoutMs: number): Promise<boolean>;
  /** A connection to host:port for the HTTP check (a container's is made inside its network). Default: dial it. */
  connect?(): net.Socket | Promise<net.Socket>;
}

export const DEFAULT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_INVOCATION_TIMEOUT_MS = 1_000;

/** One try: undefined when healthy, else the healthcheck binary's message. */
export function checkOnce(spec: HealthCheckSpec, target: HealthCheckTarget, timeoutMs: number): Promise<string | undefined> {
  if (spec.type === 'process') return Promise.resolve(undefined);
  if (spec.type === 'port') return portTry(target, timeoutMs);
  return httpTry(spec.endpoint ?? '/', target, timeoutMs);
}

async function portTry(t: HealthCheckTarget, timeoutMs: number): Promise<string | undefined> {
  const addr = `${t.host}:${t.port}`;
  if (t.portOpen) return (await t.portOpen(timeoutMs)) ? undefined : `failed to make TCP connection to ${addr}: dial tcp ${addr}: connect: connection refused`;
  return new Promise((resolve) => {
    const sock = net.connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(`failed to make TCP connection to ${addr}: timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(undefined);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.message;
      resolve(`failed to make TCP connection to ${addr}: dial tcp ${addr}: ${why}`);
    });
  });
}

async function httpTry(endpoint: string, t: HealthCheckTarget, timeoutMs: number): Promise<string | undefined> {
  const started = Date.now();
  const socket = t.connect ? await t.connect() : undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: string | undefined) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(v);
      }
    };
    const refused = `failed to make HTTP request to '${endpoint}' on port ${t.port}: connection refused`;
    const req = http.get(
      {
        host: t.host,
        port: t.port,
        path: endpoint,
        headers: { 'User-Agent': 'diego-healthcheck', 'X-Forwarded-Proto': 'https' },
        // createConnection is only used without an agent (agent: false would make one and dial host:port itself)
        ...(socket ? { createConnection: () => socket } : { agent: false }),
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          finish(res.statusCode === 200 ? undefined : `failed to make HTTP request to '${endpoint}' on port ${t.port}: received status code ${res.statusCode} in ${Date.now() - started}ms`);
        });
        res.once('error', () => finish(refused));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(`failed to make HTTP request to '${endpoint}' on port ${t.port}: timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    }, timeoutMs);
    req.once('error', () => finish(refused));
  });
}

export type StartupOutcome =
  | { healthy: true }
  | { healthy: false; cancelled: true }
  | {
      healthy: false;
      cancelled: false;
      /** The last try's message (the healthcheck's stderr line). */
      lastError: string;
      /** `Failed after 1m0s: startup health check never passed.` (CELL/0 ERR). */
      logLine: string;
      /** The crash's exit_description: `Instance never healthy after 1m0s: <lastError>`. */
      crashReason: string;
    };

/** The startup check's longest pause between tries: an app that starts listening is seen within it. */
export const STARTUP_POLL_MAX_MS = 10;

/**
 * Run the startup check until it passes, `cancelled()` turns true, or the start timeout ends.
 * Tries poll from 5 ms backing off to `intervalMs` (default STARTUP_POLL_MAX_MS) so a fast app is seen quickly. The start
 * timeout is real time (the time scale compresses back-off, not how fast an app starts).
 */
export async function waitForStartup(
  spec: HealthCheckSpec,
  target: HealthCheckTarget,
  o: { cancelled: () => boolean; intervalMs?: number; sleep?: (ms: number) => Promise<void> },
): Promise<StartupOutcome> {
  if (spec.type === 'process') return { healthy: true };
  const startTimeout = spec.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const tryMs = Math.min(spec.invocationTimeoutMs ?? DEFAULT_INVOCATION_TIMEOUT_MS, Math.max(startTimeout, 50));
  const deadline = Date.now() + startTimeout;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxInterval = o.intervalMs ?? STARTUP_POLL_MAX_MS;
  let interval = Math.min(5, maxInterval);
  let lastError = '';
  for (;;) {
    if (o.cancelled()) return { healthy: false, cancelled: true };
    const err = await checkOnce(spec, target, tryMs);
    if (o.cancelled()) return { healthy: false, cancelled: true };
    if (err === undefined) return { healthy: true };
    lastError = err;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(interval, Math.max(deadline - Date.now(), 0)));
    interval = Math.min(interval * 2, maxInterval);
  }
  const after = goDuration(startTimeout);
  return {
    healthy: false,
    cancelled: false,
    lastError,
    logLine: `Failed after ${after}: startup health check never passed.`,
    crashReason: `Instance never healthy after ${after}: ${lastError}`,
  };
}
