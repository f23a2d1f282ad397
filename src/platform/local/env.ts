// Environment variables the platform gives buildpack scripts at staging and processes at launch
// (CONTRACT §1 staging env, §2 launcher env). Host env is passed in, never read here.

/** What identifies the app in VCAP_APPLICATION. */
export interface AppIdentity {
  name: string;
  guid: string;
  memoryMb: number;
  /** Route shown in `application_uris`. */
  uri: string;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** VCAP_APPLICATION as JSON; `processType` is set at launch only. */
export function vcapApplication(app: AppIdentity, processType?: string): string {
  const v: Record<string, unknown> = {
    application_id: app.guid,
    application_name: app.name,
    application_uris: [app.uri],
    application_version: app.guid,
    cf_api: 'http://127.0.0.1',
    limits: { disk: 1024, fds: 16384, mem: app.memoryMb },
    name: app.name,
    organization_id: '00000000-0000-0000-0000-000000000000',
    organization_name: 'local',
    space_id: '00000000-0000-0000-0000-000000000000',
    space_name: 'local',
    uris: [app.uri],
    users: null,
    version: app.guid,
  };
  if (processType) {
    v.process_id = app.guid;
    v.process_type = processType;
  }
  return JSON.stringify(v);
}

export interface StagingEnvInput {
  app: AppIdentity;
  appEnv: Record<string, string>;
  hostEnv: Record<string, string | undefined>;
  stack: string;
  home: string;
  tmpDir: string;
  vcapServices: string;
}

/** The staging env: app env, then the platform's own variables (which win). No DEPS_DIR. */
export function stagingEnv(i: StagingEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PROXY_VARS) if (i.hostEnv[k]) env[k] = i.hostEnv[k] as string;
  Object.assign(env, i.appEnv);
  return {
    ...env,
    PATH: i.hostEnv.PATH ?? DEFAULT_PATH,
    HOME: i.home,
    TMPDIR: i.tmpDir,
    LANG: 'en_US.UTF-8',
    CF_STACK: i.stack,
    MEMORY_LIMIT: `${i.app.memoryMb}m`,
    VCAP_APPLICATION: vcapApplication(i.app),
    VCAP_SERVICES: i.vcapServices,
  };
}

export interface LaunchEnvInput {
  app: AppIdentity;
  appEnv: Record<string, string>;
  hostEnv: Record<string, string | undefined>;
  /** The droplet root (`/home/vcap` on the platform). */
  home: string;
  processType: string;
  memoryMb: number;
  /** Web only. */
  port?: number;
  instanceGuid: string;
  vcapServices: string;
}

/** The env of one launched process (web or sidecar). */
export function launchEnv(i: LaunchEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    ...i.appEnv,
    PATH: i.hostEnv.PATH ?? DEFAULT_PATH,
    HOME: i.home,
    TMPDIR: `${i.home}/tmp`,
    DEPS_DIR: `${i.home}/deps`,
    LANG: 'en_US.UTF-8',
    USER: i.hostEnv.USER ?? 'vcap',
    MEMORY_LIMIT: `${i.memoryMb}m`,
    VCAP_APPLICATION: vcapApplication(i.app, i.processType),
    VCAP_SERVICES: i.vcapServices,
    INSTANCE_INDEX: '0',
    CF_INSTANCE_INDEX: '0',
    CF_INSTANCE_GUID: i.instanceGuid,
    CF_INSTANCE_IP: '127.0.0.1',
    CF_INSTANCE_INTERNAL_IP: '127.0.0.1',
    VCAP_APP_HOST: '0.0.0.0',
  };
  if (i.port !== undefined) {
    env.PORT = String(i.port);
    env.VCAP_APP_PORT = String(i.port);
    env.CF_INSTANCE_PORT = String(i.port);
    env.CF_INSTANCE_ADDR = `127.0.0.1:${i.port}`;
  }
  return env;
}
