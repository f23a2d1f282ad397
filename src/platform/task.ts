// A task on the local platform (CONTRACT §2 "Tasks", CC task_environment.rb and
// buildpack/task_action_builder.rb): one launcher run of the command with the droplet in its own
// container, the task environment, no sidecars, logs tagged `[APP/TASK/<name>/0]`; the container
// is destroyed when the command exits, and the result is its exit status.

import { randomBytes, randomUUID } from 'node:crypto';
import { UsageError } from '../errors.js';
import { taskEnv, type AppIdentity, type LauncherPaths } from './local/env.js';
import type { LineWriter, LogBook } from './local/log-book.js';
import type { TaskOptions, TaskResult } from './types.js';

/** CC's default_app_memory: a task's memory when none is asked for. */
export const DEFAULT_TASK_MEMORY_MB = 1024;

/** A started task process. */
export interface TaskProcess {
  exited: Promise<{ status: number }>;
}

/** A fresh container for one task. */
export interface TaskContainer {
  /** Where the launcher puts HOME, TMPDIR, DEPS_DIR in it. */
  launcher: LauncherPaths;
  /** CF_INSTANCE_IP / CF_INSTANCE_INTERNAL_IP. */
  ip: string;
  internalIp: string;
  /** Start `launcher app <command> ''` with `env`. */
  spawn(command: string, env: Record<string, string>, stdout: LineWriter, stderr: LineWriter): TaskProcess;
  /** Remove it (a process still running in it is killed). */
  destroy(): Promise<void>;
}

export interface TaskHost {
  app: AppIdentity;
  appEnv: Record<string, string>;
  vcapServices: string;
  log: LogBook;
  /** PATH inside the task (default the container's). */
  path?: string;
  /** Make a fresh container with the droplet for a task of `memoryMb`; `guid` is its handle (the task's guid, its hostname). */
  container(memoryMb: number, guid: string): Promise<TaskContainer>;
}

const CELL = 'local-cell';

/** Task names: CC allows any string; here it becomes a log tag, so keep it to one line of printable text. */
function checkName(name: string): string {
  if (!name || /[\s/]/.test(name)) throw new UsageError(`task name ${JSON.stringify(name)}: use a non-empty name without spaces or slashes`);
  return name;
}

/** Run a task to its end; resolves with its exit status and its tagged lines. */
export async function runTask(host: TaskHost, command: string, options: TaskOptions = {}): Promise<TaskResult> {
  if (!command.trim()) throw new UsageError('a task needs a command');
  const name = checkName(options.name ?? randomBytes(4).toString('hex'));
  const memoryMb = options.memoryMb ?? DEFAULT_TASK_MEMORY_MB;
  if (!Number.isInteger(memoryMb) || memoryMb <= 0) throw new UsageError(`task memory must be a positive number of MB, not ${memoryMb}`);
  const tag = `APP/TASK/${name}/0`;
  const guid = randomUUID();
  const lines: string[] = [];
  const off = host.log.onLine((l) => {
    if (l.startsWith(`[${tag}] `) || (l.startsWith('[CELL/0] ') && l.includes(guid))) lines.push(l);
  });
  const { log } = host;
  try {
    log.add('CELL/0', 'OUT', `Cell ${CELL} creating container for instance ${guid}`);
    const container = await host.container(memoryMb, guid);
    log.add('CELL/0', 'OUT', `Cell ${CELL} successfully created container for instance ${guid}`);
    let status: number;
    try {
      const env = taskEnv({
        app: host.app,
        appEnv: host.appEnv,
        launcher: container.launcher,
        memoryMb,
        vcapServices: host.vcapServices,
        ip: container.ip,
        internalIp: container.internalIp,
        version: randomUUID(),
        ...(host.path ? { path: host.path } : {}),
      });
      ({ status } = await container.spawn(command, env, log.writer(tag, 'OUT'), log.writer(tag, 'ERR')).exited);
      log.add(tag, 'OUT', `Exit status ${status}`);
    } finally {
      // The container goes when the command exits: whatever it started in the background dies with it.
      log.add('CELL/0', 'OUT', `Cell ${CELL} destroying container for instance ${guid}`);
      await container.destroy();
      log.add('CELL/0', 'OUT', `Cell ${CELL} successfully destroyed container for instance ${guid}`);
    }
    return { name, exitStatus: status, logs: lines.map((l) => `${l}\n`).join('') };
  } finally {
    off();
  }
}
