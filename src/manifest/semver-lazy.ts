// The semver package, loaded at its first use. Loading it builds its regular expressions and
// classes (about 7 ms of a staging, bench/README.md): a staging from a compiled manifest, which
// carries the answers to its version questions (compiled.ts), asks none and never loads it.

import { createRequire } from 'node:module';

type Semver = typeof import('semver');
let loaded: Semver | undefined;

export function semver(): Semver {
  // In the CommonJS bundles esbuild bundles this require, whose package then runs at the first
  // call. Run as an ES module (the tests, tsx) there is no require, and createRequire finds it.
  loaded ??= (typeof require === 'function' ? require('semver') : createRequire(import.meta.url)('semver')) as Semver;
  return loaded;
}

/** Whether semver was loaded in this process (for the test that a compiled staging never does). */
export const semverLoaded = (): boolean => loaded !== undefined;
