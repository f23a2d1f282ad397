// Validates the toolkit's `sidecars:` section of manifest.yml (issue 2 §3, issue 7 "Spec") into
// SidecarSpec[], with defaults filled in. Every error names the key path, e.g. `sidecars[0].memory`.

import { FieldReader } from './fields.js';
import type { Dependency, ProbeSpec, ReadinessSpec, SidecarEnvValue, SidecarSpec } from './types.js';

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
const HTTP_PATH = /^\/[\x21-\x7e]*$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)$/;

const SIDECAR_KEYS = [
  'name', 'dependency', 'command', 'args', 'process_types', 'memory', 'env',
  'readiness', 'liveness', 'stop_grace_seconds', 'strip_components',
] as const;
const PROBE_KEYS = ['http', 'tcp', 'exec', 'initial_delay_seconds', 'period_seconds', 'timeout_seconds', 'failure_threshold'];

/** Probe defaults (issue 7): readiness polls every second, liveness every ten. */
export const PROBE_DEFAULTS = {
  readiness: { period_seconds: 1, timeout_seconds: 30, failure_threshold: 3, initial_delay_seconds: 0, on_timeout: 'fail' as const },
  liveness: { period_seconds: 10, timeout_seconds: 30, failure_threshold: 3, initial_delay_seconds: 0 },
};

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
  return specs;
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
  if (liveness) spec.liveness = liveness;
  const grace = f.optInt(m.stop_grace_seconds, `${path}.stop_grace_seconds`, 0);
  if (grace !== undefined) spec.stop_grace_seconds = grace;
  const strip = f.optInt(m.strip_components, `${path}.strip_components`, 0);
  if (strip !== undefined) spec.strip_components = strip;
  return spec;
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

function readProbe(f: FieldReader, value: unknown, path: string, kind: 'readiness' | 'liveness'): ProbeSpec | ReadinessSpec | undefined {
  const m = f.optMap(value, path);
  if (!m) return undefined;
  f.onlyKeys(m, path, kind === 'readiness' ? [...PROBE_KEYS, 'on_timeout'] : PROBE_KEYS);
  const checks = (['http', 'tcp', 'exec'] as const).filter((k) => m[k] !== undefined && m[k] !== null);
  if (checks.length !== 1) f.fail(path, `must have exactly one of http, tcp or exec${checks.length ? ` (got ${checks.join(', ')})` : ''}`);

  const d = PROBE_DEFAULTS[kind];
  const probe: ProbeSpec = {
    initial_delay_seconds: f.optInt(m.initial_delay_seconds, `${path}.initial_delay_seconds`, 0) ?? d.initial_delay_seconds,
    period_seconds: f.optInt(m.period_seconds, `${path}.period_seconds`, 1) ?? d.period_seconds,
    timeout_seconds: f.optInt(m.timeout_seconds, `${path}.timeout_seconds`, 1) ?? d.timeout_seconds,
    failure_threshold: f.optInt(m.failure_threshold, `${path}.failure_threshold`, 1) ?? d.failure_threshold,
  };
  const check = checks[0];
  const c = f.map(m[check], `${path}.${check}`);
  const cp = `${path}.${check}`;
  if (check === 'http') {
    f.onlyKeys(c, cp, ['port', 'path', 'host']);
    const urlPath = f.optString(c.path, `${cp}.path`) ?? '/';
    if (!HTTP_PATH.test(urlPath)) f.fail(`${cp}.path`, `must start with "/" and contain no spaces or control characters, got ${JSON.stringify(urlPath)}`);
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
  if (kind === 'liveness') return probe;
  const onTimeout = f.optString(m.on_timeout, `${path}.on_timeout`) ?? PROBE_DEFAULTS.readiness.on_timeout;
  if (onTimeout !== 'fail' && onTimeout !== 'continue') f.fail(`${path}.on_timeout`, `must be fail or continue, got ${JSON.stringify(onTimeout)}`);
  return { ...probe, on_timeout: onTimeout };
}

function readPort(f: FieldReader, value: unknown, path: string): number {
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

