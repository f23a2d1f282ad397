// A deployment on a real foundation: reads state back through the cf CLI (`cf curl` for
// sidecars and the droplet, `cf events` for crashes, `cf logs --recent`), and deletes it all.

import { rm } from 'node:fs/promises';
import { BuildpackError } from '../../errors.js';
import { randomBytes } from 'node:crypto';
import type { Deployment, ProcessInfo, StagedSidecar, StagingResult, TaskOptions, TaskResult } from '../types.js';
import type { CfClient } from './cf-client.js';

/** What a deploy created, so that it can always be deleted. */
export interface Resources {
  cf: CfClient;
  name: string;
  cfHome: string;
  buildpacks: string[];
  /** User-provided service instances created for this app (deleted after it). */
  services: string[];
  appCreated: boolean;
}

interface V3Sidecar {
  guid?: string;
  name: string;
  command: string;
  process_types: string[];
  memory_in_mb?: number | null;
  origin?: 'user' | 'buildpack';
}

/** The builder's result, rebuilt from the current droplet and the app's buildpack sidecars. */
export function stagingResultFrom(droplet: Record<string, unknown>, sidecars: Record<string, unknown>): StagingResult {
  const processTypes = (droplet.process_types ?? {}) as Record<string, string>;
  const bps = (droplet.buildpacks ?? []) as Array<{ name?: string; buildpack_name?: string; version?: string }>;
  const staged: StagedSidecar[] = ((sidecars.resources ?? []) as V3Sidecar[])
    .filter((s) => s.origin !== 'user')
    .map((s) => ({ name: s.name, process_types: s.process_types, command: s.command, ...(s.memory_in_mb ? { memory: s.memory_in_mb } : {}) }));
  const buildpacks = bps.map((b) => ({ key: b.name ?? '', name: b.buildpack_name ?? '', ...(b.version ? { version: b.version } : {}) }));
  const last = buildpacks[buildpacks.length - 1];
  const processes = Object.entries(processTypes).map(([type, command]) => ({ type, command }));
  return {
    lifecycle_type: 'buildpack',
    lifecycle_metadata: { buildpack_key: last?.key, detected_buildpack: last?.name ?? '', buildpacks },
    process_types: processTypes,
    processes: processes.length > 0 ? processes : null,
    sidecars: staged.length > 0 ? staged : null,
    execution_metadata: '',
  };
}

/** Delete the app and the buildpacks created for it, then the CF_HOME dir. Never throws. */
export async function cleanup(res: Resources): Promise<void> {
  if (res.appCreated) await res.cf.run(['delete', res.name, '-f', '-r'], true);
  for (const s of res.services) await res.cf.run(['delete-service', s, '-f'], true);
  for (const bp of res.buildpacks) await res.cf.run(['delete-buildpack', bp, '-f'], true);
  await rm(res.cfHome, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Quote for the remote shell while letting `$VARS` (e.g. $DEPS_DIR) expand there. */
function remoteQuote(s: string): string {
  return `"${s.replace(/(["\\`])/g, '\\$1')}"`;
}

export class CfDeployment implements Deployment {
  restartCount = 0;
  private recentLogs: string;
  private deleted: Promise<void> | undefined;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(
    private readonly res: Resources,
    readonly guid: string,
    readonly url: string,
    readonly stagingLogs: string,
    readonly stagingResult: StagingResult,
    private readonly pollIntervalMs: number,
  ) {
    this.recentLogs = stagingLogs;
  }

  get name(): string {
    return this.res.name;
  }

  /** The last `cf logs --recent` fetched (refreshed by kill, waitUntilRunning and delete). */
  logs(): string {
    return this.recentLogs;
  }

  async refreshLogs(): Promise<string> {
    const r = await this.res.cf.run(['logs', this.res.name, '--recent'], true);
    const old = new Set(this.recentLogs.split('\n'));
    this.recentLogs = r.stdout;
    for (const line of r.stdout.split('\n')) if (line && !old.has(line)) for (const l of this.listeners) l(line);
    return this.recentLogs;
  }

