// One app instance on this machine (CONTRACT §2): the web process plus its sidecars, each
// started like the launcher; port health for web; when any process exits the whole instance is
// stopped, the crash logged as the platform logs it, and the instance restarted with back-off.

import { randomUUID } from 'node:crypto';
import { BuildpackError } from '../../errors.js';
import { timeScale as makeTimeScale, type TimeScale } from '../backoff.js';
import { CrashTracker, crashLines, exitDescription } from '../crash.js';
import { waitForStartup, type HealthCheckSpec } from '../health-check.js';
import type { ProcessInfo } from '../types.js';
import { launchEnv, launcherPaths, type AppIdentity } from './env.js';
import { logSource } from './launcher.js';
import type { LogBook } from './log-book.js';
import type { GroupProcess } from './process-group.js';
import type { Sandbox, SandboxFactory } from './sandbox.js';
import type { AppSidecar } from './sidecar-rules.js';

export interface InstanceOptions {
  /** Where each start runs: a fresh container, or the deploy dir in process mode. */
  sandboxes: SandboxFactory;
  /** The droplet root as the processes see it (`/home/vcap` in a container). */
  home: string;
  app: AppIdentity;
  appEnv: Record<string, string>;
  hostEnv: Record<string, string | undefined>;
  vcapServices: string;
  webCommand: string;
  /** The app's sidecars; those whose process_types include `web` run in the instance. */
  sidecars: AppSidecar[];
  log: LogBook;
  /** Overrides Diego's back-off (real ms before restart number `crashCount`); tests that do not time it use this. */
  backoffMs?: (crashCount: number) => number;
  /** Restart delays (back-off, the crash-count reset) times this (default 1). */
  timeScale?: TimeScale;
  /** The process type this instance runs (default `web`) and its guid/version (default the app's guid). */
  processType?: string;
  processGuid?: string;
  processVersion?: string;
  /** The process's memory (default the app's). */
  memoryMb?: number;
  /** INSTANCE_INDEX and the log tags' `/<index>` (default 0). */
  index?: number;
  /** The startup check (default port for web, process for other types). */
  healthCheck?: Partial<HealthCheckSpec>;
  /**
   * A first start that never becomes healthy: `delete` (default) rejects start() and stops;
   * `keep` rejects start() too but keeps restarting with back-off, as a foundation does, until stop().
   */
  onFirstStartFailure?: 'delete' | 'keep';
  /** SIGTERM → SIGKILL grace when stopping (default 10 s, the platform's). */
  stopGraceMs?: number;
  /** The start timeout when the manifest gives none (default 60 s). */
  healthCheckTimeoutMs?: number;
  healthCheckIntervalMs?: number;
}

interface ProcSpec {
  name: string;
  kind: 'web' | 'sidecar';
  command: string;
  memoryMb: number;
  source: string;
  sidecar?: AppSidecar;
}

type State = 'down' | 'starting' | 'running' | 'crashing' | 'backoff' | 'deleted';

const CELL = 'local-cell';
export class InstanceRunner {
  /** Restarts done so far. */
  restartCount = 0;
  /** Crashes so far (the payload's `crash_count`). */
  crashCount = 0;
  private state: State = 'down';
  private everHealthy = false;
  private generation = 0;
  private instanceGuid: string = randomUUID();
  private readonly specs: ProcSpec[];
  private readonly procs = new Map<string, GroupProcess>();
  private sandbox: Sandbox | undefined;
  private creating: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstStart: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly changeListeners = new Set<() => void>();
  private readonly scale: TimeScale;
  private readonly crashes: CrashTracker;
  private readonly type: string;
  private readonly index: number;
  private readonly cellTag: string;

  constructor(private readonly o: InstanceOptions) {
    this.type = o.processType ?? 'web';
    this.index = o.index ?? 0;
    this.cellTag = `CELL/${this.index}`;
    this.scale = o.timeScale ?? makeTimeScale(1);
    this.crashes = new CrashTracker(this.scale);
    const memoryMb = o.memoryMb ?? o.app.memoryMb;
    const sidecars = o.sidecars.filter((s) => s.process_types.includes(this.type));
    const sidecarMemory = sidecars.reduce((sum, s) => sum + (s.memory ?? 0), 0);
    this.specs = [
      { name: this.type, kind: 'web', command: o.webCommand, memoryMb: memoryMb - sidecarMemory, source: logSource(this.type) },
      ...sidecars.map((s) => ({
        name: s.name,
        kind: 'sidecar' as const,
        command: s.command,
        memoryMb: s.memory ?? memoryMb,
        source: logSource(this.type, s.name),
        sidecar: s,
      })),
    ];
  }

