// The local platform: stages an app with the local builder, applies Cloud Controller's sidecar
// rules, and runs one instance (web + sidecars) on 127.0.0.1 — the embedded default platform.

import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isBuildpackError, UsageError } from '../../errors.js';
import { resolveAppSpec } from '../app-manifest.js';
import { timeScale, timeScaleFrom, type TimeScale } from '../backoff.js';
import { RoundRobinRoute } from '../balancer.js';
import { stackMismatch } from '../buildpack-stack.js';
import type { ProcessSpec } from '../process-spec.js';
import { leaseCache } from '../cache-lock.js';
import { bindServices, vcapServices as renderVcapServices } from '../services.js';
import { runTask, type TaskContainer } from '../task.js';
import { DeployError, type AppSpec, type Deployment, type Platform, type ProcessInfo, type StagingResult, type TaskOptions, type TaskResult } from '../types.js';
import { launcherArgs } from './launcher.js';
import { spawnGroup, stopGroup, type GroupProcess } from './process-group.js';
import { DEFAULT_DISK_MB, launcherPaths, type AppIdentity } from './env.js';
import { LogBook } from './log-book.js';
import { Cell, chooseIsolation, processModeNotice, rootlessNotice, type CellChoice, type Isolation, type IsolationRequest } from './cell.js';
import { freePort } from './ports.js';
import { InstanceRunner } from './runner.js';
import { ContainerSandboxes, ProcessSandboxes, writeLifecycle, type SandboxFactory } from './sandbox.js';
import { applyUserSidecars, processMemoryMap, syncDropletSidecars } from './sidecar-rules.js';
import { BuilderFailure, dropletDirOf, stage, StagingStopped } from './stager.js';

export interface LocalPlatformOptions {
  /** The host environment: PATH (to find bash, node...), proxies, USER. Never read globally. */
  hostEnv: Record<string, string | undefined>;
  /** Where droplets (removed on delete) and app caches (kept) live. Default `<tmpdir>/sidecar-buildpack-local`. */
  workRoot?: string;
  /** VCAP_SERVICES for staging and launch (default `{}`). */
  vcapServices?: string;
  /** Delay before restart number n (see InstanceOptions.backoffMs). */
  backoffMs?: (crashCount: number) => number;
  /** SIGTERM → SIGKILL grace when stopping processes (default 10 s). */
  stopGraceMs?: number;
  /** The start timeout of a process whose manifest entry has no `timeout:` (default 60 s). */
  healthCheckTimeoutMs?: number;
  /**
   * Restart delays (Diego's back-off, the 5-minute crash-count reset) times this, in (0, 1]
   * (default: SIDECAR_BUILDPACK_TIME_SCALE from hostEnv, else 1). Tests use 0.01.
   */
  timeScale?: number;
  /**
   * A first start that never becomes healthy: `delete` (default) stops the app and rejects;
   * `keep` rejects with a DeployError whose `deployment` keeps restarting with back-off until
   * deleted, as on a foundation (the CLI's push).
   */
  onFirstStartFailure?: 'delete' | 'keep';
  /** Every log line of every deploy as it happens, staging included (for a CLI to stream). */
  onLog?: (line: string) => void;
  /**
   * `container` (each staging and instance start in its own Linux container; fails where that is
   * impossible), `process` (on this machine's paths), or `auto` (default: containers where
   * possible, else process mode with one notice saying what it cannot reproduce).
   */
  isolation?: IsolationRequest;
}

const API = 'API/0';

/** The stacks of this platform: its cells run cflinuxfs4 (CONTRACT §2). */
export const LOCAL_STACKS: readonly string[] = ['cflinuxfs4'];

/** CC's default_app_memory: a process type's memory when the manifest gives none. */
const DEFAULT_PROCESS_MEMORY_MB = 1024;

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'app';
}

/** Stages and runs apps on this machine, as the platform would (CONTRACT §1–§3). */
export class LocalPlatform implements Platform {
  private readonly workRoot: string;
  private readonly choice: CellChoice;
  private readonly cell: Cell | undefined;
  private noticed = false;

