// Checks made before anything is built (CONTRACT §5): the stack flags, the stack itself and the
// default versions for it — with libbuildpack's exact error texts.

import { PackagerError, UsageError } from '../errors.js';
import { allDependencyVersions } from '../manifest/query.js';
import type { Manifest } from '../manifest/types.js';
import { findMatchingVersion } from '../manifest/versions.js';

/** Exactly one of `--stack S` and `--any-stack`; returns the stack ('' for any stack). */
export function stackFromFlags(stack: string | undefined, anyStack: boolean): string {
  if (stack && anyStack) throw new UsageError('cannot specify a stack AND pass --any-stack');
  if (!stack && !anyStack) throw new UsageError('must either specify a stack (--stack S) or pass --any-stack');
  return stack ?? '';
}

/**
 * With a stack: some dependency must be built for it (a manifest with no dependencies allows
 * any stack), and every `default_versions` entry must resolve among that stack's versions.
 */
export function validateStack(m: Manifest, stack: string): void {
  if (stack === '') return;
  if (m.dependencies.length > 0 && !m.dependencies.some((d) => d.cf_stacks.includes(stack))) {
    throw new PackagerError(`Stack \`${stack}\` not found in manifest`, 'STACK_NOT_FOUND');
  }
  for (const d of m.default_versions) {
    try {
      findMatchingVersion(d.version, allDependencyVersions(m, d.name, stack));
    } catch {
      throw new PackagerError(`No matching default dependency \`${d.name}\` for stack \`${stack}\``, 'NO_DEFAULT_FOR_STACK');
    }
  }
}
