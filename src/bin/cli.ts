// Composition root of the `sidecar-buildpack` command: real streams, env, cwd and the process's
// stop signals into main().
import { main } from '../cli/main.js';
import type { StopSignal } from '../cli/io.js';

/** SIGINT/SIGTERM as an AbortSignal. Kept (not `once`), so a second Ctrl-C cannot kill the CLI halfway through deleting an app. */
function processStopSignal(): StopSignal {
  const controller = new AbortController();
  // The reason is the signal's name, so that push can exit 128+N after deleting the app.
  const onSignal = (sig: NodeJS.Signals): void => controller.abort(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stopSignal: processStopSignal,
  selfCommand: [process.execPath, ...process.execArgv, process.argv[1]],
}).then(
  (code) => {
    process.exitCode = code;
  },
);
