// The launcher's exact invocation (CONTRACT §2): `/bin/bash -c <script> <argv0> <appDir>
// <command>`; the script sources profile.d scripts with `$1` = app dir and `$2` = the command.

/** The launcher script: `cd`, pre-start scripts, `shift`, then the start command. */
export function launcherScript(entrypointPrefix?: string): string {
  const exec = entrypointPrefix ? `exec ${entrypointPrefix} "$@"` : 'exec bash -c "$@"';
  return `cd "$1"

echo "Invoking pre-start scripts."

if [ -n "$(ls ../profile.d/* 2> /dev/null)" ]; then
  for env_file in ../profile.d/*; do
    source $env_file
  done
fi

if [ -n "$(ls .profile.d/* 2> /dev/null)" ]; then
  for env_file in .profile.d/*; do
    source $env_file
  done
fi

if [ -f .profile ]; then
  source .profile
fi

shift

echo "Invoking start command."

${exec}
`;
}

/**
 * The bash script's `$0`: the launcher's own argv[0] (launcher_unix.go passes `os.Args[0]`), which
 * is the path the executor runs it by.
 */
export const LAUNCHER_ARGV0 = '/tmp/lifecycle/launcher';

/** argv for `/bin/bash`: `-c <script> <argv0> <appDir> <command>`. */
export function launcherArgs(appDir: string, command: string, entrypointPrefix?: string): string[] {
  return ['-c', launcherScript(entrypointPrefix), LAUNCHER_ARGV0, appDir, command];
}

/** The log source of a process: `APP/PROC/WEB` or `APP/PROC/WEB/SIDECAR/<NAME>`. */
export function logSource(processType: string, sidecar?: string): string {
  const base = `APP/PROC/${processType.toUpperCase()}`;
  return sidecar ? `${base}/SIDECAR/${sidecar.toUpperCase()}` : base;
}

/**
 * `/tmp/lifecycle/launcher <app dir> <command> <metadata>`: what the platform's launcher binary
 * does before its script (launcher/env): HOME is the app dir, TMPDIR and DEPS_DIR beside it,
 * VCAP_PLATFORM_OPTIONS unset; then the script with `$1` = the app dir and `$2` = the command.
 * The binary execs `bash -c <script>` with `$0` its own path; this file is that bash already, so
 * the script runs in it, with the same `$0` (the file's path), `$1` and `$2`: one bash start, not two.
 */
export function launcherFile(entrypointPrefix?: string): string {
  return `#!/bin/bash
app=$(cd "$1" && pwd) || exit 1
export HOME="$app" TMPDIR="\${app%/*}/tmp" DEPS_DIR="\${app%/*}/deps"
unset VCAP_PLATFORM_OPTIONS
set -- "$app" "$2"
unset app
${launcherScript(entrypointPrefix)}`;
}
