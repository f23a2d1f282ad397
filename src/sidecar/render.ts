// Turns one validated sidecar spec into what supply leaves in the deps dir: its launch.yml entry,
// launch wrapper, env script, checks, readiness gate and profile.d hook. Pure: returns files as
// data; the deps-dir writer puts them in place. At launch they need no Node (see RUNTIME.md).

import type { LaunchProcess } from '../launch/launch-yml.js';
import { MAX_SIDECAR_COMMAND } from '../manifest/sidecars.js';
import type { SidecarSpec } from '../manifest/types.js';
import { ManifestError } from '../errors.js';
import { depsPath, launchCommand, profileFileName, sidecarScriptDir } from './command.js';
import { hasServiceEnv, renderEnvScript } from './env-script.js';
import { renderProbeScript } from './probe.js';
import { proxyMarkerPath } from './proxy.js';
import { renderAwaitScript, renderForProcessScript, renderProfileScript } from './readiness.js';
import { renderTaskScript } from './task.js';
import { VCAP_AWK } from './vcap-awk.js';
import { renderRunScript } from './wrapper.js';

export { depsPath, launchCommand, profileFileName, sidecarScriptDir, splitCommand } from './command.js';
export { renderEnvScript } from './env-script.js';
export { renderAwaitScript, renderProfileScript } from './readiness.js';
export { renderTaskScript } from './task.js';
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

/** Where the spec came from, for errors: the manifest file and the sidecar's key path. */
export interface SpecOrigin {
  file: string;
  key: string;
}

/**
 * Everything supply writes for one sidecar whose dependency is installed at `<idx>/<dependency>`:
 * `sidecars/<name>/{env.sh,run}` always; `vcap.awk` + `for-process` when a value comes from a
 * service or the process type matters (readiness, proxy); `readiness` + `await` and `liveness`
 * for declared checks; `task` for `tasks: true`; the profile.d hook (env defaults for every
 * process, the proxy's port switch and the readiness wait for the app, the task wrapping).
 * Throws ManifestError when the launch.yml command exceeds Cloud Controller's 4096 characters.
 */
export function renderSidecar(spec: SidecarSpec, idx: string, origin: SpecOrigin = { file: 'manifest.yml', key: `sidecars(${spec.name})` }): RenderedSidecar {
  const command = launchCommand(spec, idx);
  if (command.length > MAX_SIDECAR_COMMAND) {
    throw new ManifestError(
      origin.file,
      `${origin.key}.command`,
      `renders to ${command.length} characters in launch.yml (wrapper path and quoting included); Cloud Controller allows at most ${MAX_SIDECAR_COMMAND}`,
    );
  }
  const dir = sidecarScriptDir(spec.name);
  const depDir = depsPath(idx, spec.dependency);
  const needsAwk = hasServiceEnv(spec) || Boolean(spec.readiness) || Boolean(spec.proxy);
  const files: DepsFile[] = [
    { path: `${dir}/env.sh`, contents: renderEnvScript(spec, depsPath(idx, `${dir}/vcap.awk`)), mode: 0o644 },
    { path: `${dir}/run`, contents: renderRunScript(spec), mode: 0o755 },
  ];
  if (needsAwk) {
    files.push(
      { path: `${dir}/vcap.awk`, contents: VCAP_AWK, mode: 0o644 },
      { path: `${dir}/for-process`, contents: renderForProcessScript(spec), mode: 0o755 },
    );
  }
  if (spec.readiness) {
    const r = spec.readiness;
    // One attempt may take at most a period (and never longer than the whole wait).
    const attemptSeconds = Math.min(r.period_seconds, r.timeout_seconds);
    const title = spec.proxy ? `readiness check of the app behind sidecar ${spec.name}` : `readiness check of sidecar ${spec.name}`;
    files.push(
      { path: `${dir}/readiness`, contents: renderProbeScript(r, { title, depDir, attemptSeconds }), mode: 0o755 },
      { path: `${dir}/await`, contents: renderAwaitScript(spec, r), mode: 0o755 },
    );
  }
  if (spec.liveness) {
    const l = spec.liveness;
    const attemptSeconds = Math.min(l.period_seconds, l.timeout_seconds ?? l.period_seconds);
    files.push({ path: `${dir}/liveness`, contents: renderProbeScript(l, { title: `liveness check of sidecar ${spec.name}`, depDir, attemptSeconds }), mode: 0o755 });
  }
  if (spec.tasks) files.push({ path: `${dir}/task`, contents: renderTaskScript(spec, idx), mode: 0o755 });
  // read by later buildpacks' supply: one proxy per process type across buildpacks
  if (spec.proxy) files.push({ path: proxyMarkerPath(spec.name), contents: spec.process_types.map((t) => `${t}\n`).join(''), mode: 0o644 });
  files.push({
    path: `profile.d/${profileFileName(spec.name)}`,
    contents: renderProfileScript(spec, {
      idx,
      env: depsPath(idx, `${dir}/env.sh`),
      ...(spec.readiness ? { await: depsPath(idx, `${dir}/await`) } : {}),
      ...(needsAwk ? { forProcess: depsPath(idx, `${dir}/for-process`) } : {}),
      ...(spec.tasks ? { task: depsPath(idx, `${dir}/task`) } : {}),
    }),
    mode: 0o755,
  });

  return {
    process: {
      type: spec.name,
      command,
      ...(spec.memory !== undefined ? { memory: spec.memory } : {}),
      sidecarFor: spec.process_types,
    },
    files,
  };
}
