// Questions asked of a parsed manifest at staging, with libbuildpack's answers and error texts:
// stack support, the versions of a dependency for a stack, its default version, one entry.

import { accessSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyNotFoundError, ManifestError, ResolveError } from '../errors.js';
import type { Dependency, Manifest } from './types.js';
import { findMatchingVersion } from './versions.js';

/** A dependency by name and exact version (libbuildpack's `Dependency`). */
export interface DependencyRef {
  name: string;
  version: string;
}

/**
 * Whether `entry` counts for `stack` (CF_STACK): a top-level `stack:` decides for every entry;
 * otherwise the entry's `cf_stacks` must list it. `stack` undefined means "any stack" (no filter).
 */
export function entrySupportsStack(m: Manifest, entry: Dependency, stack: string | undefined): boolean {
  if (stack === undefined) return true;
  if (m.stack !== '') return m.stack === stack;
  return entry.cf_stacks.includes(stack);
}

/** The dependency entries that count for `stack`, in manifest order. */
export function dependenciesForStack(m: Manifest, stack: string | undefined): Dependency[] {
  return m.dependencies.filter((d) => entrySupportsStack(m, d, stack));
}

/**
 * libbuildpack's CheckStackSupport, minus its logging (see stackDeprecationWarning):
 * throws ResolveError `required stack <s> was not found` unless the manifest supports `stack`.
 */
export function checkStackSupport(m: Manifest, stack: string): void {
  if (m.stack !== '') {
    if (m.stack === stack) return;
  } else if (m.dependencies.length === 0 || m.dependencies.some((d) => d.cf_stacks.includes(stack))) {
    return;
  }
  throw new ResolveError(`required stack ${stack} was not found`, 'STACK_UNSUPPORTED');
}

/** Versions of `name` for `stack`, in manifest order, duplicates kept. */
export function allDependencyVersions(m: Manifest, name: string, stack: string | undefined): string[] {
  return dependenciesForStack(m, stack)
    .filter((d) => d.name === name)
    .map((d) => d.version);
}

/**
 * The default version of `name` (spelled as in the manifest): its single `default_versions` constraint resolved against
 * allDependencyVersions. Errors: `no default version for <n>`, `found <k> default versions for <n>`
 * (ResolveError), `no match found for <c> in [...]` (DependencyNotFoundError).
 */
export function defaultVersion(m: Manifest, name: string, stack: string | undefined): string {
  const defaults = m.default_versions.filter((d) => d.name === name);
  if (defaults.length === 0) throw new ResolveError(`no default version for ${name}`, 'NO_DEFAULT_VERSION');
  if (defaults.length > 1) {
    throw new ResolveError(`found ${defaults.length} default versions for ${name}`, 'MULTIPLE_DEFAULT_VERSIONS');
  }
  return findMatchingVersion(defaults[0].version, allDependencyVersions(m, name, stack));
}

/**
 * The first entry with exactly this name and version that counts for `stack`.
 * Throws DependencyNotFoundError `dependency <n> <v> not found` (listing the versions there are).
 */
export function getEntry(m: Manifest, name: string, version: string, stack: string | undefined): Dependency {
  const entry = dependenciesForStack(m, stack).find((d) => d.name === name && d.version === version);
  if (entry) return entry;
  throw new DependencyNotFoundError(version, allDependencyVersions(m, name, stack), `dependency ${name} ${version} not found`);
}

/**
 * The entry to install for `name`: the highest version matching `constraint` (an override such
 * as NAME_VERSION) or, without one, the default version. Errors as defaultVersion/getEntry.
 */
export function resolveEntry(m: Manifest, name: string, stack: string | undefined, constraint?: string): Dependency {
  const version =
    constraint === undefined ? defaultVersion(m, name, stack) : findMatchingVersion(constraint, allDependencyVersions(m, name, stack));
  return getEntry(m, name, version, stack);
}

/**
 * The one version of `name` for `stack` (libbuildpack's InstallOnlyVersion lookup). Throws
 * ResolveError `no versions of <n> found` or `more than one version of <n> found`.
 */
export function onlyVersion(m: Manifest, name: string, stack: string | undefined): string {
  const versions = allDependencyVersions(m, name, stack);
  if (versions.length === 0) throw new ResolveError(`no versions of ${name} found`, 'NO_VERSIONS');
  if (versions.length > 1) throw new ResolveError(`more than one version of ${name} found`, 'MULTIPLE_VERSIONS');
  return versions[0];
}

/** A cached buildpack has a `dependencies` directory next to its manifest.yml (even an empty one). */
export async function isCached(buildpackDir: string): Promise<boolean> {
  try {
    accessSync(join(buildpackDir, 'dependencies'));
    return true;
  } catch {
    return false;
  }
}

/** The buildpack's version: the `VERSION` file next to manifest.yml, whitespace-trimmed. */
export async function readBuildpackVersion(buildpackDir: string): Promise<string> {
  const file = join(buildpackDir, 'VERSION');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ManifestError(file, undefined, `unable to read VERSION file (${code})`, { cause: e });
  }
}
