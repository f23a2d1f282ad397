// At most one process of an instance can listen on its port: one proxy sidecar per process type
// (issue 12 §1). Within one manifest the parser refuses a second proxy; across buildpacks each
// proxy leaves `sidecars/<name>/proxy-for` (its process types, one a line) in its deps dir, and
// a later buildpack's supply refuses its own proxy for a type an earlier one already took.

import path from 'node:path';
import { ManifestError } from '../errors.js';
import type { SidecarSpec } from '../manifest/types.js';
import { readdirOrEmpty, readTextOrNone } from '../sync-fs.js';

/** The marker file, relative to `<deps>/<idx>`. */
export function proxyMarkerPath(name: string): string {
  return path.posix.join('sidecars', name, 'proxy-for');
}

/** Proxies other buildpacks of this staging declared: `{idx, name, types}`. */
export async function otherProxies(depsDir: string, depsIdx: string): Promise<{ idx: string; name: string; types: string[] }[]> {
  const own = String(Number(depsIdx));
  const found: { idx: string; name: string; types: string[] }[] = [];
  const dirs = readdirOrEmpty(depsDir);
  for (const idx of dirs.sort()) {
    if (idx === depsIdx || idx === own || !/^\d+$/.test(idx)) continue;
    const sidecars = readdirOrEmpty(path.join(depsDir, idx, 'sidecars'));
    for (const name of sidecars) {
      const text = readTextOrNone(path.join(depsDir, idx, proxyMarkerPath(name)));
      if (text !== undefined) found.push({ idx, name, types: text.split('\n').filter(Boolean) });
    }
  }
  return found;
}

/** Throws ManifestError naming both proxies when one of `specs` proxies a type another buildpack's proxy took. */
export async function checkOtherProxies(depsDir: string, depsIdx: string, specs: { spec: SidecarSpec; key: string }[], file: string): Promise<void> {
  const mine = specs.filter((s) => s.spec.proxy);
  if (mine.length === 0) return;
  const others = await otherProxies(depsDir, depsIdx);
  for (const { spec, key } of mine) {
    for (const o of others) {
      const type = spec.process_types.find((t) => o.types.includes(t));
      if (type) {
        throw new ManifestError(file, `${key}.proxy`, `${spec.name} and ${o.name} (of the buildpack at index ${o.idx}) are both proxies for ${type}: only one process can listen on the instance's port`);
      }
    }
  }
}
