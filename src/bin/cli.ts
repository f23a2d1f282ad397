// Composition root of the `sidecar-buildpack` command: real streams, env, cwd and the process's
// stop signals into main().
import { constants } from 'node:os';
import { main } from '../cli/main.js';
import type { StopSignal } from '../cli/io.js';

/**
 * SIGINT/SIGTERM/SIGHUP as an AbortSignal: the first one stops the push (staging is cut short, the
 * app deleted; a closed terminal's SIGHUP too, so nothing of the app outlives the push). A second one forces: the CLI exits at once; its containers die with it (every one is
 * tied to this process) and the platform's janitor removes their files.
 */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function processStopSignal(): StopSignal {
  const controller = new AbortController();
  let received = 0;
  // The reason is the signal's name, so that push can exit 128+N after deleting the app.
  const onSignal = (sig: NodeJS.Signals): void => {
    received++;
    if (received === 1) {
      controller.abort(sig);
      return;
    }
    process.stderr.write(`${sig} again: exiting now\n`);
    process.exit(128 + (constants.signals[sig] ?? 0));
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
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
