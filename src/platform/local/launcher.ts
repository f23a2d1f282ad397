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

/** The launcher's program name (argv0 of the bash script). */
export const LAUNCHER_ARGV0 = 'launcher';

/** argv for `/bin/bash`: `-c <script> <argv0> <appDir> <command>`. */
export function launcherArgs(appDir: string, command: string, entrypointPrefix?: string): string[] {
  return ['-c', launcherScript(entrypointPrefix), LAUNCHER_ARGV0, appDir, command];
}

/** The log source of a process: `APP/PROC/WEB` or `APP/PROC/WEB/SIDECAR/<NAME>`. */
export function logSource(processType: string, sidecar?: string): string {
  const base = `APP/PROC/${processType.toUpperCase()}`;
  return sidecar ? `${base}/SIDECAR/${sidecar.toUpperCase()}` : base;
}
