// Validates the toolkit's `sidecars:` section of manifest.yml (issue 2 §3, issue 7 "Spec") into
// SidecarSpec[], with defaults filled in. Every error names the key path, e.g. `sidecars[0].memory`.

import { FieldReader } from './fields.js';
import { launchCommand } from '../sidecar/command.js';
import type { Dependency, LivenessSpec, ProbePort, ProbeSpec, ReadinessSpec, SidecarEnvValue, SidecarSpec, VolumeSpec } from './types.js';

/** CONTRACT §3: a sidecar name is at most 255 characters; a command at most 4096. */
export const MAX_SIDECAR_NAME = 255;
export const MAX_SIDECAR_COMMAND = 4096;
/**
 * launch.yml merges entries by `type`, so a sidecar named like a process type would replace it
 * (CONTRACT §1). These are the platform's and the buildpacks' usual process types.
 */
export const RESERVED_PROCESS_TYPES = ['web', 'worker', 'task'];

/** Lowercase letters, digits and `-`, starting with a letter so NAME_VERSION etc. are valid env names. */
const SIDECAR_NAME = /^[a-z][a-z0-9-]*$/;
const PROCESS_TYPE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$/;

const SIDECAR_KEYS = [
  'name', 'dependency', 'command', 'args', 'process_types', 'memory', 'env',
  'readiness', 'liveness', 'stop_grace_seconds', 'strip_components', 'proxy', 'tasks', 'volumes',
] as const;
const PROBE_KEYS = ['http', 'tcp', 'exec', 'initial_delay_seconds', 'period_seconds', 'timeout_seconds', 'failure_threshold'];

/**
 * Probe defaults (issue 7, issue 12 §4): readiness polls every second for up to 30 s; liveness
 * every ten seconds and acts after 3 failures in a row. A limit not listed is not applied.
 */
export const PROBE_DEFAULTS = {
  readiness: { period_seconds: 1, timeout_seconds: 30, initial_delay_seconds: 0, on_timeout: 'fail' as const },
  liveness: { period_seconds: 10, failure_threshold: 3, initial_delay_seconds: 0 },
};

/** The app's port behind a proxy sidecar when `app_port` is not given (issue 12 §1). */
export const DEFAULT_PROXY_APP_PORT = 8081;
/** The port the platform gives every process of an instance and routes to (CONTRACT §2). */
export const INSTANCE_PORT = 8080;
/** Top-level directories of /home/vcap the droplet fills: a volume there would not start empty. */
const DROPLET_DIRS = ['app', 'deps', 'profile.d'];
const VOLUME_NAME = /^[a-z][a-z0-9-]*$/;
const VOLUME_PATH = /^[A-Za-z0-9._/-]+$/;
/** `$NAME` or `${NAME}`: a probe port read from the environment at launch. */
const ENV_REF = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/;

/** The variable that holds a volume's path at launch: `varlog` → `VARLOG_VOLUME`. */
export function volumeVariable(name: string): string {
  return `${name.toUpperCase().replace(/-/g, '_')}_VOLUME`;
}

/**
 * Parse `sidecars:` (absent or empty = none). `dependencies` are the manifest's entries: each
 * sidecar's `dependency` must name one. Throws ManifestError naming `file` and the key path.
 */
export function parseSidecars(value: unknown, dependencies: readonly Dependency[], file: string): SidecarSpec[] {
  const f = new FieldReader(file);
  const specs = f.list(value, 'sidecars').map((item, i) => readSidecar(f, item, `sidecars[${i}]`, dependencies));

  const names = new Map<string, number>();
  specs.forEach((s, i) => {
    const first = names.get(s.name);
    if (first !== undefined) f.fail(`sidecars[${i}].name`, `duplicate sidecar name "${s.name}" (also sidecars[${first}])`);
    names.set(s.name, i);
  });
  // A sidecar named like a process type another sidecar runs beside would replace that process.
  specs.forEach((s, i) =>
    s.process_types.forEach((t, j) => {
      if (names.has(t)) f.fail(`sidecars[${i}].process_types[${j}]`, `"${t}" is the name of a sidecar, not a process type`);
    }),
  );
  checkProxies(f, specs);
  checkVolumes(f, specs);
  return specs;
}

