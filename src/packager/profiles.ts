// Packaging profiles (libbuildpack extra): a cached zip may leave out dependencies, named by a
// `packaging_profiles:` entry of the manifest and/or --exclude, with --include restoring some.

import { isMap } from 'yaml';
import { PackagerError } from '../errors.js';
import { listOf, rootMap, scalarOf, topSeq, type ManifestDocument } from './manifest-doc.js';

export interface ExclusionOptions {
  profile?: string;
  exclude?: string[];
  include?: string[];
}

export interface Exclusions {
  /** Dependency names left out of the zip and its manifest. */
  excluded: Set<string>;
  /** Zip name part after `-cached`: `-<profile>`, `-<profile>+custom`, `-custom` or ''. */
  variant: string;
}

const PROFILE_NAME = /^[a-z0-9_-]+$/;

function fail(message: string): never {
  throw new PackagerError(message, 'PROFILE_INVALID');
}

/**
 * Resolve the exclusions: the profile's exclude list, plus --exclude, minus --include. Every
 * name must be a dependency of the manifest; an --include must undo an exclusion; all of it is
 * for cached zips only. Error texts follow libbuildpack's.
 */
export function resolveExclusions(m: ManifestDocument, cached: boolean, options: ExclusionOptions): Exclusions {
  const exclude = options.exclude ?? [];
  const include = options.include ?? [];
  const profile = options.profile;
  if (profile === undefined && exclude.length === 0 && include.length === 0) return { excluded: new Set(), variant: '' };
  if (!cached) fail('--profile, --exclude and --include are only valid for cached buildpacks');
  if (include.length > 0 && profile === undefined) fail('--include requires --profile');

  const names = new Set((topSeq(m, 'dependencies')?.items ?? []).map((d) => scalarOf(d, 'name')));
  const excluded = new Set<string>();
  if (profile !== undefined) {
    if (!PROFILE_NAME.test(profile)) fail(`profile name ${JSON.stringify(profile)} is invalid (use a-z, 0-9, _ and -)`);
    const profiles = rootMap(m).get('packaging_profiles', true);
    const entry = isMap(profiles) ? profiles.get(profile, true) : undefined;
    if (entry === undefined) fail(`packaging profile ${JSON.stringify(profile)} not found in manifest`);
    for (const name of listOf(entry, 'exclude')) {
      if (!names.has(name)) fail(`profile ${JSON.stringify(profile)} references unknown dependency ${JSON.stringify(name)}`);
      excluded.add(name);
    }
  }
  for (const name of [...exclude, ...include]) {
    if (!names.has(name)) fail(`dependency ${JSON.stringify(name)} not found in manifest`);
  }
  for (const name of exclude) excluded.add(name);
  for (const name of include) {
    if (!excluded.has(name)) fail(`--include ${JSON.stringify(name)} has no effect: it is not excluded`);
    excluded.delete(name);
  }
  const custom = exclude.length > 0 || include.length > 0;
  const variant = profile !== undefined ? `-${profile}${custom ? '+custom' : ''}` : custom ? '-custom' : '';
  return { excluded, variant };
}
