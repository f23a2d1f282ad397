// Cloud Controller's sidecar rules (CONTRACT §3) with its own messages: field validation, user
// vs buildpack name conflicts, and sidecar memory below the dependent process's memory.

import type { StagedSidecar, UserSidecar } from '../types.js';

/** A sidecar as Cloud Controller stores it for an app. */
export interface AppSidecar {
  name: string;
  command: string;
  process_types: string[];
  memory?: number;
  origin: 'user' | 'buildpack';
}

/** A rule's outcome: the app's sidecars, or the platform's message. */
export type RuleResult = { ok: true; sidecars: AppSidecar[] } | { ok: false; message: string };

/** SidecarCreateMessage's validations; returns the first failing message. */
export function validateSidecarFields(s: { name: string; command: string; process_types: string[]; memory?: number }): string | undefined {
  if (!s.name) return "Name can't be blank";
  if (s.name.length > 255) return 'Name is too long (maximum is 255 characters)';
  if (!s.command) return "Command can't be blank";
  if (s.command.length > 4096) return 'Command is too long (maximum is 4096 characters)';
  if (!s.process_types || s.process_types.length === 0) return 'Process types must have at least 1 process_type';
  if (s.memory !== undefined && (!Number.isInteger(s.memory) || s.memory <= 0)) return 'Memory in mb must be greater than 0';
  return undefined;
}

/**
 * Add one sidecar to `existing`, as SidecarCreate does: the memory of all sidecars of each
 * dependent process (this one included) must stay below that process's memory. Processes that
 * do not exist (`processMemory` has no entry) are not checked.
 */
function addSidecar(existing: AppSidecar[], s: AppSidecar, processMemory: Record<string, number>): string | undefined {
  const invalid = validateSidecarFields(s);
  if (invalid) return invalid;
  if (existing.some((e) => e.name === s.name)) return `Sidecar with name '${s.name}' already exists for given app`;
  for (const type of s.process_types) {
    const limit = processMemory[type];
    if (limit === undefined) continue;
    const total = existing.filter((e) => e.process_types.includes(type)).reduce((sum, e) => sum + (e.memory ?? 0), 0) + (s.memory ?? 0);
    if (total >= limit) return `The memory allocation defined is too large to run with the dependent "${type}" process`;
  }
  existing.push(s);
  return undefined;
}

/** Apply the app manifest's sidecars (origin user), checked against the app's processes. */
export function applyUserSidecars(user: UserSidecar[], processMemory: Record<string, number>): RuleResult {
  const sidecars: AppSidecar[] = [];
  for (const u of user) {
    const msg = addSidecar(sidecars, { ...u, process_types: [...u.process_types], origin: 'user' }, processMemory);
    if (msg) return { ok: false, message: msg };
  }
  return { ok: true, sidecars };
}

/**
 * Synchronise a new droplet's sidecars (SidecarSynchronizeFromAppDroplet): drop the previous
 * buildpack sidecars, refuse a name taken by a user sidecar, create the rest (origin buildpack).
 */
export function syncDropletSidecars(
  current: AppSidecar[],
  droplet: StagedSidecar[] | null,
  processMemory: Record<string, number>,
): RuleResult {
  const sidecars = current.filter((s) => s.origin === 'user');
  for (const d of droplet ?? []) {
    if (sidecars.some((s) => s.name === d.name && s.origin === 'user')) {
      return {
        ok: false,
        message: `Buildpack defined sidecar '${d.name}' conflicts with an existing user-defined sidecar. Consider renaming '${d.name}'.`,
      };
    }
    const s: AppSidecar = { name: d.name, command: d.command, process_types: [...d.process_types], origin: 'buildpack' };
    if (d.memory !== undefined) s.memory = d.memory;
    const msg = addSidecar(sidecars, s, processMemory);
    if (msg) return { ok: false, message: msg };
  }
  return { ok: true, sidecars };
}

/** Memory per process type: web gets the app's memory, any other type the platform default. */
export function processMemoryMap(types: string[], webMemoryMb: number, defaultMb = 1024): Record<string, number> {
  const out: Record<string, number> = { web: webMemoryMb };
  for (const t of types) if (t !== 'web') out[t] = defaultMb;
  return out;
}
