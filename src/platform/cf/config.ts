// Configuration of the cf platform from env vars (CF_API, CF_USERNAME, CF_PASSWORD, CF_ORG,
// CF_SPACE, CF_SKIP_SSL_VALIDATION), and the unique DNS-safe names it gives apps and buildpacks.

import { UsageError } from '../../errors.js';

export interface CfConfig {
  api: string;
  username: string;
  password: string;
  org: string;
  space: string;
  skipSslValidation: boolean;
}

const REQUIRED = ['CF_API', 'CF_USERNAME', 'CF_PASSWORD', 'CF_ORG', 'CF_SPACE'] as const;

/** Read the foundation's coordinates from `env`; names every missing variable. */
export function cfConfigFromEnv(env: Record<string, string | undefined>): CfConfig {
  const missing = REQUIRED.filter((k) => !env[k]);
  if (missing.length > 0) throw new UsageError(`the cf platform needs ${missing.join(', ')} in the environment`);
  return {
    api: env.CF_API as string,
    username: env.CF_USERNAME as string,
    password: env.CF_PASSWORD as string,
    org: env.CF_ORG as string,
    space: env.CF_SPACE as string,
    skipSslValidation: /^(1|true|yes)$/i.test(env.CF_SKIP_SSL_VALIDATION ?? ''),
  };
}

/**
 * A DNS label from `base` plus `suffix`: lowercase letters, digits and hyphens, at most 63
 * characters, starting with a letter — usable as an app name and its route's host.
 */
export function dnsSafeName(base: string, suffix: string): string {
  const cleanSuffix = suffix.toLowerCase().replace(/[^a-z0-9]/g, '');
  let head = base.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').replace(/-{2,}/g, '-');
  if (!/^[a-z]/.test(head)) head = `app-${head}`.replace(/-+$/, '');
  head = head.slice(0, 63 - cleanSuffix.length - 1).replace(/-+$/, '');
  return `${head}-${cleanSuffix}`;
}
