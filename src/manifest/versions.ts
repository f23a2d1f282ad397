// Version resolution with libbuildpack's semantics (versions.go): the highest version in a list
// that satisfies a constraint, spelled as in the list. See shared/compat/versions.json.

import type { SemVer } from 'semver';
import { semver } from './semver-lazy.js';
import { DependencyNotFoundError } from '../errors.js';

interface Candidate {
  original: string;
  version: SemVer;
  /** Numeric parts after the third (`9.4.8.1` → [1]), used only to order otherwise-equal versions. */
  tail: number[];
}

/** Masterminds/semver's lenient syntax: optional `v`, 1–3 numeric parts, pre-release, build. */
const LENIENT = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/**
 * libbuildpack truncates 4-part versions (`9.4.8.0`) to their first three parts before parsing,
 * keeping the original spelling for output.
 */
function splitTail(v: string): { head: string; tail: number[] } {
  const parts = v.split('.');
  if (parts.length <= 3) return { head: v, tail: [] };
  return { head: parts.slice(0, 3).join('.'), tail: parts.slice(3).map((p) => (/^\d+$/.test(p) ? Number(p) : 0)) };
}

/** Strict SemVer 2.0 (blang/semver): exactly `X.Y.Z[-pre][+build]`, no `v` prefix. */
export function parseStrictSemver(v: string): SemVer | null {
  if (v !== v.trim() || /^[vV=]/.test(v)) return null;
  return semver().parse(v);
}

/** True when `v` is a strict SemVer version (`1.2.3`, not `v79`, `1`, or `9.4.8.0`). */
export function isSemver(v: string): boolean {
  return parseStrictSemver(v) !== null;
}

/** Lenient parse as Masterminds/semver does: `1` → 1.0.0, `v79` → 79.0.0, `1.2` → 1.2.0. */
export function parseLenientSemver(v: string): SemVer | null {
  const m = LENIENT.exec(v);
  if (!m) return null;
  const core = `${Number(m[1])}.${Number(m[2] ?? 0)}.${Number(m[3] ?? 0)}`;
  return semver().parse(core + (m[4] ? `-${m[4]}` : '') + (m[5] ? `+${m[5]}` : ''), { loose: true });
}

/** libbuildpack (Masterminds) accepts `>=1.2.0, <1.2.4`; node-semver wants spaces for AND. */
function normalizeConstraint(constraint: string): string | null {
  const c = constraint.trim().replace(/\s*,\s*/g, ' ');
  if (c === '') return null;
  return semver().validRange(c) === null ? null : c;
}

/** True when `constraint` is a version constraint the resolver understands (`1.2.x`, `>=1 <2`, `1.2.3`). */
export function isValidConstraint(constraint: string): boolean {
  return normalizeConstraint(constraint) !== null;
}

function byVersion(a: Candidate, b: Candidate): number {
  const c = semver().compare(a.version, b.version);
  if (c !== 0) return c;
  for (let i = 0; i < Math.max(a.tail.length, b.tail.length); i++) {
    const d = (a.tail[i] ?? 0) - (b.tail[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function candidates(versions: readonly string[], parse: (v: string) => SemVer | null): Candidate[] | null {
  const out: Candidate[] = [];
  for (const original of versions) {
    const { head, tail } = splitTail(original);
    const version = parse(head);
    if (version === null) return null;
    out.push({ original, version, tail });
  }
  return out;
}

/**
 * Every version in `versions` satisfying `constraint`, ascending, spelled as in `versions`.
 *
 * Like libbuildpack: first the strict pass (blang/semver: used only when every version is strict
 * SemVer; pre-releases match ranges), then the lenient pass (Masterminds: `1`, `v79` parse;
 * pre-releases match only a constraint naming one). Deviations: versions that do not parse at all
 * (`abc-1.2.3-def-4.5.6`) are skipped instead of failing the whole lookup, and a constraint that
 * is not a range (a non-semver default like `abc-1.2.3-def-4.5.6`) matches by exact spelling.
 *
 * Throws DependencyNotFoundError: `no match found for <c> in [<v1> <v2>]` (the original list).
 */
export function findMatchingVersions(constraint: string, versions: readonly string[]): string[] {
  const range = normalizeConstraint(constraint);
  if (range !== null) {
    const strict = candidates(versions, parseStrictSemver);
    if (strict !== null) {
      const hits = strict.filter((c) => semver().satisfies(c.version, range, { includePrerelease: true }));
      if (hits.length > 0) return hits.sort(byVersion).map((c) => c.original);
    }
    const lenient: Candidate[] = [];
    for (const original of versions) {
      const { head, tail } = splitTail(original);
      const version = parseLenientSemver(head);
      if (version !== null) lenient.push({ original, version, tail });
    }
    const hits = lenient.filter((c) => semver().satisfies(c.version, range));
    if (hits.length > 0) return hits.sort(byVersion).map((c) => c.original);
  } else {
    const exact = versions.filter((v) => v === constraint);
    if (exact.length > 0) return exact;
  }
  throw new DependencyNotFoundError(constraint, [...versions]);
}

/** The greatest version in `versions` satisfying `constraint` (see findMatchingVersions). */
export function findMatchingVersion(constraint: string, versions: readonly string[]): string {
  const all = findMatchingVersions(constraint, versions);
  return all[all.length - 1];
}
