// Reads the app manifest of `cf push -f` (applications[0]: name, env, buildpacks, sidecars,
// memory, command, stack, path) and merges it under explicit AppSpec fields, as cf push does.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { ManifestError } from '../errors.js';
import type { AppSpec, UserSidecar } from './types.js';

/** The fields of `applications[0]` this project uses. */
export interface AppManifest {
  file: string;
  name?: string;
  env: Record<string, string>;
  buildpacks: string[];
  sidecars: UserSidecar[];
  memoryMb?: number;
  command?: string;
  stack?: string;
  /** `path:` resolved against the manifest's directory. */
  path?: string;
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

function readSidecars(raw: unknown, file: string): UserSidecar[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new ManifestError(file, 'applications[0].sidecars', 'must be a list');
  return raw.map((s, i) => {
    const key = `applications[0].sidecars[${i}]`;
    if (typeof s !== 'object' || s === null) throw new ManifestError(file, key, 'must be a map');
    const e = s as Record<string, unknown>;
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

/** Parse manifest text (the file name is only for messages). */
export function parseAppManifest(text: string, file: string): AppManifest {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ManifestError(file, undefined, `invalid YAML: ${(e as Error).message}`, { cause: e });
  }
  const apps = (doc as { applications?: unknown } | null)?.applications;
  if (!Array.isArray(apps) || apps.length === 0 || typeof apps[0] !== 'object' || apps[0] === null) {
    throw new ManifestError(file, 'applications', 'must list at least one application');
  }
  const app = apps[0] as Record<string, unknown>;
  const env: Record<string, string> = {};
  if (app.env != null) {
    if (typeof app.env !== 'object') throw new ManifestError(file, 'applications[0].env', 'must be a map');
    for (const [k, v] of Object.entries(app.env as Record<string, unknown>)) {
      // cf sends every env value as a string: `8082` becomes "8082".
      env[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : asString(v, file, `applications[0].env.${k}`);
    }
  }
  let buildpacks: string[] = [];
  if (app.buildpacks != null) {
    if (!Array.isArray(app.buildpacks)) throw new ManifestError(file, 'applications[0].buildpacks', 'must be a list');
    buildpacks = app.buildpacks.map((b, i) => asString(b, file, `applications[0].buildpacks[${i}]`));
  } else if (app.buildpack != null) {
    buildpacks = [asString(app.buildpack, file, 'applications[0].buildpack')];
  }
  const out: AppManifest = { file, env, buildpacks, sidecars: readSidecars(app.sidecars, file) };
  if (app.name != null) out.name = asString(app.name, file, 'applications[0].name');
  if (app.memory != null) out.memoryMb = parseMemory(app.memory, file, 'applications[0].memory');
  if (app.command != null) out.command = asString(app.command, file, 'applications[0].command');
  if (app.stack != null) out.stack = asString(app.stack, file, 'applications[0].stack');
  if (app.path != null) out.path = path.resolve(path.dirname(file), asString(app.path, file, 'applications[0].path'));
  return out;
}

/** Read and parse an app manifest file. */
export async function readAppManifest(file: string): Promise<AppManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseAppManifest(text, file);
}

/**
 * Fill an AppSpec's unset fields from `spec.manifest`, as cf push lets flags win over the
 * manifest. Buildpack entries of the manifest that name an existing relative path are resolved
 * against the manifest's directory. Env: manifest values, overridden by the spec's.
 */
export async function resolveAppSpec(spec: AppSpec): Promise<AppSpec> {
  if (!spec.manifest) return spec;
  const m = await readAppManifest(spec.manifest);
  const base = path.dirname(path.resolve(spec.manifest));
  const bps = m.buildpacks.map((b) => (/^[a-z]+:\/\//i.test(b) || path.isAbsolute(b) || !/[/.]/.test(b) ? b : path.resolve(base, b)));
  return {
    ...spec,
    name: spec.name ?? m.name,
    buildpacks: spec.buildpacks.length > 0 ? spec.buildpacks : bps,
    env: { ...m.env, ...(spec.env ?? {}) },
    stack: spec.stack ?? m.stack,
    memoryMb: spec.memoryMb ?? m.memoryMb,
    command: spec.command ?? m.command,
    sidecars: spec.sidecars ?? m.sidecars,
  };
}
