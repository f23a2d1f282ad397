// Per-app overrides of a sidecar from the app's staging env (issue 2 §3, issue 7): NAME_VERSION,
// NAME_MEMORY, NAME_DISABLED, NAME_READINESS, NAME_READINESS_TIMEOUT, NAME = sidecar name upper-cased.

import { OverrideError } from '../errors.js';
import { parseWholeNumber } from './fields.js';
import type { SidecarSpec } from './types.js';
import { isValidConstraint } from './versions.js';

/** The suffixes an app developer may set after the sidecar's NAME_. */
export const OVERRIDE_SUFFIXES = ['VERSION', 'MEMORY', 'DISABLED', 'READINESS', 'READINESS_TIMEOUT'] as const;
export type OverrideSuffix = (typeof OVERRIDE_SUFFIXES)[number];

/**
 * The characters a constraint needs (`>=1.2.0 <1.3.0 || 2.x`). The value is only ever matched
 * against the manifest's versions, never given to a shell, but anything else is refused anyway.
 */
const CONSTRAINT_CHARS = /^[0-9A-Za-z.*^~<>=|+ -]+$/;

/** What applying the overrides gives: the spec to use, a version constraint, whether to skip it. */
export interface OverrideResult {
  /** A copy of the spec with NAME_MEMORY / NAME_READINESS / NAME_READINESS_TIMEOUT applied. */
  spec: SidecarSpec;
  /** NAME_VERSION when set: use instead of the dependency's default version. */
  versionConstraint?: string;
  /** NAME_DISABLED=true: install nothing for this sidecar and declare nothing. */
  disabled: boolean;
  /** The variables that were set (non-empty) and applied, `NAME=value`, for the staging log. */
  applied: string[];
}

/** `config-server`, `VERSION` → `CONFIG_SERVER_VERSION`. */
export function overrideVariableName(sidecarName: string, suffix: OverrideSuffix | string): string {
  return `${sidecarName.toUpperCase().replace(/-/g, '_')}_${suffix}`;
}

/** Every override variable a sidecar honours, for docs and logs. */
export function overrideVariables(sidecarName: string): string[] {
  return OVERRIDE_SUFFIXES.map((s) => overrideVariableName(sidecarName, s));
}

/**
 * Apply the app developer's overrides from `env` (the staging environment) to `spec`.
 * Unset or empty variables change nothing. Throws OverrideError naming the variable for a value
 * that is malformed, has newlines or shell metacharacters, or does not apply (a readiness
 * timeout for a sidecar without a readiness check).
 */
export function applyOverrides(spec: SidecarSpec, env: Record<string, string | undefined>): OverrideResult {
  const result: OverrideResult = { spec: cloneSpec(spec), disabled: false, applied: [] };
  const get = (suffix: OverrideSuffix): { name: string; value: string } | undefined => {
    const name = overrideVariableName(spec.name, suffix);
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    if (/[\r\n\0]/.test(raw)) throw new OverrideError(name, 'must be a single line');
    const value = raw.trim();
    result.applied.push(`${name}=${value}`);
    return { name, value };
  };

  const disabled = get('DISABLED');
  if (disabled) {
    const v = disabled.value.toLowerCase();
    if (v !== 'true' && v !== 'false') throw new OverrideError(disabled.name, `must be true or false, got ${quote(disabled.value)}`);
    result.disabled = v === 'true';
  }

  const version = get('VERSION');
  if (version) {
    if (!CONSTRAINT_CHARS.test(version.value) || !isValidConstraint(version.value)) {
      throw new OverrideError(version.name, `not a version constraint: ${quote(version.value)} (examples: 1.2.3, 1.2.x, 1.x, ">=1.2.0 <1.3.0")`);
    }
    result.versionConstraint = version.value;
  }

  const memory = get('MEMORY');
  if (memory) result.spec.memory = positive(memory.name, memory.value, 'a positive whole number of MB, e.g. 64');

  const readiness = get('READINESS');
  if (readiness) {
    const v = readiness.value.toLowerCase();
    if (v !== 'off' && v !== 'on') throw new OverrideError(readiness.name, `must be off (or on), got ${quote(readiness.value)}`);
    if (v === 'off') delete result.spec.readiness;
  }

  const timeout = get('READINESS_TIMEOUT');
  if (timeout) {
    const seconds = positive(timeout.name, timeout.value, 'a positive whole number of seconds, e.g. 60');
    if (!spec.readiness) throw new OverrideError(timeout.name, `sidecar ${spec.name} declares no readiness check to time out`);
    // NAME_READINESS=off wins: the timeout of a check that is switched off does not matter.
    if (result.spec.readiness) result.spec.readiness = { ...result.spec.readiness, timeout_seconds: seconds };
  }
  return result;
}

function positive(name: string, value: string, what: string): number {
  const n = parseWholeNumber(value);
  if (n === undefined || n < 1) throw new OverrideError(name, `must be ${what}, got ${quote(value)}`);
  return n;
}

/** Show a rejected value without letting control characters or great lengths into the log. */
function quote(value: string): string {
  const shown = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  return JSON.stringify(shown);
}

function cloneSpec(spec: SidecarSpec): SidecarSpec {
  return structuredClone(spec);
}
