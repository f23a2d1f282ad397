// The environments the platform gives processes (CONTRACT §2): staging (CC
// StagingEnvironmentBuilder + the executor's task networking vars), a long-running process — web,
// another process type, or a sidecar — (CC diego/environment.rb, desired_lrp_builder port vars,
// executor run_step networking vars, rep instance vars, the launcher's env/env.go), and a task
// (CC diego/task_environment.rb). Pure: host facts come in as arguments.

import { databaseUrl } from '../services.js';

/** What identifies the app (VCAP_APPLICATION's app part). */
export interface AppIdentity {
  name: string;
  guid: string;
  /** The web process memory in MB (the app's `memory:`). */
  memoryMb: number;
  /** The app's `disk_quota:` in MB (default 1024, CC's default_app_disk_in_mb). */
  diskMb?: number;
  /** Route shown in `application_uris` (none with `no-route`). */
  uri?: string;
}

/** Where the launcher puts HOME, TMPDIR and DEPS_DIR (the platform: /home/vcap/{app,tmp,deps}). */
export interface LauncherPaths {
  home: string;
  tmpDir: string;
  depsDir: string;
}

/** The instance's networking, as the executor and rep give it. */
export interface InstanceNet {
  /** CF_INSTANCE_IP (the cell's address) and CF_INSTANCE_INTERNAL_IP (the container's). */
  ip: string;
  internalIp: string;
  /** The host port routed to the container port (CF_INSTANCE_PORT). */
  hostPort: number;
  /** PORT: 8080 in a container; the host port where processes share the host's network. */
  containerPort: number;
}

/** The Garden default PATH inside a container. */
export const CONTAINER_PATH = '/usr/local/bin:/usr/bin:/bin';
/** CC's default LANG for buildpack apps (diego constants DEFAULT_LANG / STAGING_DEFAULT_LANG). */
export const DEFAULT_LANG = 'en_US.UTF-8';
/** capi-release's default `staging.minimum_staging_memory_mb` (NonQuotaValidatingStagingMemoryCalculator). */
export const MIN_STAGING_MEMORY_MB = 1024;
/**
 * capi-release's default `staging.minimum_staging_file_descriptor_limit`: the builder's `nofile`
 * (CC's staging_action_builder.rb sets it as the run action's resource limit).
 */
export const STAGING_FILE_DESCRIPTOR_LIMIT = 16384;
/** capi-release's default `staging.minimum_staging_disk_mb`. */
export const MIN_STAGING_DISK_MB = 4096;
/** CC's default `default_app_disk_in_mb`. */
export const DEFAULT_DISK_MB = 1024;
/** CC's `instance_file_descriptor_limit`. */
export const FDS = 16384;

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** The platform's layout under a container root (default `/home/vcap`). */
export function launcherPaths(root = '/home/vcap'): LauncherPaths {
  return { home: `${root}/app`, tmpDir: `${root}/tmp`, depsDir: `${root}/deps` };
}

/** JSON with keys sorted at every level, as Go's encoding/json marshals a map. */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value));
}

/**
 * VCAP_APPLICATION as CC's VarsBuilder builds it, before the launcher touches it (keys in
 * VarsBuilder's order, as CC's JSON has them). `process` for a long-running process; none for
 * staging and tasks (no process_id/process_type).
 */
export function vcapApplicationHash(
  app: AppIdentity,
  o: { memoryMb: number; diskMb: number; version: string; process?: { guid: string; type: string } },
): Record<string, unknown> {
  const uris = app.uri ? [app.uri] : [];
  const v: Record<string, unknown> = {
    cf_api: 'http://127.0.0.1',
    limits: { fds: FDS, mem: o.memoryMb, disk: o.diskMb },
    application_name: app.name,
    application_uris: uris,
    name: app.name,
    space_name: 'local',
    space_id: ZERO_GUID,
    organization_id: ZERO_GUID,
    organization_name: 'local',
    uris,
    users: null,
  };
  if (o.process) {
    v.process_id = o.process.guid;
    v.process_type = o.process.type;
  }
  v.application_id = app.guid;
  v.version = o.version;
  v.application_version = o.version;
  return v;
}

