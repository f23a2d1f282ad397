// The staging warnings libbuildpack prints about dependencies and stacks, as functions that
// return the text (the caller logs it with `**WARNING**`). Texts are libbuildpack's, byte for byte.

import { semver } from './semver-lazy.js';
import type { Manifest } from './types.js';
import type { DependencyRef } from './query.js';
import { allDependencyVersions } from './query.js';
import { findMatchingVersion, isValidConstraint, parseLenientSemver, parseStrictSemver } from './versions.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const EOL_WARNING_WINDOW_MS = 30 * DAY_MS;

const ATTENTION = '!! !!';
const CFLINUXFS2_TEXT =
  'This application is being deployed on cflinuxfs2 which is being deprecated in April, 2019.\n' +
  'Please migrate this application to cflinuxfs3.\n' +
  'For more information about changing the stack, see https://docs.cloudfoundry.org/devguide/deploy-apps/stacks.html';
const WINDOWS2016_TEXT =
  "This application is being deployed on the 'windows2016' stack which is deprecated.\n" +
  "Please restage this application to the 'windows' stack with '-s windows'.\n" +
  "Any other applications deployed to the 'windows2016' stack should also be restaged to '-s windows'.\n" +
  'For more information, see https://docs.cloudfoundry.org/devguide/deploy-apps/windows-stacks.html';

/** Which line "newer version available" looks along: same minor (`patch`, default) or same major (`minor`). */
export type VersionLine = 'patch' | 'minor';

/** The deprecation warning for a deprecated stack (cflinuxfs2, windows2016), else undefined. */
export function stackDeprecationWarning(stack: string): string | undefined {
  if (stack === 'cflinuxfs2') return `\n${ATTENTION}\n${CFLINUXFS2_TEXT}\n${ATTENTION}`;
  if (stack === 'windows2016') return `\n${ATTENTION}\n${WINDOWS2016_TEXT}\n${ATTENTION}`;
  return undefined;
}

/**
 * "A newer version of <n> is available..." when the manifest has a greater version of `dep` in
 * its line (`<major>.<minor>.x`, or `<major>.x.x` for line `minor`) for `stack`. Undefined for
 * non-semver versions, or when `dep` is already the latest of its line.
 */
export function newerVersionWarning(m: Manifest, dep: DependencyRef, stack: string | undefined, line: VersionLine = 'patch'): string | undefined {
  const v = parseStrictSemver(dep.version);
  if (v === null) return undefined;
  const constraint = line === 'minor' ? `${v.major}.x.x` : `${v.major}.${v.minor}.x`;
  let latest: string;
  try {
    latest = findMatchingVersion(constraint, allDependencyVersions(m, dep.name, stack));
  } catch {
    return undefined;
  }
  if (latest === dep.version) return undefined;
  return (
    `A newer version of ${dep.name} is available in this buildpack. ` +
    `Please adjust your app to use version ${latest} instead of version ${dep.version} as soon as possible. ` +
    `Old versions of ${dep.name} are only provided to assist in migrating to newer versions.`
  );
}

/** A warning when the version in use is a pre-release (`1.2.3-rc.1`), else undefined. */
export function preReleaseWarning(dep: DependencyRef): string | undefined {
  const v = parseStrictSemver(dep.version);
  if (v === null || v.prerelease.length === 0) return undefined;
  return `${dep.name} ${dep.version} is a pre-release version: it may change or break without notice; do not rely on it in production.`;
}

/**
 * The `dependency_deprecation_dates` entries (their indexes) that concern `dep`: the same name and
 * a `version_line` that matches the version (as a constraint when the version is semver, else by
 * equal spelling). What they say depends on the date only (endOfLifeTexts).
 */
export function deprecationsFor(m: Manifest, dep: DependencyRef): number[] {
  const version = parseLenientSemver(dep.version);
  const out: number[] = [];
  m.dependency_deprecation_dates.forEach((d, i) => {
    if (d.name !== dep.name) return;
    const matches =
      version !== null
        ? isValidConstraint(d.version_line) && semver().satisfies(version, d.version_line.replace(/\s*,\s*/g, ' '))
        : d.version_line === dep.version;
    if (matches) out.push(i);
  });
  return out;
}

/**
 * The end-of-life warnings of the deprecation entries `indexes` (deprecationsFor) at time `now`:
 * one for each whose date is less than 30 days after `now` (past dates included). Text:
 * `<n> <line> will no longer be available in new buildpacks released after <date>.` plus
 * `\nSee: <link>` when a link is given.
 */
export function endOfLifeTexts(m: Manifest, dep: DependencyRef, indexes: number[], now: Date): string[] {
  const out: string[] = [];
  for (const i of indexes) {
    const d = m.dependency_deprecation_dates[i];
    if (!d) continue;
    const eol = parseDate(d.date);
    if (eol === undefined || eol - now.getTime() >= EOL_WARNING_WINDOW_MS) continue;
    let text = `${dep.name} ${d.version_line} will no longer be available in new buildpacks released after ${d.date}.`;
    if (d.link) text += `\nSee: ${d.link}`;
    out.push(text);
  }
  return out;
}

/** End-of-life warnings for `dep` at time `now` (deprecationsFor, then endOfLifeTexts). */
export function endOfLifeWarnings(m: Manifest, dep: DependencyRef, now: Date): string[] {
  return endOfLifeTexts(m, dep, deprecationsFor(m, dep), now);
}

/** `YYYY-MM-DD` at 00:00 UTC, as Go's time.Parse("2006-01-02") reads it; undefined when malformed. */
function parseDate(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(t);
  if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3])) return undefined;
  return t;
}

/** Every warning for staging on `stack` (the deprecated-stack notice), possibly none. */
export function stackWarnings(stack: string): string[] {
  const w = stackDeprecationWarning(stack);
  return w === undefined ? [] : [w];
}

/**
 * Every warning about an installed dependency: end of life, a newer version in its line,
 * pre-release in use (the last is ours, not libbuildpack's).
 */
export function installWarnings(m: Manifest, dep: DependencyRef, stack: string | undefined, now: Date, line: VersionLine = 'patch'): string[] {
  return installWarningsFrom(m, dep, installAnswer(m, dep, stack, line), now);
}

/** What installWarnings says of `dep` that does not depend on the date: a compiled manifest carries it. */
export interface InstallAnswer {
  /** The deprecation entries that concern it (deprecationsFor). */
  eol: number[];
  newer?: string;
  prerelease?: string;
}

/** The date-free part of installWarnings for `dep` on `stack`. */
export function installAnswer(m: Manifest, dep: DependencyRef, stack: string | undefined, line: VersionLine = 'patch'): InstallAnswer {
  const newer = newerVersionWarning(m, dep, stack, line);
  const prerelease = preReleaseWarning(dep);
  return { eol: deprecationsFor(m, dep), ...(newer !== undefined ? { newer } : {}), ...(prerelease !== undefined ? { prerelease } : {}) };
}

/** installWarnings from its date-free part at time `now`: end of life, a newer version, pre-release. */
export function installWarningsFrom(m: Manifest, dep: DependencyRef, answer: InstallAnswer, now: Date): string[] {
  const out = endOfLifeTexts(m, dep, answer.eol, now);
  if (answer.newer !== undefined) out.push(answer.newer);
  if (answer.prerelease !== undefined) out.push(answer.prerelease);
  return out;
}
