// Reads the app manifest of `cf push -f` (the cf CLI's format: applications[0] and its
// `((vars))`) and merges it under explicit AppSpec fields, as cf push does. Every key is either
// honoured or refused with a message naming it: nothing is silently ignored.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ManifestError } from '../errors.js';
import type { HealthCheckSpec, HealthCheckType } from './health-check.js';
import { refusedEnvName } from './local/env.js';
import type { ProcessSpec } from './process-spec.js';
import type { ServiceRef } from './services.js';
import type { AppSpec, UserSidecar } from './types.js';
import { interpolate, type Vars } from './vars.js';

/** The fields of `applications[0]`. */
export interface AppManifest {
  file: string;
  name?: string;
  env: Record<string, string>;
  buildpacks: string[];
  sidecars: UserSidecar[];
  memoryMb?: number;
  diskMb?: number;
  instances?: number;
  command?: string;
  stack?: string;
  /** `path:` resolved against the manifest's directory. */
  path?: string;
  /** The web process's health check (top-level `health-check-*`, `timeout`). */
  healthCheck?: Partial<HealthCheckSpec>;
  noRoute?: boolean;
  randomRoute?: boolean;
  /** `processes:`, in order (a `web` entry merges with the top-level keys, as CC does). */
  processes: ProcessSpec[];
  /** `services:`; undefined when the manifest has no such key. */
  services?: ServiceRef[];
}

const APP_KEYS = new Set([
  'name', 'path', 'buildpack', 'buildpacks', 'command', 'memory', 'disk_quota', 'instances', 'env', 'stack',
  'health-check-type', 'health-check-http-endpoint', 'health-check-invocation-timeout', 'timeout',
  'no-route', 'random-route', 'sidecars', 'processes', 'services',
]);
const PROCESS_KEYS = new Set(['type', 'command', 'memory', 'disk_quota', 'instances', 'health-check-type', 'health-check-http-endpoint', 'health-check-invocation-timeout', 'timeout']);
/** CC's maximum_health_check_timeout default. */
export const MAX_HEALTH_CHECK_TIMEOUT_S = 180;

const REFUSED_WHY: Record<string, string> = {
  routes: 'the local platform has one route per app (127.0.0.1:<port>); remove routes: or use --platform cf',
  'default-route': 'the local platform always gives the app its one local route',
  docker: 'the local platform runs buildpack apps only',
  lifecycle: 'the local platform runs the buildpack lifecycle only',
  'log-rate-limit-per-second': 'the local platform does not limit log rates',
  metadata: 'labels and annotations have no effect on the local platform',
  'readiness-health-check-type': 'readiness checks are not run by the local platform',
  'readiness-health-check-http-endpoint': 'readiness checks are not run by the local platform',
  'readiness-health-check-invocation-timeout': 'readiness checks are not run by the local platform',
  'readiness-health-check-interval': 'readiness checks are not run by the local platform',
  'health-check-interval': 'the local platform checks at its own pace',
  hosts: 'deprecated by the cf CLI: use routes:',
  host: 'deprecated by the cf CLI: use routes:',
  domain: 'deprecated by the cf CLI: use routes:',
  domains: 'deprecated by the cf CLI: use routes:',
  'no-hostname': 'deprecated by the cf CLI: use routes:',
  inherit: 'deprecated by the cf CLI and not supported',
  features: 'app features are not supported by the local platform',
  'cnb-credentials': 'the local platform runs the buildpack lifecycle only',
  user: 'processes run as vcap on the local platform',
};

function refuse(file: string, key: string, name: string): never {
  throw new ManifestError(file, key, `not supported: ${REFUSED_WHY[name] ?? `unknown key '${name}'`}`);
}

/**
 * Parse a cf memory size: an integer followed by M, MB, G or GB (any case), as the cf CLI
 * requires. Returns megabytes. Throws ManifestError otherwise.
 */
export function parseMemory(value: unknown, file: string, key: string): number {
  const text = String(value).trim();
  const m = /^(\d+)\s*(M|MB|G|GB)$/i.exec(text);
  if (!m) throw new ManifestError(file, key, `invalid memory ${JSON.stringify(text)}: use a number with M, MB, G or GB`);
  const n = Number(m[1]);
  const mb = m[2].toUpperCase().startsWith('G') ? n * 1024 : n;
  if (mb <= 0) throw new ManifestError(file, key, 'memory must be greater than 0');
  return mb;
}