/** Only one process can hold an instance's port: at most one proxy per process type. */
function checkProxies(f: FieldReader, specs: SidecarSpec[]): void {
  const byType = new Map<string, number>();
  specs.forEach((s, i) => {
    if (!s.proxy) return;
    for (const t of s.process_types) {
      const first = byType.get(t);
      if (first !== undefined) {
        f.fail(`sidecars[${i}].proxy`, `${s.name} and ${specs[first].name} (sidecars[${first}]) are both proxies for ${t}: only one process can listen on the instance's port`);
      }
      byType.set(t, i);
    }
  });
}

/** A volume name means one directory: the same name in two sidecars must name the same path. */
function checkVolumes(f: FieldReader, specs: SidecarSpec[]): void {
  const seen = new Map<string, { path: string; at: string }>();
  specs.forEach((s, i) =>
    (s.volumes ?? []).forEach((v, j) => {
      const at = `sidecars[${i}].volumes[${j}]`;
      const first = seen.get(v.name);
      if (first && first.path !== v.path) f.fail(`${at}.path`, `volume ${v.name} is ${first.path} in ${first.at}: one name, one directory`);
      if (!first) seen.set(v.name, { path: v.path, at });
    }),
  );
}

function readSidecar(f: FieldReader, value: unknown, path: string, dependencies: readonly Dependency[]): SidecarSpec {
  const m = f.map(value, path);
  f.onlyKeys(m, path, SIDECAR_KEYS);

  const name = f.string(m.name, `${path}.name`);
  if (name.length > MAX_SIDECAR_NAME) f.fail(`${path}.name`, `must be at most ${MAX_SIDECAR_NAME} characters, got ${name.length}`);
  if (!SIDECAR_NAME.test(name)) {
    f.fail(`${path}.name`, `must be lowercase letters, digits and "-", starting with a letter; got ${JSON.stringify(name)}`);
  }
  if (RESERVED_PROCESS_TYPES.includes(name)) {
    f.fail(`${path}.name`, `"${name}" is a process type name: a sidecar with this name would replace the ${name} process`);
  }

  const dependency = f.string(m.dependency, `${path}.dependency`);
  if (!dependencies.some((d) => d.name === dependency)) {
    const known = [...new Set(dependencies.map((d) => d.name))];
    f.fail(`${path}.dependency`, `"${dependency}" is not the name of an entry in dependencies (known: ${known.join(', ') || 'none'})`);
  }

  const command = f.string(m.command, `${path}.command`);
  if (command.length > MAX_SIDECAR_COMMAND) f.fail(`${path}.command`, `must be at most ${MAX_SIDECAR_COMMAND} characters, got ${command.length}`);
  if (command.includes('\0')) f.fail(`${path}.command`, 'must not contain NUL characters');
  const program = command.trim().split(/\s+/)[0];
  if (program.startsWith('/') || program.split('/').includes('..')) {
    f.fail(`${path}.command`, `must start with a path inside the installed dependency (like bin/server), got ${JSON.stringify(program)}`);
  }

  const args = f.stringList(m.args, `${path}.args`);
  args.forEach((a, i) => {
    if (a.includes('\0')) f.fail(`${path}.args[${i}]`, 'must not contain NUL characters');
  });

  const process_types = m.process_types === undefined ? ['web'] : f.stringList(m.process_types, `${path}.process_types`);
  if (process_types.length === 0) f.fail(`${path}.process_types`, 'must list at least one process type (default: [web])');
  process_types.forEach((t, i) => {
    if (!PROCESS_TYPE.test(t)) f.fail(`${path}.process_types[${i}]`, `not a process type name: ${JSON.stringify(t)}`);
    if (process_types.indexOf(t) !== i) f.fail(`${path}.process_types[${i}]`, `"${t}" is listed twice`);
  });

  const spec: SidecarSpec = { name, dependency, command, args, process_types, env: readEnv(f, m.env, `${path}.env`) };
  const memory = f.optInt(m.memory, `${path}.memory`, 1);
  if (memory !== undefined) spec.memory = memory;
  const readiness = readProbe(f, m.readiness, `${path}.readiness`, 'readiness');
  if (readiness) spec.readiness = readiness as ReadinessSpec;
  const liveness = readProbe(f, m.liveness, `${path}.liveness`, 'liveness');
  if (liveness) spec.liveness = liveness as LivenessSpec;
  const grace = f.optInt(m.stop_grace_seconds, `${path}.stop_grace_seconds`, 0);
  if (grace !== undefined) spec.stop_grace_seconds = grace;
  const strip = f.optInt(m.strip_components, `${path}.strip_components`, 0);
  if (strip !== undefined) spec.strip_components = strip;
  const proxy = readProxy(f, m.proxy, `${path}.proxy`);
  if (proxy) {
    spec.proxy = proxy;
    // A proxy's readiness runs before the proxy starts, against the app behind it: a check on
    // the proxy's own port could never pass.
    const c = spec.readiness?.http ?? spec.readiness?.tcp;
    if (c && (c.port === INSTANCE_PORT || (typeof c.port === 'object' && ['PORT', 'VCAP_APP_PORT'].includes(c.port.env)))) {
      const check = spec.readiness?.http ? 'http' : 'tcp';
      f.fail(
        `${path}.readiness.${check}.port`,
        `a proxy's readiness check runs before the proxy starts, against the app behind it: check $APP_PORT (${proxy.app_port}), not the proxy's own port`,
      );
    }
  }
  const tasks = f.optString(m.tasks, `${path}.tasks`);
  if (tasks !== undefined) {
    if (tasks !== 'true' && tasks !== 'false') f.fail(`${path}.tasks`, `must be true or false, got ${JSON.stringify(tasks)}`);
    if (tasks === 'true') {
      if (spec.proxy) f.fail(`${path}.tasks`, 'a proxy sidecar cannot run for tasks: a task has no route and no $PORT to take');
      spec.tasks = true;
    }
  }
  const volumes = readVolumes(f, m.volumes, `${path}.volumes`);
  if (volumes.length > 0) spec.volumes = volumes;
  for (const [j, v] of volumes.entries()) {
    const variable = volumeVariable(v.name);
    if (spec.env[variable]) f.fail(`${path}.volumes[${j}].name`, `its variable ${variable} is also set in ${path}.env`);
  }

  // Cloud Controller's 4096 applies to the command as launch.yml carries it: quoted, with the
  // wrapper's path in front. Checked here with the shortest index, again by supply with its own.
  const rendered = launchCommand(spec, '0').length;
  if (rendered > MAX_SIDECAR_COMMAND) {
    f.fail(`${path}.command`, `renders to ${rendered} characters in launch.yml (wrapper path and quoting included); Cloud Controller allows at most ${MAX_SIDECAR_COMMAND}`);
  }
  return spec;
}

