// The cf platform: the Platform interface over the `cf` CLI (v7/v8) against a real foundation —
// per-run CF_HOME, login from env, buildpacks uploaded from zips, push with a manifest, logs on
// failure, sidecars through `cf curl`, and everything deleted afterwards.

import { randomBytes } from 'node:crypto';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { isBuildpackError } from '../../errors.js';
import { resolveAppSpec } from '../app-manifest.js';
import type { ProcessSpec } from '../process-spec.js';
import { bindServices } from '../services.js';
import { DeployError, type AppSpec, type Deployment, type DeployPhase, type Platform, type StagingResult } from '../types.js';
import { CfClient } from './cf-client.js';
import { spawnRunner, type CommandRunner } from './command-runner.js';
import { dnsSafeName, type CfConfig } from './config.js';
import { CfDeployment, cleanup, stagingResultFrom, type Resources } from './deployment.js';
import { zipDirectory } from './zip-dir.js';

export interface CfPlatformOptions {
  config: CfConfig;
  /** The environment the `cf` CLI runs with (PATH at least); CF_HOME is set per run. */
  hostEnv: Record<string, string | undefined>;
  /** Default: spawn `cf` from PATH. */
  runner?: CommandRunner;
  /** Where per-run CF_HOME dirs and zips go (default os.tmpdir()). */
  workRoot?: string;
  /** Suffix of unique names (default 6 random hex digits). */
  uniqueSuffix?: () => string;
  /** Polling of `cf app`/`cf events` in waitUntilRunning (default 2 s). */
  pollIntervalMs?: number;
}

function phaseOf(output: string): DeployPhase {
  if (/Error staging application|StagingError|BuildpackCompileFailed|NoAppDetectedError|Staging failed/i.test(output)) return 'staging';
  if (/sidecar/i.test(output) && /conflicts|memory allocation/i.test(output)) return 'sidecars';
  return 'starting';
}

function isLocalPath(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Deploys to a real foundation through the cf CLI. */
export class CfPlatform implements Platform {
  constructor(private readonly options: CfPlatformOptions) {}

  async deploy(spec: AppSpec): Promise<Deployment> {
    let app: AppSpec;
    try {
      app = await resolveAppSpec(spec);
    } catch (e) {
      throw new DeployError('manifest', (e as Error).message, '', { cause: e });
    }
    const { config } = this.options;
    const suffix = this.options.uniqueSuffix?.() ?? randomBytes(3).toString('hex');
    const name = dnsSafeName(app.name ?? path.basename(path.resolve(app.dir)), suffix);
    const cfHome = await mkdtemp(path.join(this.options.workRoot ?? os.tmpdir(), 'cf-home-'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.options.hostEnv)) if (v !== undefined) env[k] = v;
    // Credentials travel in env (cf auth reads CF_USERNAME/CF_PASSWORD), never in argv.
    Object.assign(env, { CF_HOME: cfHome, CF_COLOR: 'false', CF_USERNAME: config.username, CF_PASSWORD: config.password });
    const cf = new CfClient(this.options.runner ?? spawnRunner(), env);
    const res: Resources = { cf, name, cfHome, buildpacks: [], services: [], appCreated: false };

    try {
      await cf.run(['api', config.api, ...(config.skipSslValidation ? ['--skip-ssl-validation'] : [])]);
      await cf.run(['auth']);
      await cf.run(['target', '-o', config.org, '-s', config.space]);
      const bpNames = await this.uploadBuildpacks(res, app.buildpacks);
      const services = await createServices(res, app, suffix);
      const manifest = path.join(cfHome, 'manifest.yml');
      await writeFile(manifest, stringify({ applications: [appManifestEntry(app, name, bpNames, services)] }));
      res.appCreated = true;
      const push = await cf.run(['push', name, '-f', manifest], true);
      if (push.code !== 0) {
        const recent = await cf.run(['logs', name, '--recent'], true);
        const output = `${push.stdout}\n${push.stderr}`;
        const message = push.stderr.trim().split('\n').pop() || 'cf push failed';
        throw new DeployError(phaseOf(output), message, `${cf.transcript()}${recent.stdout}`);
      }
      const guid = (await cf.run(['app', name, '--guid'])).stdout.trim();
      const routes = await cf.curl<{ resources?: Array<{ url?: string }> }>(`/v3/apps/${guid}/routes`);
      const host = routes.resources?.[0]?.url;
      const droplet = await cf.curl(`/v3/apps/${guid}/droplets/current`);
      const sidecars = await cf.curl(`/v3/apps/${guid}/sidecars`);
      const result: StagingResult = stagingResultFrom(droplet, sidecars);
      return new CfDeployment(res, guid, host ? `https://${host}` : '', push.stdout, result, this.options.pollIntervalMs ?? 2000);
    } catch (e) {
      const logs = cf.transcript();
      await cleanup(res);
      if (e instanceof DeployError) throw e;
      if (isBuildpackError(e)) throw new DeployError('platform', e.message, logs, { cause: e });
      throw e;
    }
  }

  /** create-buildpack (or update-buildpack when it exists) for each local dir/zip; names pass through. */
  private async uploadBuildpacks(res: Resources, buildpacks: string[]): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < buildpacks.length; i++) {
      const bp = buildpacks[i];
      if (/^[a-z]+:\/\//i.test(bp) || !(await isLocalPath(bp))) {
        names.push(bp);
        continue;
      }
      const zip = (await stat(bp)).isDirectory() ? await zipDirectory(bp, path.join(res.cfHome, `buildpack-${i}.zip`)) : bp;
      const bpName = `${res.name.replace(/-/g, '_')}_bp${i}`;
      const created = await res.cf.run(['create-buildpack', bpName, zip, '1'], true);
      if (created.code !== 0) {
        if (!/already exists/i.test(created.stdout + created.stderr)) {
          throw new DeployError('platform', `cf create-buildpack ${bpName} failed: ${created.stderr.trim()}`, res.cf.transcript());
        }
        await res.cf.run(['update-buildpack', bpName, '-p', zip]);
      }
      res.buildpacks.push(bpName);
      names.push(bpName);
    }
    return names;
  }
}