/** The launcher's VCAP_APPLICATION: host, instance_id, port and instance_index added when set, keys sorted. */
export function launcherVcapApplication(hash: Record<string, unknown>, env: { INSTANCE_GUID?: string; PORT?: string; INSTANCE_INDEX?: string }): string {
  const v: Record<string, unknown> = { ...hash, host: '0.0.0.0', instance_id: env.INSTANCE_GUID ?? '' };
  if (env.PORT !== undefined && /^-?\d+$/.test(env.PORT)) v.port = Number(env.PORT);
  if (env.INSTANCE_INDEX !== undefined && /^-?\d+$/.test(env.INSTANCE_INDEX)) v.instance_index = Number(env.INSTANCE_INDEX);
  return sortedJson(v);
}

export interface StagingEnvInput {
  app: AppIdentity;
  appEnv: Record<string, string>;
  /** Read for the proxy variables (the user's or operator's, CONTRACT §1) and the default PATH. */
  hostEnv: Record<string, string | undefined>;
  stack: string;
  /** HOME and TMPDIR of the staging container. */
  home: string;
  tmpDir: string;
  /** VCAP_SERVICES JSON. */
  vcapServices: string;
  /** PATH; default the host's PATH (the process-mode stager), else the container's. A container stager passes CONTAINER_PATH. */
  path?: string;
  /** CF_INSTANCE_IP / CF_INSTANCE_INTERNAL_IP of the staging container (default 127.0.0.1). */
  ip?: string;
  internalIp?: string;
  /** The staging's VCAP_APPLICATION version (CC: a fresh uuid per staging). */
  version?: string;
}

/** The staging env: staging group (none), app env, CF_STACK, VCAP_APPLICATION, MEMORY_LIMIT, VCAP_SERVICES, LANG, networking. No DEPS_DIR. */
export function stagingEnv(i: StagingEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PROXY_VARS) if (i.hostEnv[k]) env[k] = i.hostEnv[k] as string;
  Object.assign(env, i.appEnv);
  const memoryMb = Math.max(i.app.memoryMb, MIN_STAGING_MEMORY_MB);
  const diskMb = Math.max(i.app.diskMb ?? DEFAULT_DISK_MB, MIN_STAGING_DISK_MB);
  const ip = i.ip ?? '127.0.0.1';
  return {
    ...env,
    CF_STACK: i.stack,
    VCAP_APPLICATION: JSON.stringify(vcapApplicationHash(i.app, { memoryMb, diskMb, version: i.version ?? i.app.guid })),
    MEMORY_LIMIT: `${memoryMb}m`,
    VCAP_SERVICES: i.vcapServices,
    LANG: DEFAULT_LANG,
    PATH: i.path ?? i.hostEnv.PATH ?? CONTAINER_PATH,
    HOME: i.home,
    TMPDIR: i.tmpDir,
    USER: 'vcap',
    CF_INSTANCE_IP: ip,
    CF_INSTANCE_INTERNAL_IP: i.internalIp ?? ip,
    CF_INSTANCE_PORT: '',
    CF_INSTANCE_ADDR: '',
    CF_INSTANCE_PORTS: '[]',
  };
}

export interface ProcessEnvInput {
  app: AppIdentity;
  appEnv: Record<string, string>;
  launcher: LauncherPaths;
  /** The process type (`web`, `worker`) the process belongs to. */
  processType: string;
  /** The process's guid (web: the app's guid) and version (a uuid per process). */
  processGuid: string;
  processVersion: string;
  /** This process's own memory: the process's minus its sidecars' for the main one, a sidecar's own (or the process's). */
  memoryMb: number;
  diskMb?: number;
  net: InstanceNet;
  instanceGuid: string;
  instanceIndex: number;
  vcapServices: string;
  /** DATABASE_URL; default: derived from VCAP_SERVICES as the launcher does (env.go). */
  databaseUrl?: string;
  path?: string;
}

/**
 * The env of one process of a long-running instance — the main process or a sidecar: both get
 * PORT, VCAP_APP_PORT and VCAP_APP_HOST (CONTRACT §2).
 */
