// Turns one validated sidecar spec into what supply leaves in the deps dir: its launch.yml entry,
// launch wrapper, env script, checks, readiness gate and profile.d hook. Pure: returns files as
// data; the deps-dir writer puts them in place. At launch they need no Node (see RUNTIME.md).

import path from 'node:path';
import type { LaunchProcess } from '../launch/launch-yml.js';
import type { SidecarSpec } from '../manifest/types.js';
import { hasServiceEnv, renderEnvScript } from './env-script.js';
import { renderProbeScript } from './probe.js';
import { renderAwaitScript, renderProfileScript } from './readiness.js';
import { shQuote } from './shell.js';
import { VCAP_AWK } from './vcap-awk.js';
import { renderRunScript } from './wrapper.js';

export { renderEnvScript } from './env-script.js';
export { renderAwaitScript, renderProfileScript } from './readiness.js';
export { renderRunScript } from './wrapper.js';

/** A file to write, relative to `<deps>/<idx>`. */
export interface DepsFile {
  path: string;
  contents: string;
  mode: number;
}

export interface RenderedSidecar {
  process: LaunchProcess;
  files: DepsFile[];
}

/** Where a sidecar's generated scripts live, relative to `<deps>/<idx>`. */
export function sidecarScriptDir(name: string): string {
  return path.posix.join('sidecars', name);
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
 * Everything supply writes for one sidecar whose dependency is installed at `<idx>/<dependency>`:
 * `sidecars/<name>/{env.sh,run}` always; `vcap.awk` when a value comes from a service or a
 * readiness gate needs the process type; `readiness` + `await` and `liveness` for declared
 * checks; `profile.d/<name>.sh` (env defaults for every process, the readiness wait for the app).
 */
export function renderSidecar(spec: SidecarSpec, idx: string): RenderedSidecar {
  const { file, rest } = splitCommand(spec.command);
  const dir = sidecarScriptDir(spec.name);
  const parts = [depsPath(idx, `${dir}/run`), depsPath(idx, `${spec.dependency}/${file}`)];
  // the words after the path are data too: split on white space, each quoted (use `args:` for
  // an argument that holds spaces), so nothing in the manifest's command ever runs as shell
  for (const word of rest.split(/\s+/).filter(Boolean)) parts.push(shQuote(word));
  for (const arg of spec.args) parts.push(shQuote(arg));

  const depDir = depsPath(idx, spec.dependency);
  const files: DepsFile[] = [
    { path: `${dir}/env.sh`, contents: renderEnvScript(spec, depsPath(idx, `${dir}/vcap.awk`)), mode: 0o644 },
    { path: `${dir}/run`, contents: renderRunScript(spec), mode: 0o755 },
  ];
  if (hasServiceEnv(spec) || spec.readiness) files.push({ path: `${dir}/vcap.awk`, contents: VCAP_AWK, mode: 0o644 });
  if (spec.readiness) {
    const r = spec.readiness;
    // One attempt may take at most a period (and never longer than the whole wait).
    const attemptSeconds = Math.min(r.period_seconds, r.timeout_seconds);
    files.push(
      { path: `${dir}/readiness`, contents: renderProbeScript(r, { title: `readiness check of sidecar ${spec.name}`, depDir, attemptSeconds }), mode: 0o755 },
      { path: `${dir}/await`, contents: renderAwaitScript(spec, r), mode: 0o755 },
    );
  }
  if (spec.liveness) {
    const l = spec.liveness;
    const attemptSeconds = Math.min(l.period_seconds, l.timeout_seconds);
    files.push({ path: `${dir}/liveness`, contents: renderProbeScript(l, { title: `liveness check of sidecar ${spec.name}`, depDir, attemptSeconds }), mode: 0o755 });
  }
  const awaitPath = spec.readiness ? depsPath(idx, `${dir}/await`) : undefined;
  files.push({ path: `profile.d/${spec.name}.sh`, contents: renderProfileScript(spec, depsPath(idx, `${dir}/env.sh`), awaitPath), mode: 0o755 });

  return {
    process: {
      type: spec.name,
      command: parts.join(' '),
      ...(spec.memory !== undefined ? { memory: spec.memory } : {}),
      sidecarFor: spec.process_types,
    },
    files,
  };
}