/** A process type's keys in the cf manifest format (CC's ManifestProcessUpdateMessage/ScaleMessage). */
function processKeys(p: ProcessSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.command) out.command = p.command;
  if (p.memoryMb !== undefined) out.memory = `${p.memoryMb}M`;
  if (p.diskMb !== undefined) out.disk_quota = `${p.diskMb}M`;
  if (p.instances !== undefined) out.instances = p.instances;
  const hc = p.healthCheck;
  if (hc?.type) out['health-check-type'] = hc.type;
  if (hc?.endpoint) out['health-check-http-endpoint'] = hc.endpoint;
  if (hc?.invocationTimeoutMs !== undefined) out['health-check-invocation-timeout'] = Math.round(hc.invocationTimeoutMs / 1000);
  if (hc?.startTimeoutMs !== undefined) out.timeout = Math.round(hc.startTimeoutMs / 1000);
  return out;
}

/** `applications[0]` of the manifest pushed: the resolved spec with uploaded buildpack and created service names. */
export function appManifestEntry(app: AppSpec, name: string, buildpacks: string[], services: Array<{ name: string; binding_name: string }> = []): Record<string, unknown> {
  const web = app.processes?.find((p) => p.type === 'web');
  const entry: Record<string, unknown> = { name, path: path.resolve(app.dir), buildpacks, ...(web ? processKeys(web) : {}), memory: `${app.memoryMb ?? 1024}M` };
  if (app.env && Object.keys(app.env).length > 0) entry.env = app.env;
  if (app.stack) entry.stack = app.stack;
  if (app.command) entry.command = app.command;
  if (app.diskMb !== undefined) entry.disk_quota = `${app.diskMb}M`;
  if (app.instances !== undefined) entry.instances = app.instances;
  if (app.noRoute !== undefined) entry['no-route'] = app.noRoute;
  if (app.randomRoute !== undefined) entry['random-route'] = app.randomRoute;
  if (app.sidecars && app.sidecars.length > 0) {
    entry.sidecars = app.sidecars.map((s) => ({ ...s, ...(s.memory !== undefined ? { memory: `${s.memory}M` } : {}) }));
  }
  const others = (app.processes ?? []).filter((p) => p.type !== 'web');
  if (others.length > 0) entry.processes = others.map((p) => ({ type: p.type, ...processKeys(p) }));
  if (services.length > 0) entry.services = services;
  return entry;
}

/**
 * The services to bind: user-provided ones are created with `cf create-user-provided-service`
 * under a unique name and bound with the original name as binding name (so VCAP_SERVICES shows
 * the name the app asked for); brokered ones (a services file) must already exist on the
 * foundation and are bound by name.
 */
async function createServices(res: Resources, app: AppSpec, suffix: string): Promise<Array<{ name: string; binding_name: string }>> {
  const catalog = app.serviceCatalog ?? [];
  const refs = app.services ?? catalog.map((s) => ({ name: s.name }));
  if (refs.length === 0) return [];
  const bound = bindServices(refs, catalog, { file: app.manifest ?? 'push', key: 'applications[0].services' });
  const out: Array<{ name: string; binding_name: string }> = [];
  for (const { instance, ref } of bound) {
    const bindingName = ref.binding_name ?? instance.name;
    if (instance.label !== 'user-provided') {
      out.push({ name: instance.name, binding_name: bindingName });
      continue;
    }
    const unique = dnsSafeName(instance.name, suffix);
    const args = ['create-user-provided-service', unique, '-p', JSON.stringify(instance.credentials)];
    if (instance.tags.length > 0) args.push('-t', instance.tags.join(','));
    await res.cf.run(args);
    res.services.push(unique);
    out.push({ name: unique, binding_name: bindingName });
  }
  return out;
}

export { cfConfigFromEnv, dnsSafeName, type CfConfig } from './config.js';
export { spawnRunner, type CommandRunner, type CommandResult } from './command-runner.js';
