// Service instances and bindings as Cloud Controller presents them to an app (CONTRACT §2):
// VCAP_SERVICES in the platform's shape (SystemEnvPresenter, ServiceBindingPresenter,
// ServiceInstancePresenter), DATABASE_URL (DatabaseUriGenerator), user-provided services
// (`cf create-user-provided-service`) and brokered ones read from a services file.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError, UsageError } from '../errors.js';

/** A service instance the platform knows, bindable by name. */
export interface ServiceInstance {
  name: string;
  /** `user-provided`, or the brokered service's label (e.g. `p.mysql`). */
  label: string;
  tags: string[];
  credentials: Record<string, unknown>;
  /** Brokered only: the plan's name and the (legacy) provider. */
  plan?: string;
  provider?: string | null;
  syslog_drain_url: string | null;
  volume_mounts: Array<Record<string, unknown>>;
}

/** One entry of VCAP_SERVICES, keys in the platform's order. */
export type ServiceBindingEntry = Record<string, unknown>;

/** The binding an app asks for in the app manifest's `services:` (a name, or `{name, binding_name}`). */
export interface ServiceRef {
  name: string;
  binding_name?: string;
}

/** Stable guids, so that two renders of the same binding are equal. */
function guidOf(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The VCAP_SERVICES entry of one binding. Brokered: label, provider, plan, name, tags, then the
 * binding's keys; user-provided: label, name, tags, then the binding's keys (the instance hash
 * reverse-merged into the binding's, as ServiceBindingPresenter does).
 */
export function bindingEntry(instance: ServiceInstance, ref: ServiceRef, appGuid: string): ServiceBindingEntry {
  const head: ServiceBindingEntry =
    instance.label === 'user-provided'
      ? { label: instance.label, name: ref.binding_name || instance.name, tags: instance.tags }
      : { label: instance.label, provider: instance.provider ?? null, plan: instance.plan ?? null, name: ref.binding_name || instance.name, tags: instance.tags };
  return {
    ...head,
    instance_guid: guidOf('instance', instance.name),
    instance_name: instance.name,
    binding_guid: guidOf('binding', appGuid, instance.name),
    binding_name: ref.binding_name ?? null,
    credentials: instance.credentials,
    syslog_drain_url: instance.syslog_drain_url,
    volume_mounts: instance.volume_mounts,
  };
}

/** The bound instances for `refs`, in order; an unknown name fails naming it and the known ones. */
export function bindServices(refs: ServiceRef[], catalog: ServiceInstance[], where: { file: string; key: string }): Array<{ instance: ServiceInstance; ref: ServiceRef }> {
  const seen = new Set<string>();
  return refs.map((ref, i) => {
    const instance = catalog.find((s) => s.name === ref.name);
    if (!instance) {
      const known = catalog.map((s) => s.name);
      throw new ManifestError(where.file, `${where.key}[${i}]`, `Service instance '${ref.name}' not found (known: ${known.length ? known.join(', ') : 'none; create one with --service NAME --credentials JSON or --services-file F'})`);
    }
    if (seen.has(ref.name)) throw new ManifestError(where.file, `${where.key}[${i}]`, `service '${ref.name}' is bound twice`);
    seen.add(ref.name);
    return { instance, ref };
  });
}

/** VCAP_SERVICES (an object grouped by label, bindings in order) for the bound services. */
export function vcapServices(bound: Array<{ instance: ServiceInstance; ref: ServiceRef }>, appGuid: string): Record<string, ServiceBindingEntry[]> {
  const out: Record<string, ServiceBindingEntry[]> = {};
  for (const { instance, ref } of bound) (out[instance.label] ??= []).push(bindingEntry(instance, ref, appGuid));
  return out;
}

const DB_SCHEMES: Record<string, string> = { mysql: 'mysql2', mysql2: 'mysql2', postgres: 'postgres', postgresql: 'postgres' };

/**
 * DATABASE_URL: the first bound `credentials.uri` whose scheme is mysql, mysql2, postgres or
 * postgresql, with mysql → mysql2 and postgresql → postgres (DatabaseUriGenerator); else undefined.
 */
export function databaseUrl(services: Record<string, ServiceBindingEntry[]>): string | undefined {
  for (const list of Object.values(services)) {
    for (const entry of list) {
      const uri = (entry.credentials as Record<string, unknown> | undefined)?.uri;
      if (typeof uri !== 'string') continue;
      const m = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
      const to = m ? DB_SCHEMES[m[1].toLowerCase()] : undefined;
      if (to) return `${to}${uri.slice(m![1].length)}`;
    }
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `--credentials JSON|@file`: a JSON object, inline or from a file (relative to `cwd`). */
export async function readCredentials(value: string, cwd: string, service: string): Promise<Record<string, unknown>> {
  let text = value;
  let source = `--credentials for service ${service}`;
  if (value.startsWith('@')) {
    const file = path.resolve(cwd, value.slice(1));
    source = file;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--credentials for service ${service}: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${source}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) throw new UsageError(`${source}: credentials must be a JSON object`);
  return parsed;
}

/** A user-provided service instance (`cf cups NAME -p JSON`): label `user-provided`, no plan. */
export function userProvidedService(name: string, credentials: Record<string, unknown>, tags: string[] = []): ServiceInstance {
  if (!name) throw new UsageError('--service needs a name');
  return { name, label: 'user-provided', tags, credentials, syslog_drain_url: null, volume_mounts: [] };
}

/**
 * The services of a services file: the JSON that VCAP_SERVICES would hold, `{label: [{name,
 * credentials, tags, plan, provider, ...}]}`. Each entry needs a name; the label comes from its key.
 */
export function parseServicesFile(text: string, file: string): ServiceInstance[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, undefined, `invalid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(doc)) throw new ManifestError(file, undefined, 'must be a JSON object of {label: [services]} as VCAP_SERVICES holds');
  const out: ServiceInstance[] = [];
  for (const [label, list] of Object.entries(doc)) {
    if (!Array.isArray(list)) throw new ManifestError(file, label, 'must be a list of services');
    list.forEach((e, i) => {
      const key = `${label}[${i}]`;
      if (!isObject(e)) throw new ManifestError(file, key, 'must be an object');
      const name = e.instance_name ?? e.name;
      if (typeof name !== 'string' || !name) throw new ManifestError(file, `${key}.name`, 'required (a string)');
      if (e.credentials !== undefined && !isObject(e.credentials)) throw new ManifestError(file, `${key}.credentials`, 'must be an object');
      if (e.tags !== undefined && !(Array.isArray(e.tags) && e.tags.every((t) => typeof t === 'string'))) throw new ManifestError(file, `${key}.tags`, 'must be a list of strings');
      if (e.plan !== undefined && e.plan !== null && typeof e.plan !== 'string') throw new ManifestError(file, `${key}.plan`, 'must be a string');
      if (e.volume_mounts !== undefined && !Array.isArray(e.volume_mounts)) throw new ManifestError(file, `${key}.volume_mounts`, 'must be a list');
      if (out.some((s) => s.name === name)) throw new ManifestError(file, `${key}.name`, `service '${name}' is defined twice`);
      const s: ServiceInstance = {
        name,
        label,
        tags: (e.tags as string[] | undefined) ?? [],
        credentials: (e.credentials as Record<string, unknown> | undefined) ?? {},
        syslog_drain_url: typeof e.syslog_drain_url === 'string' ? e.syslog_drain_url : null,
        volume_mounts: (e.volume_mounts as Array<Record<string, unknown>> | undefined) ?? [],
      };
      if (label !== 'user-provided') {
        s.plan = typeof e.plan === 'string' ? e.plan : undefined;
        s.provider = typeof e.provider === 'string' ? e.provider : null;
      }
      out.push(s);
    });
  }
  return out;
}

/** Read a services file (`--services-file F`). */
export async function readServicesFile(file: string): Promise<ServiceInstance[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseServicesFile(text, file);
}

/** One catalog from both sources; a name defined twice fails. */
export function serviceCatalog(...lists: ServiceInstance[][]): ServiceInstance[] {
  const all: ServiceInstance[] = [];
  for (const s of lists.flat()) {
    if (all.some((o) => o.name === s.name)) throw new UsageError(`service '${s.name}' is defined twice (--service and --services-file)`);
    all.push(s);
  }
  return all;
}
