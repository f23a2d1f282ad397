// One app instance on this machine (CONTRACT §2): the web process plus its sidecars, each
// started like the launcher; port health for web; when any process exits the whole instance is
// stopped, the crash logged as the platform logs it, and the instance restarted with back-off.

import { randomUUID } from 'node:crypto';
import { BuildpackError } from '../../errors.js';
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
  /** Delay before restart number `crashCount` (default: 0 for the first three, then doubling from 1 s, at most 30 s). */
  backoffMs?: (crashCount: number) => number;
  /** SIGTERM → SIGKILL grace when stopping (default 10 s, the platform's). */
  stopGraceMs?: number;
  /** Web must answer on its port within this time (default 60 s). */
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Go's duration format for whole seconds (`1m0s`, `5s`), as the platform prints it. */
function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

function defaultBackoff(crashCount: number): number {
  return crashCount <= 3 ? 0 : Math.min(1000 * 2 ** (crashCount - 4), 30000);
}

export class InstanceRunner {
  /** Restarts done so far. */
  restartCount = 0;
  /** Crashes so far (the payload's `crash_count`). */
  crashCount = 0;
  private state: State = 'down';
  private everHealthy = false;
  private generation = 0;
  private instanceGuid = randomUUID();
  private readonly specs: ProcSpec[];
  private readonly procs = new Map<string, GroupProcess>();
  private sandbox: Sandbox | undefined;
  private creating: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstStart: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly o: InstanceOptions) {
    const sidecars = o.sidecars.filter((s) => s.process_types.includes('web'));
    const sidecarMemory = sidecars.reduce((sum, s) => sum + (s.memory ?? 0), 0);
    this.specs = [
      { name: 'web', kind: 'web', command: o.webCommand, memoryMb: o.app.memoryMb - sidecarMemory, source: logSource('web') },
      ...sidecars.map((s) => ({
        name: s.name,
        kind: 'sidecar' as const,
        command: s.command,
        memoryMb: s.memory ?? o.app.memoryMb,
        source: logSource('web', s.name),
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
    this.instanceGuid = randomUUID();
    this.setState('starting');
    const { log } = this.o;
    log.add('CELL/0', 'OUT', `Cell ${CELL} creating container for instance ${this.instanceGuid}`);
    this.creating = this.o.sandboxes.create(gen, this.o.app.memoryMb, this.specs.map((s) => ({ name: s.name, memoryMb: s.memoryMb }))).then(
      (sandbox) => {
        if (gen !== this.generation || this.state !== 'starting') return sandbox.destroy();
        this.sandbox = sandbox;
        this.startProcesses(gen, sandbox);
      },
      (e: Error) => {
        log.add('CELL/0', 'ERR', `Cell ${CELL} failed to create container for instance ${this.instanceGuid}: ${e.message}`);
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
    log.add('CELL/0', 'OUT', `Cell ${CELL} successfully created container for instance ${this.instanceGuid}`);
    log.add('CELL/0', 'OUT', 'Downloading droplet...');
    log.add('CELL/0', 'OUT', 'Downloaded droplet');
    for (const spec of this.specs) {
      // PORT is 8080 in a container (the host port in process mode, where the host network is shared)
      const env = launchEnv({
        app: this.o.app,
        appEnv: this.o.appEnv,
        launcher: launcherPaths(this.o.home),
        processType: 'web',
        processGuid: this.o.app.guid,
        processVersion: this.o.app.guid,
        memoryMb: spec.memoryMb,
        net: { ip: sandbox.ip, internalIp: sandbox.ip, hostPort: sandbox.hostPort, containerPort: sandbox.port },
        instanceGuid: this.instanceGuid,
        instanceIndex: 0,
        vcapServices: this.o.vcapServices,
        path: this.o.hostEnv.PATH,
      });
      const tag = `${spec.source}/0`;
      const proc = sandbox.spawn({ name: spec.name, command: spec.command, env, memoryMb: spec.memoryMb, stdout: log.writer(tag, 'OUT'), stderr: log.writer(tag, 'ERR') });
      this.procs.set(spec.name, proc);
      void proc.exited.then(async (info) => {
        log.add(tag, 'OUT', `Exit status ${info.status}`);
        if (gen === this.generation && (this.state === 'starting' || this.state === 'running')) {
          const oom = info.status === 137 && (await sandbox.outOfMemory(spec.name));
          if (gen === this.generation && (this.state === 'starting' || this.state === 'running')) {
            void this.crash(gen, `${spec.source}: Exited with status ${info.status}${oom ? ' (out of memory)' : ''}`);
          }
        }
      });
    }
    log.add('CELL/0', 'OUT', 'Starting health monitoring of container');
    void this.healthLoop(gen, sandbox);
  }

  private async healthLoop(gen: number, sandbox: Sandbox): Promise<void> {
    const timeout = this.o.healthCheckTimeoutMs ?? 60000;
    const deadline = Date.now() + timeout;
    // poll fast at first (apps usually listen within a few hundred ms), then back off
    let interval = Math.min(5, this.o.healthCheckIntervalMs ?? 100);
    while (gen === this.generation && this.state === 'starting') {
      if (await sandbox.healthy()) {
        if (gen !== this.generation || this.state !== 'starting') return;
        this.o.log.add('CELL/0', 'OUT', 'Container became healthy');
        this.everHealthy = true;
        this.setState('running');
        this.firstStart?.resolve();
        this.firstStart = undefined;
        return;
      }
      if (Date.now() >= deadline) {
        const why = `Instance never healthy after ${goDuration(timeout)}: Failed to make TCP connection to ${sandbox.ip}:${sandbox.port}: connection refused`;
        this.o.log.add('CELL/0', 'ERR', `Failed after ${goDuration(timeout)}: startup health check never passed.`);
        void this.crash(gen, why);
        return;
      }
      await sleep(interval);
      interval = Math.min(interval * 2, this.o.healthCheckIntervalMs ?? 100);
    }
  }

  private async crash(gen: number, description: string): Promise<void> {
    this.setState('crashing');
    this.crashCount++;
    const instance = this.instanceGuid;
    await this.stopAll();
    const payload = [
      `"instance"=>"${instance}"`,
      `"index"=>0`,
      `"cell_id"=>"${CELL}"`,
      `"reason"=>"CRASHED"`,
      `"exit_description"=>"${description}"`,
      `"crash_count"=>${this.crashCount}`,
      `"crash_timestamp"=>${BigInt(Date.now()) * 1000000n}`,
      `"version"=>"${this.o.app.guid}"`,
    ].join(', ');
    this.o.log.add('API/0', 'OUT', `App instance exited with guid ${this.o.app.guid} payload: {${payload}}`);
    this.o.log.add('API/0', 'OUT', 'Process has crashed with type: "web"');
    if (gen !== this.generation || this.state === 'deleted') return;
    if (!this.everHealthy && this.firstStart) {
      // The first start never became healthy: the push fails instead of retrying forever.
      this.setState('down');
      this.firstStart.reject(new BuildpackError('INSTANCE_CRASHED', `Start unsuccessful: ${description}`));
      this.firstStart = undefined;
      return;
    }
    this.setState('backoff');
    this.timer = setTimeout(() => {
      if (this.state !== 'backoff' || gen !== this.generation) return;
      this.restartCount++;
      this.launch();
    }, (this.o.backoffMs ?? defaultBackoff)(this.crashCount));
  }

  private async stopAll(): Promise<void> {
    const { log } = this.o;
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    log.add('CELL/0', 'OUT', `Cell ${CELL} stopping instance ${this.instanceGuid}`);
    if (sandbox) await Promise.all([...this.procs.values()].map((p) => sandbox.stop(p, this.o.stopGraceMs ?? 10000)));
    log.add('CELL/0', 'OUT', `Cell ${CELL} destroying container for instance ${this.instanceGuid}`);
    await sandbox?.destroy();
    log.add('CELL/0', 'OUT', `Cell ${CELL} successfully destroyed container for instance ${this.instanceGuid}`);
  }
}
