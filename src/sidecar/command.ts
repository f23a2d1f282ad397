// The launch.yml command of a sidecar and the paths it is built from: pure string work, shared by
// the renderer and the manifest check of Cloud Controller's 4096-character limit (issue 13 §6).

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { SidecarSpec } from '../manifest/types.js';
import { shQuote } from './shell.js';

/** Where a sidecar's generated scripts live, relative to `<deps>/<idx>`. */
export function sidecarScriptDir(name: string): string {
  return path.posix.join('sidecars', name);
}

/**
 * The sidecar's profile.d file name. A name may be 255 characters (CONTRACT §3) but a file name
 * may not exceed 255 bytes, and final buildpacks copy it as `<idx>_<file>`: long names are cut
 * and made unique with a digest of the whole name.
 */
export function profileFileName(name: string): string {
  if (name.length <= 120) return `${name}.sh`;
  const digest = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, 100)}-${digest}.sh`;
}

/** `"$DEPS_DIR"/<idx>/<rel>` — expanded by the launcher's `bash -c`, the rest quoted. */
export function depsPath(idx: string, rel: string): string {
  return `"$DEPS_DIR"/${shQuote(`${idx}/${rel}`)}`;
}

/** Split `bin/x --flag` into the path inside the dependency and the author's own arguments. */
export function splitCommand(command: string): { file: string; rest: string } {
  const trimmed = command.trim();
  const space = trimmed.search(/\s/);
  const file = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space).trim();
  const normal = path.posix.normalize(file);
  if (path.posix.isAbsolute(file) || normal.startsWith('..')) {
    throw new TypeError(`sidecar command ${JSON.stringify(file)} must be a path inside its dependency`);
  }
  return { file: normal, rest };
}

/**
 * The command launch.yml carries: the wrapper, the binary's path, then every word of the
 * manifest's command and every `args` entry, each quoted: data, never shell.
 */
export function launchCommand(spec: SidecarSpec, idx: string): string {
  const { file, rest } = splitCommand(spec.command);
  const dir = sidecarScriptDir(spec.name);
  const parts = [depsPath(idx, `${dir}/run`), depsPath(idx, `${spec.dependency}/${file}`)];
  for (const word of rest.split(/\s+/).filter(Boolean)) parts.push(shQuote(word));
  for (const arg of spec.args) parts.push(shQuote(arg));
  return parts.join(' ');
}