function readProxy(f: FieldReader, value: unknown, path: string): { app_port: number } | undefined {
  if (value === undefined || value === null) return undefined;
  // `proxy: {}` or `proxy:` with keys; a bare `proxy: true` is also accepted for the default port
  if (value === 'true') return { app_port: DEFAULT_PROXY_APP_PORT };
  const m = f.map(value, path);
  f.onlyKeys(m, path, ['app_port']);
  const appPort = f.optInt(m.app_port, `${path}.app_port`, 1, 65535) ?? DEFAULT_PROXY_APP_PORT;
  if (appPort === INSTANCE_PORT) f.fail(`${path}.app_port`, `must not be ${INSTANCE_PORT}: the proxy listens there (it keeps $PORT)`);
  return { app_port: appPort };
}

function readVolumes(f: FieldReader, value: unknown, path: string): VolumeSpec[] {
  const names = new Set<string>();
  return f.list(value, path).map((item, i) => {
    const p = `${path}[${i}]`;
    const m = f.map(item, p);
    f.onlyKeys(m, p, ['name', 'path']);
    const name = f.string(m.name, `${p}.name`);
    if (!VOLUME_NAME.test(name) || name.length > 64) {
      f.fail(`${p}.name`, `must be lowercase letters, digits and "-", starting with a letter, at most 64 characters; got ${JSON.stringify(name)}`);
    }
    if (names.has(name)) f.fail(`${p}.name`, `volume ${name} is listed twice`);
    names.add(name);
    const raw = f.string(m.path, `${p}.path`);
    if (!VOLUME_PATH.test(raw)) f.fail(`${p}.path`, `may hold only letters, digits, ".", "_", "-" and "/"; got ${JSON.stringify(raw)}`);
    let rel = raw;
    if (raw.startsWith('/')) {
      if (!(raw + '/').startsWith('/home/vcap/')) f.fail(`${p}.path`, `an absolute path must be under /home/vcap (the container's home), got ${JSON.stringify(raw)}`);
      rel = raw.slice('/home/vcap'.length).replace(/^\/+/, '');
    }
    const normal = pathPosixNormalize(rel);
    if (normal === '' || normal === '.' || normal === '..' || normal.startsWith('../')) {
      f.fail(`${p}.path`, `must name a directory below /home/vcap, got ${JSON.stringify(raw)}`);
    }
    const top = normal.split('/')[0];
    if (DROPLET_DIRS.includes(top)) {
      f.fail(`${p}.path`, `must not be inside ${top}/: the droplet is unpacked there, so the volume would not start empty (use e.g. logs/${name} or ${name})`);
    }
    return { name, path: normal };
  });
}

