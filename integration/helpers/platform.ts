// The platform the integration specs run on: PLATFORM=local (default, this machine) or
// PLATFORM=cf (a foundation from CF_API, CF_USERNAME, ...), plus waiting helpers over a Deployment.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CfPlatform, cfConfigFromEnv, LocalPlatform, type Deployment, type Platform } from '../../src/platform/index.js';
import { freePort } from '../../src/platform/local/ports.js';
import { FIXTURE_FINAL_BP } from './reference-buildpack.js';

export type PlatformName = 'local' | 'cf';

/** `PLATFORM` from the environment; anything but `cf` is the local platform. */
export const PLATFORM: PlatformName = process.env.PLATFORM === 'cf' ? 'cf' : 'local';

/** A platform plus the temp dir its droplets and app caches live in. */
export interface Harness {
  platform: Platform;
  name: PlatformName;
  cleanup(): Promise<void>;
}

/** The platform for this run; local restarts quickly so crash specs stay short. */
export async function makeHarness(): Promise<Harness> {
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'integration-'));
  const platform =
    PLATFORM === 'cf'
      ? new CfPlatform({ config: cfConfigFromEnv(process.env), hostEnv: process.env, workRoot })
      : new LocalPlatform({ hostEnv: { PATH: process.env.PATH, HOME: process.env.HOME }, workRoot, backoffMs: () => 200, stopGraceMs: 3000 });
  return { platform, name: PLATFORM, cleanup: () => rm(workRoot, { recursive: true, force: true }) };
}

/** The final (language) buildpack for node apps: the fixture locally, nodejs_buildpack (or CF_FINAL_BUILDPACK) on cf. */
export function finalBuildpack(): string {
  return PLATFORM === 'cf' ? (process.env.CF_FINAL_BUILDPACK ?? 'nodejs_buildpack') : FIXTURE_FINAL_BP;
}

/**
 * The port the sidecar listens on: a free one locally (processes share this machine with
 * other runs), the tutorial's 8082 on cf (each container has its own localhost).
 */
export async function sidecarPort(): Promise<string> {
  return PLATFORM === 'cf' ? '8082' : String(await freePort());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * GET `urlPath` until `ok` accepts the answer: sidecars start beside the app, not before it, so
 * the first requests may find the sidecar not listening yet. Returns the last answer.
 */
export async function getUntil(d: Deployment, urlPath: string, ok: (r: { status: number; body: string }) => boolean, attempts = 60): Promise<{ status: number; body: string }> {
  let last = { status: 0, body: '' };
  for (let i = 0; i < attempts; i++) {
    try {
      last = await d.get(urlPath);
      if (ok(last)) return last;
    } catch (e) {
      last = { status: 0, body: String(e) };
    }
    await sleep(250);
  }
  return last;
}

/** Wait until the deployment's logs contain `text` (or give up after about `timeoutMs`). */
export async function logged(d: Deployment, text: string | RegExp, timeoutMs = 20000): Promise<string> {
  const has = () => (typeof text === 'string' ? d.logs().includes(text) : text.test(d.logs()));
  for (let waited = 0; !has() && waited < timeoutMs; waited += 100) await sleep(100);
  return d.logs();
}

/** `GET /config` answered by the config-server sidecar (through the app). */
export const fromSidecar = (r: { status: number; body: string }): boolean => r.status === 200 && r.body.includes('"Scope":"some-service.admin"');
