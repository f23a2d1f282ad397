// Composition root of the `sidecar-buildpack` command: real streams, env and cwd into main().
import { main } from '../cli/main.js';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
);
