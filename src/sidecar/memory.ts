// Cloud Controller refuses a droplet whose sidecars' memory is not below their process's
// (CONTRACT §3), without saying by how much. Supply checks first, against the staging memory
// (MEMORY_LIMIT), and names every number and where it came from (issue 12 §4).

import { SidecarMemoryError } from '../errors.js';
import { overrideVariableName } from '../manifest/overrides.js';
import type { SidecarSpec } from '../manifest/types.js';

/** Cloud Controller's default `staging.minimum_staging_memory_mb`: staging never gets less. */
export const MIN_STAGING_MEMORY_MB = 1024;

/** A sidecar as staged, with where its memory figure came from. */
export interface StagedMemory {
  spec: SidecarSpec;
  /** `CONFIG_SERVER_MEMORY` when the app set it, else the manifest key. */
  source: string;
}

/** `1024m`, `1G`, `512` → MB; undefined when unset or unreadable. */
export function parseMemoryLimit(value: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*([mMgG]?)[bB]?\s*$/.exec(value ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  return /[gG]/.test(m[2]) ? n * 1024 : n;
}

/** Where a spec's memory came from: the override variable when set, else the manifest key. */
export function memorySource(spec: SidecarSpec, env: Record<string, string | undefined>, manifestKey: string): string {
  const variable = overrideVariableName(spec.name, 'MEMORY');
  return env[variable]?.trim() ? variable : `${manifestKey}.memory`;
}

/**
 * Throws SidecarMemoryError when the sidecars for `web` together take `MEMORY_LIMIT` or more.
 * The staging memory is web's or the minimum staging memory, whichever is more — never below
 * web's — so this refuses only what Cloud Controller would refuse too.
 */
export function checkSidecarMemory(staged: StagedMemory[], memoryLimit: string | undefined): void {
  const limit = parseMemoryLimit(memoryLimit);
  if (limit === undefined) return;
  const web = staged.filter((s) => s.spec.memory !== undefined && s.spec.process_types.includes('web'));
  const total = web.reduce((sum, s) => sum + (s.spec.memory ?? 0), 0);
  if (web.length === 0 || total < limit) return;
  const part = (s: StagedMemory) => `${s.spec.name} ${s.spec.memory} MB (${s.source})`;
  // Cloud Controller stages with at least its minimum staging memory: at that figure web may
  // have less, never more, so the refusal stands but the figure is an upper bound.
  const bound = limit <= MIN_STAGING_MEMORY_MB ? ` (the staging memory: web has at most ${limit} MB)` : '';
  const fix = `: lower ${web.map((s) => s.source).join(' or ')} or give web more memory`;
  if (web.length === 1) throw new SidecarMemoryError(`${part(web[0])} is not below web's ${limit} MB${bound}${fix}`);
  throw new SidecarMemoryError(`the sidecars of web, ${web.map(part).join(' + ')} = ${total} MB, are not below web's ${limit} MB${bound}${fix}`);
}