function asString(v: unknown, file: string, key: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ManifestError(file, key, 'must be a string');
}

function asInt(v: unknown, file: string, key: string, min: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ManifestError(file, key, `must be an integer, not ${JSON.stringify(v)}`);
  if (n < min) throw new ManifestError(file, key, `must be greater than or equal to ${min}`);
  return n;
}

function asBool(v: unknown, file: string, key: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ManifestError(file, key, 'must be true or false');
}

function readSidecars(raw: unknown, file: string): UserSidecar[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new ManifestError(file, 'applications[0].sidecars', 'must be a list');
  return raw.map((s, i) => {
    const key = `applications[0].sidecars[${i}]`;
    if (typeof s !== 'object' || s === null) throw new ManifestError(file, key, 'must be a map');
    const e = s as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['name', 'command', 'process_types', 'memory'].includes(k)) refuse(file, `${key}.${k}`, k);
    const types = e.process_types;
    if (types != null && !Array.isArray(types)) throw new ManifestError(file, `${key}.process_types`, 'must be a list');
    const sidecar: UserSidecar = {
      name: e.name == null ? '' : asString(e.name, file, `${key}.name`),
      command: e.command == null ? '' : asString(e.command, file, `${key}.command`),
      process_types: ((types as unknown[] | undefined) ?? []).map((t, j) => asString(t, file, `${key}.process_types[${j}]`)),
    };
    if (e.memory != null) sidecar.memory = parseMemory(e.memory, file, `${key}.memory`);
    return sidecar;
  });
}

/** The `health-check-*` and `timeout` keys of an app or a process entry (CC's HealthCheckPolicy). */
function readHealthCheck(e: Record<string, unknown>, file: string, key: string): Partial<HealthCheckSpec> | undefined {
  const hc: Partial<HealthCheckSpec> = {};
  const typeRaw = e['health-check-type'];
  if (typeRaw != null) {
    const t = asString(typeRaw, file, `${key}.health-check-type`);
    // CC maps the deprecated `none` to `process` (HEALTH_CHECK_TYPE_MAPPING).
    const type = t === 'none' ? 'process' : t;
    if (!['port', 'http', 'process'].includes(type)) throw new ManifestError(file, `${key}.health-check-type`, 'must be "port", "process", or "http"');
    hc.type = type as HealthCheckType;
  }
  const endpoint = e['health-check-http-endpoint'];
  if (endpoint != null) {
    const ep = asString(endpoint, file, `${key}.health-check-http-endpoint`);
    if (!ep.startsWith('/')) throw new ManifestError(file, `${key}.health-check-http-endpoint`, `HTTP health check endpoint is not a valid URI path: ${ep}`);
    if (hc.type !== 'http') throw new ManifestError(file, `${key}.health-check-http-endpoint`, 'Health check type must be "http" to set a health check HTTP endpoint');
    hc.endpoint = ep;
  }
  if (e.timeout != null) {
    const s = asInt(e.timeout, file, `${key}.timeout`, 1);
    if (s > MAX_HEALTH_CHECK_TIMEOUT_S) throw new ManifestError(file, `${key}.timeout`, `Maximum exceeded: max ${MAX_HEALTH_CHECK_TIMEOUT_S}s`);
    hc.startTimeoutMs = s * 1000;
  }
  if (e['health-check-invocation-timeout'] != null) hc.invocationTimeoutMs = asInt(e['health-check-invocation-timeout'], file, `${key}.health-check-invocation-timeout`, 1) * 1000;
  return Object.keys(hc).length > 0 ? hc : undefined;
}

