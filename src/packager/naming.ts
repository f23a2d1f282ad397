// Names and paths fixed by libbuildpack's packager (CONTRACT §5): the zip's file name, where a
// cached dependency lives inside the zip, and where it lives in the download cache.

import { createHash } from 'node:crypto';
import path from 'node:path';

/** What decides a buildpack zip's name. `stack` '' means any stack (no stack part). */
export interface ZipNameParts {
  language: string;
  cached: boolean;
  stack: string;
  version: string;
  /** Packaging-profile part (`-minimal`, `-minimal+custom`, `-custom`); default none. */
  variant?: string;
}

/** `<language>_buildpack[-cached][<variant>][-<stack>]-v<version>.zip` (CONTRACT §5). */
export function zipFileName(parts: ZipNameParts): string {
  const cached = parts.cached ? '-cached' : '';
  const stack = parts.stack ? `-${parts.stack}` : '';
  return `${parts.language}_buildpack${cached}${parts.variant ?? ''}${stack}-v${parts.version}.zip`;
}

/** The last path segment of a URI's path (what libbuildpack's `filepath.Base(uri)` yields). */
export function uriBasename(uri: string): string {
  let p = uri;
  try {
    p = new URL(uri).pathname;
  } catch {
    // not a URL: treat it as a path
  }
  const base = path.posix.basename(p.replace(/\/+$/, ''));
  return base || 'download';
}

/** `dependencies/<md5hex(uri)>/<basename(uri)>`: the `file:` of a cached manifest entry. */
export function cachedDependencyPath(uri: string): string {
  const md5 = createHash('md5').update(uri).digest('hex');
  return `dependencies/${md5}/${uriBasename(uri)}`;
}

/**
 * Where the download cache keeps a dependency: libbuildpack's layout,
 * `<cacheDir>/dependencies/<md5hex(uri)>/<basename(uri)>`, so both tools share one cache.
 */
export function downloadCachePath(cacheDir: string, uri: string): string {
  return path.join(cacheDir, ...cachedDependencyPath(uri).split('/'));
}

/** The default download cache, `~/.buildpack-packager/cache` (CONTRACT §5). */
export function defaultCacheDir(home: string): string {
  return path.join(home, '.buildpack-packager', 'cache');
}
