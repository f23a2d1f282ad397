// The fetcher the CLI uses for every download: the shared HttpFetcher (retries, proxies from the
// environment, redaction), one per download so each has its own progress hooks.

import { HttpFetcher } from '../deps/fetch.js';
import type { FetcherFactory } from '../packager/download-cache.js';

/** A FetcherFactory reading proxy settings from `env`. */
export function cliFetcherFactory(env: Record<string, string | undefined>): FetcherFactory {
  return (hooks) => new HttpFetcher({ env, ...hooks });
}