  async get(urlPath: string): Promise<{ status: number; body: string }> {
    const res = await fetch(new URL(urlPath, this.url));
    return { status: res.status, body: await res.text() };
  }

  async processes(): Promise<ProcessInfo[]> {
    const list = await this.res.cf.curl<{ resources?: V3Sidecar[] }>(`/v3/apps/${this.guid}/sidecars`);
    const app = await this.res.cf.run(['app', this.res.name], true);
    const running = /#0\s+running/.test(app.stdout);
    const web: ProcessInfo = { name: 'web', kind: 'web', command: this.stagingResult.process_types.web ?? '', running };
    return [
      web,
      ...(list.resources ?? []).map((s) => ({
        name: s.name,
        kind: 'sidecar' as const,
        command: s.command,
        process_types: s.process_types,
        ...(s.memory_in_mb ? { memory_in_mb: s.memory_in_mb } : {}),
        ...(s.origin ? { origin: s.origin } : {}),
        running,
      })),
    ];
  }

  /** SIGKILL the process inside the container over `cf ssh` (matched by its command line). */
  async kill(processName: string): Promise<void> {
    const procs = await this.processes();
    const p = procs.find((x) => x.name === processName);
    if (!p) throw new BuildpackError('NO_SUCH_PROCESS', `no process named '${processName}' in the app`);
    await this.res.cf.run(['ssh', this.res.name, '-c', `pkill -KILL -f -- ${remoteQuote(p.command)}`]);
    await this.refreshLogs();
  }

  /** Poll `cf events` (crashes) and `cf app` (instance #0 running). */
  async waitUntilRunning(options: { minRestarts?: number; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 180000);
    for (;;) {
      const events = await this.res.cf.run(['events', this.res.name], true);
      this.restartCount = events.stdout.split('\n').filter((l) => /app\.crash|audit\.app\.process\.crash/.test(l)).length;
      const app = await this.res.cf.run(['app', this.res.name], true);
      if (/#0\s+running/.test(app.stdout) && this.restartCount >= (options.minRestarts ?? 0)) {
        await this.refreshLogs();
        return;
      }
      if (Date.now() >= deadline) {
        await this.refreshLogs();
        throw new BuildpackError('INSTANCE_TIMEOUT', `app ${this.res.name} not running with ${options.minRestarts ?? 0} restart(s) in time`);
      }
      await sleep(this.pollIntervalMs);
    }
  }

  /** `cf run-task`, then poll the task's state; the exit status comes from its failure_reason. */
  async runTask(command: string, options: TaskOptions = {}): Promise<TaskResult> {
    const name = options.name ?? randomBytes(4).toString('hex');
    const args = ['run-task', this.res.name, '--command', command, '--name', name];
    if (options.memoryMb !== undefined) args.push('-m', `${options.memoryMb}M`);
    await this.res.cf.run(args);
    for (;;) {
      const list = await this.res.cf.curl<{ resources?: Array<{ name?: string; state?: string; result?: { failure_reason?: string | null } }> }>(
        `/v3/apps/${this.guid}/tasks?names=${encodeURIComponent(name)}`,
      );
      const task = list.resources?.find((t) => t.name === name);
      if (task?.state === 'SUCCEEDED' || task?.state === 'FAILED') {
        const logs = await this.refreshLogs();
        const reason = task.result?.failure_reason ?? '';
        const status = task.state === 'SUCCEEDED' ? 0 : Number(/Exited with status (\d+)/.exec(reason)?.[1] ?? 1);
        const mine = logs.split('\n').filter((l) => l.includes(`[APP/TASK/${name}/`));
        return { name, exitStatus: status, logs: mine.map((l) => `${l}\n`).join('') };
      }
      await sleep(this.pollIntervalMs);
    }
  }

  onLog(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  delete(): Promise<void> {
    this.deleted ??= this.refreshLogs()
      .catch(() => '')
      .then(() => cleanup(this.res));
    return this.deleted;
  }
}