  constructor(private readonly options: LocalPlatformOptions) {
    this.workRoot = options.workRoot ?? path.join(os.tmpdir(), 'sidecar-buildpack-local');
    this.choice = chooseIsolation(options.isolation ?? 'auto');
    this.cell = this.choice.isolation === 'container' ? new Cell(this.choice.support, this.workRoot, os.tmpdir()) : undefined;
  }

  private get timeScale(): TimeScale {
    return this.options.timeScale !== undefined ? timeScale(this.options.timeScale) : timeScaleFrom(undefined, this.options.hostEnv);
  }

  /** How this platform runs stagings and instances. */
  get isolation(): Isolation {
    return this.choice.isolation;
  }

  async deploy(spec: AppSpec, options: { signal?: AbortSignal } = {}): Promise<Deployment> {
    const log = new LogBook();
    if (this.options.onLog) log.onLine(this.options.onLog);
    if (this.choice.isolation === 'process' && !this.choice.requested && !this.noticed) {
      this.noticed = true;
      log.add('CELL/0', 'ERR', processModeNotice(this.choice.reason));
    }
    if (this.choice.isolation === 'container' && this.choice.support.tools.rootless && !this.noticed) {
      this.noticed = true;
      log.add('CELL/0', 'ERR', rootlessNotice());
    }
    let app: AppSpec;
    try {
      app = await resolveAppSpec(spec);
    } catch (e) {
      throw new DeployError('manifest', (e as Error).message, log.text(), { cause: e });
    }
    // CC refuses an app whose stack the foundation lacks (its text), before anything is created
    if (app.stack !== undefined && !LOCAL_STACKS.includes(app.stack)) {
      throw new DeployError('manifest', `Stack must be an existing stack (${JSON.stringify(app.stack)}: the local platform's stacks are ${LOCAL_STACKS.join(', ')})`, log.text());
    }
    const name = app.name ?? path.basename(path.resolve(app.dir));
    const memoryMb = app.memoryMb ?? 1024;
    const uri = app.noRoute ? undefined : app.randomRoute ? `${name}-${randomUUID().slice(0, 8)}.localhost` : `${name}.localhost`;
    const identity: AppIdentity = { name, guid: randomUUID(), memoryMb, ...(uri ? { uri } : {}), ...(app.diskMb ? { diskMb: app.diskMb } : {}) };
    let vcapServices = this.options.vcapServices ?? '{}';
    if (app.serviceCatalog || app.services) {
      // The manifest's services: binds by name; without it every service given is bound.
      const catalog = app.serviceCatalog ?? [];
      const refs = app.services ?? catalog.map((s) => ({ name: s.name }));
      try {
        const bound = bindServices(refs, catalog, { file: app.manifest ?? 'push', key: 'applications[0].services' });
        vcapServices = JSON.stringify(renderVcapServices(bound, identity.guid));
      } catch (e) {
        throw new DeployError('manifest', (e as Error).message, log.text(), { cause: e });
      }
    }
    const appEnv = app.env ?? {};
    log.add(API, 'OUT', `Created app with guid ${identity.guid}`);

    // A buildpack packaged for another stack is not one the platform would pick for this app.
    const mismatch = await stackMismatch(app.buildpacks, app.stack ?? 'cflinuxfs4').catch((e: unknown) => {
      throw new DeployError('manifest', (e as Error).message, log.text(), { cause: e });
    });
    if (mismatch) throw new DeployError('staging', mismatch, log.text());

    const user = applyUserSidecars(app.sidecars ?? [], { web: memoryMb });
    if (!user.ok) throw new DeployError('sidecars', user.message, log.text());

    await mkdir(path.join(this.workRoot, 'deploys'), { recursive: true });
    const workDir = await mkdtemp(path.join(this.workRoot, 'deploys', `${safeName(name)}-`));
    // removed by the janitor if this process dies without deleting the app
    this.cell?.removeOnExit(workDir);
    // web instance 0's container is made while the final buildpack runs; its droplet is mounted once staged
    const lifecycleDir = path.join(workDir, 'lifecycle');
    const webZero = this.cell
      ? new ContainerSandboxes(this.cell, {
          dropletDir: dropletDirOf(workDir),
          lifecycleDir,
          instancesDir: path.join(workDir, 'instances', 'web-0'),
          hostPort: await freePort(),
          nodePath: process.execPath,
          diskMb: app.processes?.find((p) => p.type === 'web')?.diskMb ?? identity.diskMb ?? DEFAULT_DISK_MB,
        })
      : undefined;
    const fail = async (phase: 'staging' | 'sidecars' | 'starting', message: string, extra?: { exitStatus?: number; cause?: unknown }) => {
      await webZero?.close();
      await rm(workDir, { recursive: true, force: true });
      return new DeployError(phase, message, log.text(), extra);
    };

    // Another push of this name staging now keeps the cache; this one gets a private one.
    const cache = await leaseCache(path.join(this.workRoot, 'cache', safeName(name)), process.pid);
    if (!cache.shared) log.add(API, 'OUT', `Another push of ${name} is staging with its build cache: this staging uses a fresh cache that is not kept`);
    let staged;
    try {
      staged = await stage({
        app: identity,
        appDir: app.dir,
        buildpacks: app.buildpacks,
        appEnv,
        hostEnv: this.options.hostEnv,
        stack: app.stack ?? 'cflinuxfs4',
        vcapServices,
        workDir,
        cacheRoot: cache.dir,
        log,
        cell: this.cell,
        signal: options.signal,
        vendorRoot: path.join(this.workRoot, 'vendored'),
        // the supply buildpacks are done: the instance's container is made beside the final one
        onFinalBuildpack: (droplet) => {
          if (!webZero) return;
          void mkdir(lifecycleDir, { recursive: true }).then(() => webZero.prewarm(1, droplet), () => undefined);
        },
      });
    } catch (e) {
      if (e instanceof BuilderFailure) throw await fail('staging', e.message, { exitStatus: e.exitStatus, cause: e });
      if (e instanceof StagingStopped) throw await fail('staging', e.message, { cause: e });
      if (isBuildpackError(e)) throw await fail('staging', e.message, { cause: e });
      await webZero?.close();
      throw e;
    } finally {
      await cache.release();
    }
    const stagingLogs = log.text();

    const types = Object.keys(staged.result.process_types);
    const synced = syncDropletSidecars(user.sidecars, staged.result.sidecars, processMemoryMap(types, memoryMb));
    if (!synced.ok) throw await fail('sidecars', synced.message);
    const processes = app.processes ?? [{ type: 'web' }];
    const plans: Array<{ spec: ProcessSpec; command: string; memoryMb: number; instances: number; guid: string; version: string }> = [];
    for (const spec of processes) {
      const instances = spec.instances ?? (spec.type === 'web' ? 1 : 0);
      if (instances === 0) continue;
      const command = spec.type === 'web' ? (app.command ?? staged.result.process_types.web) : (spec.command ?? staged.result.process_types[spec.type]);
      if (!command) throw await fail('starting', `Start unsuccessful: no start command for process type ${spec.type} (no Procfile, buildpack default or command)`);
      plans.push({
        spec,
        command,
        memoryMb: spec.type === 'web' ? memoryMb : (spec.memoryMb ?? DEFAULT_PROCESS_MEMORY_MB),
        instances,
        // web's process guid is the app's (CC); every process has its own version
        guid: spec.type === 'web' ? identity.guid : randomUUID(),
        version: randomUUID(),
      });
    }
    if (!plans.some((p) => p.spec.type === 'web')) throw await fail('starting', 'Start unsuccessful: web has 0 instances (the local platform needs web running to give the app a route)');

    await writeLifecycle(lifecycleDir, staged.entrypointPrefix);
    const scale = this.timeScale;
    const runners: InstanceRunner[] = [];
    const webPorts: number[] = [];
    for (const plan of plans) {
      for (let index = 0; index < plan.instances; index++) {
        // each instance its own container, host port and route (CF_INSTANCE_PORT differs per instance)
        const zero = plan.spec.type === 'web' && index === 0 ? webZero : undefined;
        const hostPort = zero ? zero.hostPort : await freePort();
        if (plan.spec.type === 'web') webPorts.push(hostPort);
        const sandboxes: SandboxFactory = zero
          ? zero
          : this.cell
          ? new ContainerSandboxes(this.cell, {
              dropletDir: staged.dropletDir,
              lifecycleDir,
              instancesDir: path.join(workDir, 'instances', `${plan.spec.type}-${index}`),
              hostPort,
                  nodePath: process.execPath,
              diskMb: plan.spec.diskMb ?? identity.diskMb ?? DEFAULT_DISK_MB,
            })
          : new ProcessSandboxes(staged.dropletDir, lifecycleDir, hostPort);
        runners.push(
          new InstanceRunner({
            sandboxes,
            home: this.cell ? '/home/vcap' : staged.dropletDir,
            app: identity,
            appEnv,
            // in a container nothing of the host's env applies (PATH is the stack's default)
            hostEnv: this.cell ? {} : this.options.hostEnv,
            vcapServices,
            webCommand: plan.command,
            sidecars: synced.sidecars,
            log,
            processType: plan.spec.type,
            processGuid: plan.guid,
            processVersion: plan.version,
            memoryMb: plan.memoryMb,
            index,
            timeScale: scale,
            ...(plan.spec.healthCheck ? { healthCheck: plan.spec.healthCheck } : {}),
            onFirstStartFailure: this.options.onFirstStartFailure ?? 'delete',
            backoffMs: this.options.backoffMs,
            stopGraceMs: this.options.stopGraceMs,
            healthCheckTimeoutMs: this.options.healthCheckTimeoutMs,
          }),
        );
      }
    }
    // One web instance: its own host port is the route. More: a round-robin route in front.
    let port = webPorts[0];
    let balancer: RoundRobinRoute | undefined;
    if (webPorts.length > 1) {
      port = await freePort();
      balancer = new RoundRobinRoute(webPorts);
      await balancer.listen(port);
    }
    const stopAll = async () => {
      await Promise.all(runners.map((r) => r.stop()));
      await balancer?.close();
    };
    // a stop request while the instances start deletes them (their starts then reject)
    const stopStarting = () => void stopAll();
    options.signal?.addEventListener('abort', stopStarting, { once: true });
    if (options.signal?.aborted) await stopAll();
    const started = await Promise.allSettled(runners.map((r) => r.start()));
    options.signal?.removeEventListener('abort', stopStarting);
    if (options.signal?.aborted) {
      await stopAll();
      const why = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as Error | undefined;
      throw await fail('starting', why?.message ?? 'the app was deleted while starting', { cause: why });
    }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && (this.options.onFirstStartFailure ?? 'delete') === 'delete') {
      await stopAll();
      throw await fail('starting', (failed.reason as Error).message, { cause: failed.reason });
    }
    const dropletDir = staged.dropletDir;
    const tasksRoot = path.join(workDir, 'tasks');
    const entrypointPrefix = staged.entrypointPrefix;
    const hostEnv = this.options.hostEnv;
    // tasks' containers have no route: the factory's host port is never listened on
    const taskSandboxes: SandboxFactory | undefined = this.cell
      ? new ContainerSandboxes(this.cell, {
          dropletDir,
          lifecycleDir,
          instancesDir: path.join(workDir, 'task-containers'),
          hostPort: 0,
          nodePath: process.execPath,
          diskMb: identity.diskMb ?? DEFAULT_DISK_MB,
        })
      : undefined;
    // Process mode: each task gets a fresh copy of the droplet (its "container"), removed after.
    const processTask = async (): Promise<TaskContainer> => {
      await mkdir(tasksRoot, { recursive: true });
      const root = await mkdtemp(path.join(tasksRoot, 'task-'));
      await cp(dropletDir, root, { recursive: true, verbatimSymlinks: true });
      let proc: GroupProcess | undefined;
      return {
        launcher: { home: `${root}/app`, tmpDir: `${root}/tmp`, depsDir: `${root}/deps` },
        ip: '127.0.0.1',
        internalIp: '127.0.0.1',
        spawn: (cmd, env, stdout, stderr) => {
          const p = spawnGroup('/bin/bash', launcherArgs(`${root}/app`, cmd, entrypointPrefix), { env, cwd: root, stdout, stderr });
          proc = p;
          return { exited: p.exited.then((info) => ({ status: info.status })) };
        },
        destroy: async () => {
          // the whole process group goes, as a container's processes do
          if (proc) await stopGroup(proc, 0);
          await rm(root, { recursive: true, force: true });
        },
      };
    };
    // Container mode: a task container like an instance's (the droplet fresh at /home/vcap), without a route
    let tasks = 0;
    const containerTask = async (memoryMb: number, guid: string): Promise<TaskContainer> => {
      const sandbox = await (taskSandboxes as ContainerSandboxes).create(1_000_000 + ++tasks, memoryMb, [{ name: 'task', memoryMb }], { route: false, guid });
      return {
        launcher: launcherPaths('/home/vcap'),
        ip: sandbox.ip,
        internalIp: sandbox.ip,
        spawn: (cmd, env, stdout, stderr) => ({ exited: sandbox.spawn({ name: 'task', command: cmd, env, memoryMb, stdout, stderr }).exited.then((info) => ({ status: info.status })) }),
        destroy: () => sandbox.destroy(),
      };
    };
    const task = (command: string, options?: TaskOptions) =>
      runTask(
        {
          app: identity,
          appEnv,
          vcapServices,
          log,
          // in a container: the stack's PATH
          path: this.cell ? undefined : hostEnv.PATH,
          container: this.cell ? containerTask : processTask,
        },
        command,
        options,
      );
    const deployment = new LocalDeployment(name, uri ? `http://127.0.0.1:${port}` : '', stagingLogs, staged.result, log, runners, stopAll, task, async () => {
      await rm(workDir, { recursive: true, force: true });
      log.add(API, 'OUT', `Deleted app with guid ${identity.guid}`);
    });
    if (failed) {
      // As on a foundation: the push fails, the app stays and keeps restarting until deleted.
      throw new DeployError('starting', (failed.reason as Error).message, log.text(), { cause: failed.reason, deployment });
    }
    return deployment;
  }
}