/** posix normalize without a trailing slash. */
function pathPosixNormalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0 || out[out.length - 1] === '..') out.push('..');
      else out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

function readEnv(f: FieldReader, value: unknown, path: string): Record<string, SidecarEnvValue> {
  const m = f.optMap(value, path);
  const env: Record<string, SidecarEnvValue> = {};
  if (!m) return env;
  for (const [key, v] of Object.entries(m)) {
    const p = `${path}.${key}`;
    if (!ENV_NAME.test(key)) f.fail(p, 'not a valid environment variable name (letters, digits and _, not starting with a digit)');
    if (typeof v === 'string') {
      if (v.includes('\0')) f.fail(p, 'must not contain NUL characters');
      env[key] = { kind: 'literal', value: v };
      continue;
    }
    if (v === null || v === undefined) f.fail(p, 'must be a string or {service: {name|label|tag}, credential}; quote an empty value: ""');
    const ref = f.map(v, p);
    f.onlyKeys(ref, p, ['service', 'credential']);
    const svc = f.map(ref.service, `${p}.service`);
    f.onlyKeys(svc, `${p}.service`, ['name', 'label', 'tag']);
    const selectors = (['name', 'label', 'tag'] as const).filter((k) => svc[k] !== undefined && svc[k] !== null);
    if (selectors.length !== 1) f.fail(`${p}.service`, 'must have exactly one of name, label or tag');
    const service: { name?: string; label?: string; tag?: string } = {};
    service[selectors[0]] = f.string(svc[selectors[0]], `${p}.service.${selectors[0]}`);
    env[key] = { kind: 'service', service, credential: f.string(ref.credential, `${p}.credential`) };
  }
  return env;
}