function readProcesses(raw: unknown, file: string): ProcessSpec[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new ManifestError(file, 'applications[0].processes', 'must be a list');
  const seen = new Set<string>();
  return raw.map((p, i) => {
    const key = `applications[0].processes[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new ManifestError(file, key, 'must be a map');
    const e = p as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!PROCESS_KEYS.has(k)) refuse(file, `${key}.${k}`, k);
    if (e.type == null || e.type === '') throw new ManifestError(file, `${key}.type`, 'required');
    const type = asString(e.type, file, `${key}.type`);
    if (seen.has(type)) throw new ManifestError(file, `${key}.type`, `process type '${type}' is listed twice`);
    seen.add(type);
    const spec: ProcessSpec = { type };
    if (e.command != null) spec.command = asString(e.command, file, `${key}.command`);
    if (e.memory != null) spec.memoryMb = parseMemory(e.memory, file, `${key}.memory`);
    if (e.disk_quota != null) spec.diskMb = parseMemory(e.disk_quota, file, `${key}.disk_quota`);
    if (e.instances != null) spec.instances = asInt(e.instances, file, `${key}.instances`, 0);
    const hc = readHealthCheck(e, file, key);
    if (hc) spec.healthCheck = hc;
    return spec;
  });
}

function readServices(raw: unknown, file: string): ServiceRef[] | undefined {
  if (raw == null) return undefined;
  if (!Array.isArray(raw)) throw new ManifestError(file, 'applications[0].services', 'must be a list');
  return raw.map((s, i) => {
    const key = `applications[0].services[${i}]`;
    if (typeof s === 'string') return { name: s };
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new ManifestError(file, key, 'must be a service name or {name, binding_name}');
    const e = s as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (k === 'parameters') throw new ManifestError(file, `${key}.parameters`, 'not supported: binding parameters go to a service broker, and the local platform has none');
      if (k !== 'name' && k !== 'binding_name') refuse(file, `${key}.${k}`, k);
    }
    if (typeof e.name !== 'string' || !e.name) throw new ManifestError(file, `${key}.name`, 'required (a string)');
    const ref: ServiceRef = { name: e.name };
    if (e.binding_name != null) ref.binding_name = asString(e.binding_name, file, `${key}.binding_name`);
    return ref;
  });
}

/** Parse manifest text (the file name is only for messages); `vars` fill `((name))`. */
export function parseAppManifest(text: string, file: string, vars: Vars = {}): AppManifest {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ManifestError(file, undefined, `invalid YAML: ${(e as Error).message}`, { cause: e });
  }
  doc = interpolate(doc, vars, file);
  const apps = (doc as { applications?: unknown } | null)?.applications;
  if (!Array.isArray(apps) || apps.length === 0 || typeof apps[0] !== 'object' || apps[0] === null) {
    throw new ManifestError(file, 'applications', 'must list at least one application');
  }
  for (const k of Object.keys(doc as object)) if (k !== 'applications' && k !== 'version') refuse(file, k, k);
  if (apps.length > 1) throw new ManifestError(file, 'applications', `lists ${apps.length} applications: the local platform pushes one app per manifest`);
  const app = apps[0] as Record<string, unknown>;
  for (const k of Object.keys(app)) if (!APP_KEYS.has(k)) refuse(file, `applications[0].${k}`, k);
  const env: Record<string, string> = {};
  if (app.env != null) {
    if (typeof app.env !== 'object' || Array.isArray(app.env)) throw new ManifestError(file, 'applications[0].env', 'must be a map');
    for (const [k, v] of Object.entries(app.env as Record<string, unknown>)) {
      const refused = refusedEnvName(k);
      if (refused) throw new ManifestError(file, `applications[0].env.${k}`, `Env ${refused}`);
      // cf sends every env value as a string: `8082` becomes "8082".
      env[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : asString(v, file, `applications[0].env.${k}`);
    }
  }
  let buildpacks: string[] = [];
  if (app.buildpacks != null && app.buildpack != null) throw new ManifestError(file, 'applications[0].buildpack', 'cannot be used together with buildpacks:');
  if (app.buildpacks != null) {
    if (!Array.isArray(app.buildpacks)) throw new ManifestError(file, 'applications[0].buildpacks', 'must be a list');
    buildpacks = app.buildpacks.map((b, i) => asString(b, file, `applications[0].buildpacks[${i}]`));
  } else if (app.buildpack != null) {
    buildpacks = [asString(app.buildpack, file, 'applications[0].buildpack')];
  }
  const out: AppManifest = {
    file,
    env,
    buildpacks,
    sidecars: readSidecars(app.sidecars, file),
    processes: readProcesses(app.processes, file),
  };
  const services = readServices(app.services, file);
  if (services) out.services = services;
  if (app.name != null) out.name = asString(app.name, file, 'applications[0].name');
  if (app.memory != null) out.memoryMb = parseMemory(app.memory, file, 'applications[0].memory');
  if (app.disk_quota != null) out.diskMb = parseMemory(app.disk_quota, file, 'applications[0].disk_quota');
  if (app.instances != null) out.instances = asInt(app.instances, file, 'applications[0].instances', 0);
  if (app.command != null) out.command = asString(app.command, file, 'applications[0].command');
  if (app.stack != null) out.stack = asString(app.stack, file, 'applications[0].stack');
  if (app.path != null) out.path = path.resolve(path.dirname(file), asString(app.path, file, 'applications[0].path'));
  const hc = readHealthCheck(app, file, 'applications[0]');
  if (hc) out.healthCheck = hc;
  if (app['no-route'] != null) out.noRoute = asBool(app['no-route'], file, 'applications[0].no-route');
  if (app['random-route'] != null) out.randomRoute = asBool(app['random-route'], file, 'applications[0].random-route');
  return out;
}

/** Read and parse an app manifest file. */
export async function readAppManifest(file: string, vars: Vars = {}): Promise<AppManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseAppManifest(text, file, vars);
}

/**
 * The process types to run and their settings: the manifest's top-level keys are the web
 * process's (CC: the top-level web process), merged with a `processes:` entry of type web, the
 * flags (`command`, `memoryMb`) on top. Web runs 1 instance unless told; other types 0.
 */
export function processSpecs(m: AppManifest | undefined, spec: Pick<AppSpec, 'command' | 'memoryMb' | 'instances'>): ProcessSpec[] {
  const list = (m?.processes ?? []).map((p) => ({ ...p }));
  let web = list.find((p) => p.type === 'web');
  if (!web) {
    web = { type: 'web' };
    list.unshift(web);
  }
  const top: ProcessSpec = { type: 'web' };
  if (m?.command !== undefined) top.command = m.command;
  if (m?.memoryMb !== undefined) top.memoryMb = m.memoryMb;
  if (m?.diskMb !== undefined) top.diskMb = m.diskMb;
  if (m?.instances !== undefined) top.instances = m.instances;
  if (m?.healthCheck) top.healthCheck = m.healthCheck;
  Object.assign(web, { ...top, ...stripUndefined(web), healthCheck: { ...top.healthCheck, ...web.healthCheck } });
  if (spec.command !== undefined) web.command = spec.command;
  if (spec.memoryMb !== undefined) web.memoryMb = spec.memoryMb;
  if (spec.instances !== undefined) web.instances = spec.instances;
  if (web.healthCheck && Object.keys(web.healthCheck).length === 0) delete web.healthCheck;
  return list;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Fill an AppSpec's unset fields from `spec.manifest` (interpolated with `spec.vars`), as cf push
 * lets flags win over the manifest. Buildpack entries of the manifest that name an existing
 * relative path are resolved against the manifest's directory. Env: manifest values, overridden
 * by the spec's; a name CC refuses (VCAP_*, VMC*, PORT) fails either way.
 */
export async function resolveAppSpec(spec: AppSpec): Promise<AppSpec> {
  for (const k of Object.keys(spec.env ?? {})) {
    const refused = refusedEnvName(k);
    if (refused) throw new ManifestError('--env', k, `Env ${refused}`);
  }
  if (!spec.manifest) return { ...spec, processes: spec.processes ?? processSpecs(undefined, spec) };
  const m = await readAppManifest(spec.manifest, spec.vars ?? {});
  const base = path.dirname(path.resolve(spec.manifest));
  const bps = m.buildpacks.map((b) => (/^[a-z]+:\/\//i.test(b) || path.isAbsolute(b) || !/[/.]/.test(b) ? b : path.resolve(base, b)));
  const processes = spec.processes ?? processSpecs(m, spec);
  const web = processes.find((p) => p.type === 'web');
  return {
    ...spec,
    name: spec.name ?? m.name,
    buildpacks: spec.buildpacks.length > 0 ? spec.buildpacks : bps,
    env: { ...m.env, ...(spec.env ?? {}) },
    stack: spec.stack ?? m.stack,
    memoryMb: spec.memoryMb ?? web?.memoryMb,
    diskMb: spec.diskMb ?? web?.diskMb,
    command: spec.command ?? web?.command,
    sidecars: spec.sidecars ?? m.sidecars,
    processes,
    services: spec.services ?? m.services,
    noRoute: spec.noRoute ?? m.noRoute,
    randomRoute: spec.randomRoute ?? m.randomRoute,
  };
}
