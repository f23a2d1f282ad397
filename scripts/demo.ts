// `npm run demo`: package the config-server buildpack (cached, against a locally served fixture
// config-server), push the fixture node app with `sidecar-buildpack push` on the local platform,
// show /config answered by the sidecar, kill the sidecar, watch the instance restart, tear down.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CliIO } from '../src/cli/io.js';
import { runPush } from '../src/cli/commands/push.js';
import type { Deployment } from '../src/platform/index.js';
import { freePort } from '../src/platform/local/ports.js';
import { NODE_APP, REPO, referenceBuildpack } from '../integration/helpers/reference-buildpack.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s ? `   ${s}` : '');
let step = 0;
const section = (title: string) => console.log(`\n${bold(`== ${++step}. ${title}`)}`);
const rel = (p: string) => path.relative(process.cwd(), p) || '.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log lines pushed so far; the demo prints a few of them, not the firehose. */
const lines: string[] = [];
const io: CliIO = {
  stdout: { write: (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')) },
  stderr: { write: () => undefined },
  env: process.env,
  cwd: REPO,
};
const pick = (pattern: RegExp, from = 0) => lines.slice(from).filter((l) => pattern.test(l));

async function getConfig(d: Deployment): Promise<{ status: number; body: string }> {
  let last = { status: 0, body: '' };
  for (let i = 0; i < 60; i++) {
    last = await d.get('/config').catch((e: unknown) => ({ status: 0, body: String(e) }));
    if (last.status === 200) return last;
    await sleep(250); // the sidecar starts beside the app, not before it
  }
  throw new Error(`GET /config never answered 200 (last: ${last.status} ${last.body.trim()})`);
}

/** The demo's steps once the app runs; any failure is thrown. */
async function whileRunning(d: Deployment): Promise<number[]> {
  say(pick(/^url: /)[0]);
  const procs = await d.processes();
  for (const p of procs) say(`${p.kind === 'web' ? 'app    ' : 'sidecar'} ${p.name} (pid ${p.pid ?? '?'}${p.memory_in_mb ? `, ${p.memory_in_mb} MB` : ''})`);

  section('GET /config: the app asks the sidecar on localhost:$CONFIG_SERVER_PORT');
  const first = await getConfig(d);
  say(`${first.status} ${first.body.trim()}`);
  for (const l of pick(/SIDECAR\/CONFIG-SERVER\/0\] OUT config-server listening|APP\/PROC\/WEB\/0\] OUT app listening/)) say(l);

  section('Kill the sidecar (SIGKILL): the whole instance restarts');
  const mark = lines.length;
  await d.kill('config-server');
  await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
  for (const l of pick(/exit_description|Process has crashed/, mark)) say(l.length > 200 ? l.replace(/"crash_timestamp".*$/, '...}') : l);
  const again = await getConfig(d);
  say(`restarts: ${d.restartCount}; GET /config → ${again.status} ${again.body.trim()}`);
  return (await d.processes()).map((p) => p.pid).filter((p): p is number => p !== undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  section('Package a cached (offline) buildpack');
  const ref = await referenceBuildpack();
  // Droplets and the app cache go here, removed at the end: the demo leaves nothing behind.
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'sidecar-demo-'));
  try {
    say(`fixture config-server ${ref.releases[0].version} served at ${ref.releases[0].uri}`);
    const pkg = await ref.package(true);
    await ref.stopServer();
    say(`${pkg.fileName} (${Math.round(pkg.bytes / 1024)} KB), ${pkg.dependencies.map((x) => `${x.name} ${x.version}`).join(', ')}`);
    say('server stopped: staging cannot download anything');

    section('Push the node app with its sidecar on the local platform');
    say(`sidecar-buildpack push ${rel(NODE_APP)} -b ${path.basename(pkg.zipPath)}`);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    let steps: Promise<number[]> | undefined;
    try {
      await runPush(
        {
          appDir: NODE_APP,
          buildpacks: [pkg.zipPath],
          // A free port: other apps on this machine may hold the manifest's 8082.
          env: { CONFIG_SERVER_PORT: String(await freePort()) },
          platform: 'local',
          workRoot,
          onRunning: (d) => {
            for (const l of pick(/Installing config-server|Copy \[|Download \[/)) say(l);
            steps = whileRunning(d);
            // Stop (as Ctrl-C would) once the steps are done, whether they passed or not.
            steps.then(stop, stop);
          },
        },
        io,
        controller.signal,
      );
    } catch (e) {
      for (const l of lines.slice(-15)) say(l);
      throw e;
    } finally {
      process.off('SIGINT', stop);
    }
    if (!steps) throw new Error('the app never ran');
    const pids = await steps;

    section('Tear down');
    for (const l of pick(/Deleted app/)) say(l);
    const left = pids.filter(alive);
    if (left.length > 0) throw new Error(`processes left behind: ${left.join(', ')}`);
    say(`app deleted; none of its ${pids.length} processes is left`);
    console.log(`\n${bold('Demo OK')}`);
    return 0;
  } finally {
    await ref.cleanup();
    await rm(workRoot, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