  /** Start the instance; resolves when web answers, rejects with the crash if it never does. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.state === 'deleted') return reject(new BuildpackError('INSTANCE_DELETED', 'the app was deleted while starting'));
      this.firstStart = { resolve, reject };
      this.launch();
    });
  }

  /** The processes of the instance and whether each runs now. */
  processes(): ProcessInfo[] {
    return this.specs.map((s) => {
      const p = this.procs.get(s.name);
      const info: ProcessInfo = { name: s.name, kind: s.kind, command: s.command, running: Boolean(p?.running()) };
      if (p?.running()) info.pid = p.pid;
      if (s.sidecar) {
        info.process_types = [...s.sidecar.process_types];
        info.origin = s.sidecar.origin;
        if (s.sidecar.memory !== undefined) info.memory_in_mb = s.sidecar.memory;
      }
      return info;
    });
  }

  /** SIGKILL the named process's group and wait for it to exit. */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!this.specs.some((s) => s.name === name)) throw new BuildpackError('NO_SUCH_PROCESS', `no process named '${name}' in the instance`);
    if (!p || !p.running()) throw new BuildpackError('PROCESS_NOT_RUNNING', `process '${name}' is not running`);
    p.signal('SIGKILL');
    await p.exited;
  }

  /** Resolve once running with at least `minRestarts` restarts; reject after `timeoutMs`. */
  waitUntilRunning(minRestarts = 0, timeoutMs = 30000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.state === 'running' && this.restartCount >= minRestarts) {
          finish();
          resolve();
        } else if (this.state === 'deleted' || (this.state === 'down' && !this.everHealthy)) {
          finish();
          reject(new BuildpackError('INSTANCE_DOWN', 'the instance is not running'));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new BuildpackError('INSTANCE_TIMEOUT', `instance not running with ${minRestarts} restart(s) after ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.changeListeners.delete(check);
      };
      this.changeListeners.add(check);
      check();
    });
  }

  /** Stop every process (SIGTERM, grace, SIGKILL) and never restart. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const wasActive = this.sandbox !== undefined || [...this.procs.values()].some((p) => p.running());
    this.setState('deleted');
    this.generation++;
    // a container still being made is destroyed by launch() once it exists
    await this.creating;
    if (wasActive || this.sandbox) await this.stopAll();
    await Promise.all([...this.procs.values()].map((p) => p.exited));
    await this.o.sandboxes.close();
    this.firstStart?.reject(new BuildpackError('INSTANCE_DELETED', 'the app was deleted while starting'));
    this.firstStart = undefined;
  }

  private setState(s: State): void {
    if (this.state === 'deleted') return;
    this.state = s;
    for (const l of [...this.changeListeners]) l();
  }

  private launch(): void {
    const gen = ++this.generation;
    // the container's handle: a container made ahead of time has its guid already
    this.instanceGuid = this.o.sandboxes.guidFor?.(gen) ?? randomUUID();
    this.setState('starting');
    const { log } = this.o;
    log.add(this.cellTag, 'OUT', `Cell ${CELL} creating container for instance ${this.instanceGuid}`);
    this.creating = this.o.sandboxes.create(gen, this.o.app.memoryMb, this.specs.map((s) => ({ name: s.name, memoryMb: s.memoryMb }))).then(
      (sandbox) => {
        if (gen !== this.generation || this.state !== 'starting') return sandbox.destroy();
        this.sandbox = sandbox;
        this.startProcesses(gen, sandbox);
      },
      (e: Error) => {
        log.add(this.cellTag, 'ERR', `Cell ${CELL} failed to create container for instance ${this.instanceGuid}: ${e.message}`);
        if (gen === this.generation) void this.crash(gen, `failed to create container: ${e.message}`);
      },
    );
    const creating = this.creating;
    void creating.finally(() => {
      if (this.creating === creating) this.creating = undefined;
    });
  }

  private startProcesses(gen: number, sandbox: Sandbox): void {
    const { log } = this.o;
    log.add(this.cellTag, 'OUT', `Cell ${CELL} successfully created container for instance ${this.instanceGuid}`);
    log.add(this.cellTag, 'OUT', 'Downloading droplet...');
    log.add(this.cellTag, 'OUT', 'Downloaded droplet');
    for (const spec of this.specs) {
      // PORT is 8080 in a container (the host port in process mode, where the host network is shared)
      const env = launchEnv({
        app: this.o.app,
        appEnv: this.o.appEnv,
        launcher: launcherPaths(this.o.home),
        processType: this.type,
        processGuid: this.o.processGuid ?? this.o.app.guid,
        processVersion: this.o.processVersion ?? this.o.app.guid,
        memoryMb: spec.memoryMb,
        net: { ip: sandbox.ip, internalIp: sandbox.ip, hostPort: sandbox.hostPort, containerPort: sandbox.port },
        instanceGuid: this.instanceGuid,
        instanceIndex: this.index,
        vcapServices: this.o.vcapServices,
        path: this.o.hostEnv.PATH,
      });
      const tag = `${spec.source}/${this.index}`;
      const proc = sandbox.spawn({ name: spec.name, command: spec.command, env, memoryMb: spec.memoryMb, stdout: log.writer(tag, 'OUT'), stderr: log.writer(tag, 'ERR') });
      this.procs.set(spec.name, proc);
      void proc.exited.then(async (info) => {
        log.add(tag, 'OUT', `Exit status ${info.status}`);
        if (gen === this.generation && (this.state === 'starting' || this.state === 'running')) {
          const oom = info.status === 137 && (await sandbox.outOfMemory(spec.name));
          if (gen === this.generation && (this.state === 'starting' || this.state === 'running')) {
            void this.crash(gen, exitDescription(spec.source, info.status, oom));
          }
        }
      });
    }
    // a `process` check is no monitor at all: Diego starts no health check step
    if ((this.o.healthCheck?.type ?? (this.type === 'web' ? 'port' : 'process')) !== 'process') log.add(this.cellTag, 'OUT', 'Starting health monitoring of container');
    void this.healthLoop(gen, sandbox);
  }

  private async healthLoop(gen: number, sandbox: Sandbox): Promise<void> {
    const hc: HealthCheckSpec = { type: this.type === 'web' ? 'port' : 'process', ...this.o.healthCheck } as HealthCheckSpec;
    if (hc.startTimeoutMs === undefined && this.o.healthCheckTimeoutMs !== undefined) hc.startTimeoutMs = this.o.healthCheckTimeoutMs;
    const outcome = await waitForStartup(
      hc,
      { host: sandbox.ip, port: sandbox.port, portOpen: () => sandbox.healthy(), connect: () => sandbox.connect() },
      { cancelled: () => gen !== this.generation || this.state !== 'starting', intervalMs: this.o.healthCheckIntervalMs },
    );
    if (gen !== this.generation || this.state !== 'starting') return;
    if (outcome.healthy) {
      if (hc.type !== 'process') this.o.log.add(this.cellTag, 'OUT', 'Container became healthy');
      this.everHealthy = true;
      this.crashes.running(Date.now());
      this.setState('running');
      this.firstStart?.resolve();
      this.firstStart = undefined;
      return;
    }
    if (outcome.cancelled) return;
    this.o.log.add(`HEALTH/${this.index}`, 'ERR', outcome.lastError);
    this.o.log.add(this.cellTag, 'ERR', outcome.logLine);
    void this.crash(gen, outcome.crashReason);
  }

  private async crash(gen: number, description: string): Promise<void> {
    this.setState('crashing');
    const plan = this.crashes.crash(Date.now());
    this.crashCount = plan.crashCount;
    const instance = this.instanceGuid;
    await this.stopAll();
    for (const line of crashLines({
      appGuid: this.o.app.guid,
      instanceGuid: instance,
      index: this.index,
      cellId: CELL,
      processType: this.type,
      description,
      crashCount: plan.crashCount,
      version: this.o.processVersion ?? this.o.app.guid,
      at: Date.now(),
    })) {
      this.o.log.add('API/0', 'OUT', line);
    }
    if (gen !== this.generation || this.state === 'deleted') return;
    if (!this.everHealthy && this.firstStart) {
      const first = this.firstStart;
      this.firstStart = undefined;
      if ((this.o.onFirstStartFailure ?? 'delete') === 'delete') {
        // The first start never became healthy: the push fails and the instance is not restarted.
        this.setState('down');
        first.reject(new BuildpackError('INSTANCE_CRASHED', `Start unsuccessful: ${description}`));
        return;
      }
      // As on a foundation: the push is told, the instance keeps restarting with back-off until deleted.
      first.reject(new BuildpackError('INSTANCE_CRASHED', `Start unsuccessful: ${description}`));
    }
    if (plan.delayMs === undefined) {
      this.o.log.add(this.cellTag, 'ERR', `Instance ${this.index} of process ${this.type} ${plan.message}`);
      this.setState('down');
      return;
    }
    const delay = this.o.backoffMs ? this.o.backoffMs(plan.crashCount) : plan.delayMs;
    const when = this.o.backoffMs ? `restarting in ${delay}ms (back-off set by the caller)` : plan.message;
    this.o.log.add(this.cellTag, 'OUT', `Instance ${this.index} of process ${this.type} crashed (crash_count ${plan.crashCount}): ${when}`);
    this.setState('backoff');
    this.timer = setTimeout(() => {
      if (this.state !== 'backoff' || gen !== this.generation) return;
      this.restartCount++;
      this.launch();
    }, delay);
  }

  private async stopAll(): Promise<void> {
    const { log } = this.o;
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    log.add(this.cellTag, 'OUT', `Cell ${CELL} stopping instance ${this.instanceGuid}`);
    if (sandbox) await Promise.all([...this.procs.values()].map((p) => sandbox.stop(p, this.o.stopGraceMs ?? 10000)));
    log.add(this.cellTag, 'OUT', `Cell ${CELL} destroying container for instance ${this.instanceGuid}`);
    await sandbox?.destroy();
    log.add(this.cellTag, 'OUT', `Cell ${CELL} successfully destroyed container for instance ${this.instanceGuid}`);
  }
}
