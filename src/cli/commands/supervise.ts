// `push --detach`: the app lives in a small detached supervisor process, one per app, that runs
// the push in the foreground (its stdout is the app's log file), serves the app's control
// socket (run-task, restart, delete) and records its pid, url and state in the per-user state
// directory (src/platform/state.ts). The hidden `__supervise <dir>` command is that process.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { BuildpackError, UsageError } from '../../errors.js';
import { serveControl } from '../../platform/control.js';
import { AppStore, pidAlive, stateRoot } from '../../platform/state.js';
import type { Deployment, TaskResult } from '../../platform/types.js';
import type { CliIO } from '../io.js';
import { runPush, type PushOptions } from './push.js';

/** What the supervisor is told to push (PushOptions without its callbacks). */
interface SupervisedPush {
  name: string;
  options: Omit<PushOptions, 'onRunning' | 'onStartFailure'>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start the app's supervisor and return once the app runs (printing the log so far, like
 * `cf push`), or fail with the platform's message when staging or the start fails.
 */
export async function pushDetached(name: string, options: PushOptions, io: CliIO): Promise<void> {
  if (!io.selfCommand) throw new UsageError('push --detach needs the sidecar-buildpack executable (not available in this embedding)');
  const store = new AppStore(stateRoot(io.env));
  const dir = store.dir(name);
  // Claimed before the supervisor exists (pid -1), then handed to it.
  const { onRunning: _running, onStartFailure: _failure, ...plain } = options;
  await store.claim(name, { pid: -1, state: 'staging', detached: true });
  const spec: SupervisedPush = { name, options: plain };
  await writeFile(path.join(dir, 'push.json'), JSON.stringify(spec), { mode: 0o600 });
  const logFile = store.logFile(name);
  const fd = openSync(logFile, 'a', 0o600);
  let pid: number;
  try {
    const [cmd, ...args] = io.selfCommand;
    const child = spawn(cmd, [...args, '__supervise', dir], { detached: true, stdio: ['ignore', fd, fd], env: io.env as NodeJS.ProcessEnv, cwd: io.cwd });
    if (!child.pid) throw new BuildpackError('SUPERVISOR_FAILED', `cannot start the supervisor of ${name}`);
    pid = child.pid;
    child.unref();
  } finally {
    closeSync(fd);
  }
  await store.update(name, { pid, socket: path.join(dir, 'control.sock') });

  // Follow the log while waiting for the supervisor to say running or failed.
  const log = await open(logFile, 'r');
  let offset = 0;
  const pump = async () => {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await log.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      io.stdout.write(buf.subarray(0, bytesRead).toString());
    }
  };
  try {
    for (;;) {
      await pump();
      const r = await store.read(name);
      if (r?.state === 'running') {
        await pump();
        io.stderr.write(`${name} is running (supervisor pid ${pid}); stop it with: sidecar-buildpack delete ${name}\n`);
        return;
      }
      if (r?.state === 'crashed') {
        await pump();
        throw new BuildpackError('START_FAILED', `${r.error ?? 'Start unsuccessful'}\n${name} stays, restarting with back-off, until: sidecar-buildpack delete ${name}`);
      }
      if (r?.state === 'failed' || !pidAlive(pid)) {
        await sleep(50);
        await pump();
        await store.release(name, pid);
        throw new BuildpackError('PUSH_FAILED', r?.error ?? `the supervisor of ${name} exited before the app ran (see the log above)`);
      }
      await sleep(100);
    }
  } finally {
    await log.close();
  }
}

/** The supervisor's body: push, serve the control socket, restart or delete on request. */
async function supervise(dir: string, io: CliIO): Promise<void> {
  const spec = JSON.parse(await readFile(path.join(dir, 'push.json'), 'utf8')) as SupervisedPush;
  const store = new AppStore(path.dirname(path.dirname(dir)));
  const { name } = spec;
  const record = await store.read(name);
  const pid = record?.pid ?? -1;
  const socket = path.join(dir, 'control.sock');
  let current: Deployment | undefined;
  let controller = new AbortController();
  let restartRequested = false;
  let deleteRequested = false;
  let running: { resolve: () => void; reject: (e: Error) => void } | undefined;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const stop = io.stopSignal?.();
  stop?.signal.addEventListener('abort', () => {
    deleteRequested = true;
    controller.abort();
  });

  const close = await serveControl(socket, {
    runTask: async (command, options, onLine): Promise<TaskResult> => {
      if (!current) throw new UsageError(`app ${name} is not running`);
      const off = current.onLog((l) => {
        if (l.includes('/TASK/')) onLine(l);
      });
      try {
        return await current.runTask(command, options);
      } finally {
        off();
      }
    },
    restart: (onLine) =>
      new Promise<void>((resolve, reject) => {
        if (!current) return reject(new UsageError(`app ${name} is not running`));
        const off = current.onLog(onLine);
        running = {
          resolve: () => {
            off();
            resolve();
          },
          reject: (e) => {
            off();
            reject(e);
          },
        };
        restartRequested = true;
        controller.abort();
      }),
    delete: async () => {
      deleteRequested = true;
      controller.abort();
      await done;
    },
  });

  try {
    for (;;) {
      await store.update(name, { state: 'staging' });
      try {
        await runPush(
          {
            ...spec.options,
            onStartFailure: (d, err) => {
              current = d;
              // once a restart becomes healthy, the record says so
              void d.waitUntilRunning({ timeoutMs: 2 ** 31 - 1 }).then(
                () => store.update(name, { state: 'running' }),
                () => undefined,
              );
              void store.update(name, { state: 'crashed', error: err.message, url: d.url }).then(() => {
                running?.reject(err);
                running = undefined;
              });
            },
            onRunning: (d) => {
              current = d;
              // The record first, then the restart's answer: `restart` reads the new url from it.
              void store.update(name, { state: 'running', url: d.url }).then(() => {
                running?.resolve();
                running = undefined;
              });
            },
          },
          io,
          controller.signal,
        );
      } catch (e) {
        current = undefined;
        await store.update(name, { state: 'failed', error: (e as Error).message });
        running?.reject(e as Error);
        throw e;
      }
      current = undefined;
      if (!restartRequested || deleteRequested) break;
      restartRequested = false;
      controller = new AbortController();
    }
    await store.update(name, { state: 'stopping' });
  } finally {
    finished();
    await close();
    stop?.dispose();
    const r = await store.read(name);
    // A failed push leaves its record for `push --detach` to read; a deleted app goes.
    if (r?.state !== 'failed') await store.release(name, pid);
  }
}

/** The hidden command the detached supervisor runs. */
export function register(program: Command, io: CliIO): void {
  program
    .command('__supervise', { hidden: true })
    .argument('<dir>', "the app's state directory")
    .action(async (dir: string) => {
      await supervise(path.resolve(io.cwd, dir), io);
    });
}