/** A running app on the local platform: its instances (web's first is the one `processes()`/`kill()` address). */
class LocalDeployment implements Deployment {
  private deleted: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly stagingLogs: string,
    readonly stagingResult: StagingResult,
    private readonly log: LogBook,
    private readonly runners: InstanceRunner[],
    private readonly stopAll: () => Promise<void>,
    private readonly task: (command: string, options?: TaskOptions) => Promise<TaskResult>,
    private readonly cleanup: () => Promise<void>,
  ) {}

  private get primary(): InstanceRunner {
    return this.runners[0];
  }

  get restartCount(): number {
    return this.primary.restartCount;
  }

  logs(): string {
    return this.log.text();
  }

  async get(urlPath: string): Promise<{ status: number; body: string }> {
    if (!this.url) throw new UsageError(`app ${this.name} has no route (no-route)`);
    const res = await fetch(new URL(urlPath, this.url));
    return { status: res.status, body: await res.text() };
  }

  async processes(): Promise<ProcessInfo[]> {
    return this.primary.processes();
  }

  kill(processName: string): Promise<void> {
    return this.primary.kill(processName);
  }

  async waitUntilRunning(options: { minRestarts?: number; timeoutMs?: number } = {}): Promise<void> {
    const timeout = options.timeoutMs ?? 30000;
    await Promise.all(this.runners.map((r, i) => r.waitUntilRunning(i === 0 ? (options.minRestarts ?? 0) : 0, timeout)));
  }

  onLog(listener: (line: string) => void): () => void {
    return this.log.onLine(listener);
  }

  runTask(command: string, options?: TaskOptions): Promise<TaskResult> {
    if (this.deleted) return Promise.reject(new UsageError(`app ${this.name} was deleted`));
    return this.task(command, options);
  }

  delete(): Promise<void> {
    this.deleted ??= this.stopAll().then(this.cleanup);
    return this.deleted;
  }
}

export { DeployError } from '../types.js';
export type { AppSpec, Deployment, Platform, ProcessInfo, StagingResult } from '../types.js';