export function launchEnv(i: ProcessEnvInput): Record<string, string> {
  const port = String(i.net.containerPort);
  const env: Record<string, string> = {
    PORT: port,
    VCAP_APP_PORT: port,
    VCAP_APP_HOST: '0.0.0.0',
    LANG: DEFAULT_LANG,
    ...i.appEnv,
    MEMORY_LIMIT: `${i.memoryMb}m`,
    VCAP_SERVICES: i.vcapServices,
  };
  const db = i.databaseUrl ?? databaseUrlOf(i.vcapServices);
  if (db) env.DATABASE_URL = db;
  Object.assign(env, {
    INSTANCE_GUID: i.instanceGuid,
    INSTANCE_INDEX: String(i.instanceIndex),
    CF_INSTANCE_GUID: i.instanceGuid,
    CF_INSTANCE_INDEX: String(i.instanceIndex),
    CF_INSTANCE_IP: i.net.ip,
    CF_INSTANCE_INTERNAL_IP: i.net.internalIp,
    CF_INSTANCE_PORT: String(i.net.hostPort),
    CF_INSTANCE_ADDR: `${i.net.ip}:${i.net.hostPort}`,
    CF_INSTANCE_PORTS: JSON.stringify([{ external: i.net.hostPort, internal: i.net.containerPort }]),
    PATH: i.path ?? CONTAINER_PATH,
    USER: 'vcap',
    HOME: i.launcher.home,
    TMPDIR: i.launcher.tmpDir,
    DEPS_DIR: i.launcher.depsDir,
  });
  const hash = vcapApplicationHash(i.app, {
    memoryMb: i.memoryMb,
    diskMb: i.diskMb ?? i.app.diskMb ?? DEFAULT_DISK_MB,
    version: i.processVersion,
    process: { guid: i.processGuid, type: i.processType },
  });
  delete hash.users; // diego/environment.rb EXCLUDE = [:users]
  env.VCAP_APPLICATION = launcherVcapApplication(hash, env);
  return env;
}

export interface TaskEnvInput {
  app: AppIdentity;
  appEnv: Record<string, string>;
  launcher: LauncherPaths;
  memoryMb: number;
  vcapServices: string;
  /** DATABASE_URL; default: derived from VCAP_SERVICES as the launcher does. */
  databaseUrl?: string;
  /** CF_INSTANCE_IP / CF_INSTANCE_INTERNAL_IP of the task's container. */
  ip: string;
  internalIp: string;
  /** The task's VCAP_APPLICATION version (CC: a fresh uuid per task). */
  version: string;
  path?: string;
}

/**
 * A task's env: no PORT, VCAP_APP_*, INSTANCE_* or CF_INSTANCE_GUID/INDEX; empty
 * CF_INSTANCE_PORT/ADDR and CF_INSTANCE_PORTS=[]; VCAP_APPLICATION without process_id/type
 * (and, as CC's TaskEnvironment does not exclude it, with `users: null`).
 */
export function taskEnv(i: TaskEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    ...i.appEnv,
    MEMORY_LIMIT: `${i.memoryMb}m`,
    VCAP_SERVICES: i.vcapServices,
    LANG: DEFAULT_LANG,
  };
  const db = i.databaseUrl ?? databaseUrlOf(i.vcapServices);
  if (db) env.DATABASE_URL = db;
  Object.assign(env, {
    CF_INSTANCE_IP: i.ip,
    CF_INSTANCE_INTERNAL_IP: i.internalIp,
    CF_INSTANCE_PORT: '',
    CF_INSTANCE_ADDR: '',
    CF_INSTANCE_PORTS: '[]',
    PATH: i.path ?? CONTAINER_PATH,
    USER: 'vcap',
    HOME: i.launcher.home,
    TMPDIR: i.launcher.tmpDir,
    DEPS_DIR: i.launcher.depsDir,
  });
  const hash = vcapApplicationHash(i.app, { memoryMb: i.memoryMb, diskMb: DEFAULT_DISK_MB, version: i.version });
  env.VCAP_APPLICATION = launcherVcapApplication(hash, {});
  return env;
}

/** The names CC refuses in an app's env (EnvironmentVariablesValidator): the reason, or undefined. */
export function refusedEnvName(name: string): string | undefined {
  if (name === '') return 'key must be a minimum length of 1';
  if (/^VCAP_/i.test(name)) return 'cannot start with VCAP_';
  if (/^VMC/i.test(name)) return 'cannot start with VMC_';
  if (/^PORT$/i.test(name)) return 'cannot set PORT';
  return undefined;
}

/** The launcher's DATABASE_URL from a VCAP_SERVICES string (none when it is not JSON). */
export function databaseUrlOf(vcapServices: string): string | undefined {
  try {
    const parsed = JSON.parse(vcapServices) as unknown;
    return parsed && typeof parsed === 'object' ? databaseUrl(parsed as Parameters<typeof databaseUrl>[0]) : undefined;
  } catch {
    return undefined;
  }
}