function readProbe(f: FieldReader, value: unknown, path: string, kind: 'readiness' | 'liveness'): LivenessSpec | ReadinessSpec | undefined {
  const m = f.optMap(value, path);
  if (!m) return undefined;
  f.onlyKeys(m, path, kind === 'readiness' ? [...PROBE_KEYS, 'on_timeout'] : PROBE_KEYS);
  const checks = (['http', 'tcp', 'exec'] as const).filter((k) => m[k] !== undefined && m[k] !== null);
  if (checks.length !== 1) f.fail(path, `must have exactly one of http, tcp or exec${checks.length ? ` (got ${checks.join(', ')})` : ''}`);

  const probe: ProbeSpec = {
    initial_delay_seconds: f.optInt(m.initial_delay_seconds, `${path}.initial_delay_seconds`, 0) ?? PROBE_DEFAULTS[kind].initial_delay_seconds,
    period_seconds: f.optInt(m.period_seconds, `${path}.period_seconds`, 1) ?? PROBE_DEFAULTS[kind].period_seconds,
  };
  const timeout = f.optInt(m.timeout_seconds, `${path}.timeout_seconds`, 1);
  const threshold = f.optInt(m.failure_threshold, `${path}.failure_threshold`, 1);
  const check = checks[0];
  const c = f.map(m[check], `${path}.${check}`);
  const cp = `${path}.${check}`;
  if (check === 'http') {
    f.onlyKeys(c, cp, ['port', 'path', 'host']);
    const urlPath = f.optString(c.path, `${cp}.path`) ?? '/';
    checkHttpPath(f, urlPath, `${cp}.path`);
    probe.http = { port: readPort(f, c.port, `${cp}.port`), path: urlPath, ...readHost(f, c.host, `${cp}.host`) };
  } else if (check === 'tcp') {
    f.onlyKeys(c, cp, ['port', 'host']);
    probe.tcp = { port: readPort(f, c.port, `${cp}.port`), ...readHost(f, c.host, `${cp}.host`) };
  } else {
    f.onlyKeys(c, cp, ['command']);
    const command = f.string(c.command, `${cp}.command`);
    if (command.length > MAX_SIDECAR_COMMAND) f.fail(`${cp}.command`, `must be at most ${MAX_SIDECAR_COMMAND} characters`);
    if (command.includes('\0')) f.fail(`${cp}.command`, 'must not contain NUL characters');
    probe.exec = { command };
  }
  if (kind === 'liveness') {
    const live: LivenessSpec = { ...probe, failure_threshold: threshold ?? PROBE_DEFAULTS.liveness.failure_threshold };
    if (timeout !== undefined) live.timeout_seconds = timeout;
    return live;
  }
  const onTimeout = f.optString(m.on_timeout, `${path}.on_timeout`) ?? PROBE_DEFAULTS.readiness.on_timeout;
  if (onTimeout !== 'fail' && onTimeout !== 'continue') f.fail(`${path}.on_timeout`, `must be fail or continue, got ${JSON.stringify(onTimeout)}`);
  const ready: ReadinessSpec = { ...probe, timeout_seconds: timeout ?? PROBE_DEFAULTS.readiness.timeout_seconds, on_timeout: onTimeout };
  if (threshold !== undefined) ready.failure_threshold = threshold;
  return ready;
}

/** A literal path, or one holding `$NAME`/`${NAME}` references (checked again at launch once expanded). */
function checkHttpPath(f: FieldReader, urlPath: string, path: string): void {
  const literal = urlPath.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, '');
  const startsWithRef = /^\$/.test(urlPath);
  if (literal.includes('$')) f.fail(path, `a "$" must start a variable reference ($NAME or \${NAME}), got ${JSON.stringify(urlPath)}`);
  if (!(startsWithRef || urlPath.startsWith('/')) || !/^[\x21-\x7e]*$/.test(literal)) {
    f.fail(path, `must start with "/" (or a $VARIABLE holding such a path) and contain no spaces or control characters, got ${JSON.stringify(urlPath)}`);
  }
}

function readPort(f: FieldReader, value: unknown, path: string): ProbePort {
  if (typeof value === 'string' && value.startsWith('$')) {
    const ref = ENV_REF.exec(value);
    if (!ref) f.fail(path, `must be a port number or a variable ($NAME or \${NAME}), got ${JSON.stringify(value)}`);
    return { env: ref[1] ?? ref[2] };
  }
  const port = f.optInt(value, path, 1, 65535);
  if (port === undefined) f.fail(path, 'is required');
  return port;
}

function readHost(f: FieldReader, value: unknown, path: string): { host?: string } {
  const host = f.optString(value, path);
  if (host === undefined) return {};
  if (!HOST.test(host)) f.fail(path, `not a host name or IP address: ${JSON.stringify(host)}`);
  return { host };
}

