// Issue 11's "CLI to live with", run as a user would, with the real executable (src/bin/cli.ts
// under tsx): push --detach returns once running and the app outlives the CLI in its
// supervisor; apps, logs --recent, run-task (exit status passed through), restart, delete; a
// second push of the same name is refused; Ctrl-C of a foreground push deletes the app, exit 130.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runAsync, type SpawnResult } from '../test/helpers/spawn.js';
import { FINAL_BP, REPO, nodeWebApp, tempDir, writeTree } from '../test/platform/helpers.js';

const TSX = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const CLI = path.join(REPO, 'src', 'bin', 'cli.ts');

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('the app lifecycle CLI (issue 11)', function () {
  this.timeout(120000);
  let root: string;
  let cleanup: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let appDir: string;
  const run = (args: string[]): Promise<SpawnResult> => runAsync(process.execPath, ['--import', TSX, CLI, ...args], { cwd: root, env });

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('app-lifecycle-'));
    env = { PATH: process.env.PATH, HOME: path.join(root, 'home'), XDG_STATE_HOME: path.join(root, 'state'), NODE_OPTIONS: '' };
    appDir = await writeTree(path.join(root, 'app'), { ...nodeWebApp(), Procfile: 'web: node server.js\n', 'manifest.yml': 'applications:\n- name: lifecycle\n  memory: 256M\n' });
  });
  after(async () => {
    await run(['delete', 'lifecycle']);
    await cleanup();
  });

  it('push --detach, apps, logs, run-task, restart, delete', async () => {
    const push = await run(['push', appDir, '-b', FINAL_BP, '--detach']);
    expect(push.status, push.stderr + push.stdout).to.equal(0);
    const url = /^url: (\S+)$/m.exec(push.stdout)?.[1] ?? '';
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    // the CLI has exited; the app still answers
    expect(await (await fetch(url)).text()).to.equal('hello from the app');

    const apps = await run(['apps']);
    expect(apps.stdout).to.match(/^lifecycle\s+running\s+http:\/\/127\.0\.0\.1:\d+\s+\d+$/m);
    const supervisor = Number(/(\d+)$/m.exec(apps.stdout)?.[1]);

    const again = await run(['push', appDir, '-b', FINAL_BP, '--detach']);
    expect(again.status).to.equal(2);
    expect(again.stderr).to.include('app lifecycle is already pushed');

    const task = await run(['run-task', 'lifecycle', 'echo "task sees PORT=[$PORT]"; exit 3', '--name', 'probe', '-m', '64M']);
    expect(task.status).to.equal(3);
    expect(task.stdout).to.include('[APP/TASK/probe/0] OUT task sees PORT=[]');
    expect(task.stderr).to.include('task probe failed with exit status 3');

    const logs = await run(['logs', 'lifecycle', '--recent']);
    expect(logs.stdout).to.include('[APP/PROC/WEB/0] OUT app listening on').and.include('[APP/TASK/probe/0] OUT Exit status 3');

    const restart = await run(['restart', 'lifecycle']);
    expect(restart.status, restart.stderr).to.equal(0);
    const url2 = /is running at (\S+)/.exec(restart.stderr)?.[1] ?? '';
    expect(await (await fetch(url2)).text()).to.equal('hello from the app');

    const del = await run(['delete', 'lifecycle']);
    expect(del.status, del.stderr).to.equal(0);
    expect((await run(['apps'])).stdout).to.equal('No apps found.\n');
    for (let i = 0; i < 50 && (await alive(supervisor)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await alive(supervisor), 'the supervisor is gone').to.equal(false);
    expect(await fetch(url2).then(() => 'answered', () => 'refused')).to.equal('refused');
  });

  it('keeps a detached app whose first start crashes, restarting with back-off, until delete', async () => {
    const crashy = await writeTree(path.join(root, 'crashy'), { 'server.js': '', Procfile: 'web: echo "crash now"; exit 7\n', 'manifest.yml': 'applications:\n- name: crashy\n  memory: 128M\n' });
    const push = await run(['push', crashy, '-b', FINAL_BP, '--detach', '--time-scale', '0.01']);
    expect(push.status).to.equal(1);
    expect(push.stderr).to.include('Start unsuccessful: APP/PROC/WEB: Exited with status 7').and.include('crashy stays, restarting with back-off, until: sidecar-buildpack delete crashy');
    expect((await run(['apps'])).stdout).to.match(/^crashy\s+crashed\s/m);
    for (let i = 0; i < 100; i++) {
      const logs = (await run(['logs', 'crashy', '--recent'])).stdout;
      if (/crash_count 3\): restarting in 30s/.test(logs)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await run(['logs', 'crashy', '--recent'])).stdout).to.include('(crash_count 3): restarting in 30s');
    const del = await run(['delete', 'crashy']);
    expect(del.status, del.stderr).to.equal(0);
    expect((await run(['apps'])).stdout).to.equal('No apps found.\n');
  });

  it('deletes the app and exits 130 on Ctrl-C of a foreground push', async () => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'push', appDir, '-b', FINAL_BP], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 600 && !/^url: /m.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const url = /^url: (\S+)$/m.exec(out)?.[1] ?? '';
    expect(url, out + err).to.not.equal('');
    child.kill('SIGINT');
    expect(await exited).to.equal(130);
    expect(err).to.include('interrupted: deleted lifecycle');
    expect(await fetch(url).then(() => 'answered', () => 'refused')).to.equal('refused');
  });
});
