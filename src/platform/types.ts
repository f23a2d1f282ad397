// The platform interface shared by the local and cf platforms: what an app to push looks like,
// what a running deployment offers, the builder's staging result (CONTRACT §1), DeployError.

import { BuildpackError } from '../errors.js';
import type { ProcessSpec } from './process-spec.js';
import type { ServiceInstance, ServiceRef } from './services.js';
import type { Vars } from './vars.js';

/** A sidecar declared by the app developer in the app manifest (`origin: user`, CONTRACT §3). */
export interface UserSidecar {
  name: string;
  command: string;
  process_types: string[];
  /** MB; absent = no own limit. */
  memory?: number;
}

/** An app to push: the local equivalent of `cf push APP -b ... -f manifest.yml`. */
export interface AppSpec {
  /** The app's source directory (copied, honouring `.cfignore`). */
  dir: string;
  /** App name; also the key of the app cache that survives between pushes. */
  name?: string;
  /** Buildpacks in order (directories or `.zip` files); the last one is the final buildpack. */
  buildpacks: string[];
  /** App env vars (`env:` of the manifest, `--env`). */
  env?: Record<string, string>;
  /** An app manifest (`cf push -f`): its `applications[0]` fills fields not given here. */
  manifest?: string;
  /** Default `cflinuxfs4`. */
  stack?: string;
  /** The web process memory in MB (default 1024). */
  memoryMb?: number;
  /** Overrides the staged web command, as `cf push -c` does. */
  command?: string;
  /** User sidecars (`origin: user`). */
  sidecars?: UserSidecar[];
  /** `--var`/`--vars-file` values for the manifest's `((name))`. */
  vars?: Vars;
  /** The web process disk quota in MB (`disk_quota:`). */
  diskMb?: number;
  /** Web instances (`instances:`, `cf push -i`). */
  instances?: number;
  /** Process types and their settings (from `processes:` and the top-level keys; see app-manifest.ts). */
  processes?: ProcessSpec[];
  /** Services to bind, by name (the manifest's `services:`); default: every service in `serviceCatalog`. */
  services?: ServiceRef[];
  /** The service instances that exist (`--service`, `--services-file`). */
  serviceCatalog?: ServiceInstance[];
  noRoute?: boolean;
  randomRoute?: boolean;
}

/** One `process_types` entry of the staging result, in merge order. */
export interface StagedProcess {
  type: string;
  command: string;
}

/** A sidecar in the builder's staging result (`memory` omitted when 0, CONTRACT §1). */
export interface StagedSidecar {
  name: string;
  process_types: string[];
  command: string;
  memory?: number;
}

/** `lifecycle_metadata.buildpacks[i]`: the buildpack's key plus its `deps/<idx>/config.yml`. */
export interface BuildpackMetadata {
  key: string;
  name?: string;
  version?: string;
  config?: Record<string, unknown>;
  output_metadata?: unknown;
}

/** The builder's results JSON (buildpackapplifecycle's format). */
export interface StagingResult {
  lifecycle_type: 'buildpack';
  lifecycle_metadata: {
    buildpack_key?: string;
    detected_buildpack: string;
    buildpacks: BuildpackMetadata[];
  };
  process_types: Record<string, string>;
  /** `null` when there are none (the builder's JSON always has the key). */
  processes: StagedProcess[] | null;
  /** `null` when no launch.yml declared a sidecar. */
  sidecars: StagedSidecar[] | null;
  execution_metadata: string;
}

/** A process of the running instance, as the platform lists it. */
export interface ProcessInfo {
  /** `web` or the sidecar's name. */
  name: string;
  kind: 'web' | 'sidecar';
  command: string;
  /** Sidecars only. */
  process_types?: string[];
  /** Sidecars: their own limit, if any. */
  memory_in_mb?: number;
  origin?: 'user' | 'buildpack';
  /** Local platform only: the process-group leader's pid while running. */
  pid?: number;
  running: boolean;
}

/** A pushed, running app. */
export interface Deployment {
  /** App name as pushed (the cf platform makes it unique). */
  readonly name: string;
  /** Where the web process answers, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The staging log, each line tagged (`[STG/0] OUT ...`). */
  readonly stagingLogs: string;
  readonly stagingResult: StagingResult;
  /** Instance restarts so far (crashes that were followed by a new start). */
  readonly restartCount: number;
  /** All tagged log lines so far (`[APP/PROC/WEB/0] OUT ...`, `[CELL/0] ...`, `[API/0] ...`). */
  logs(): string;
  /** HTTP GET on the app's URL. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** The web process and the sidecars of the instance. */
  processes(): Promise<ProcessInfo[]>;
  /** SIGKILL one process of the instance (`web` or a sidecar's name): it exits with status 137. */
  kill(processName: string): Promise<void>;
  /** Resolves once the instance runs (web answers) with at least `minRestarts` restarts done. */
  waitUntilRunning(options?: { minRestarts?: number; timeoutMs?: number }): Promise<void>;
  /** Call `listener` with each new log line; returns the unsubscribe function. */
  onLog(listener: (line: string) => void): () => void;
  /**
   * Run a one-off task with the app's droplet (`cf run-task`): its own container, the task env,
   * no sidecars, logs tagged `[APP/TASK/<name>/0]`. Resolves with its exit status.
   */
  runTask(command: string, options?: TaskOptions): Promise<TaskResult>;
  /** Stop everything and remove the app. Idempotent. */
  delete(): Promise<void>;
}

export interface TaskOptions {
  /** Default: 8 random hex digits, as Cloud Controller names tasks. */
  name?: string;
  /** Default 1024 (CC's default_app_memory). */
  memoryMb?: number;
}

/** A finished task. */
export interface TaskResult {
  name: string;
  /** 0 when the task succeeded; the command's exit status otherwise. */
  exitStatus: number;
  /** The task's tagged log lines (`[APP/TASK/<name>/0] ...`) and its CELL lines. */
  logs: string;
}

export interface Platform {
  /** Stage and start the app; rejects with a DeployError (logs attached) when either fails. */
  /** `signal`: aborting stops the deploy (the local platform cuts staging short). */
  deploy(app: AppSpec, options?: { signal?: AbortSignal }): Promise<Deployment>;
}

/** Where a deploy failed. */
export type DeployPhase = 'manifest' | 'staging' | 'sidecars' | 'starting' | 'platform';

/** A failed deploy: the platform's message plus every log line gathered until then. */
export class DeployError extends BuildpackError {
  readonly phase: DeployPhase;
  readonly logs: string;
  /** The builder's exit status for staging failures (225 supply, 223 compile, ...). */
  readonly exitStatus: number | undefined;
  /** A start failure on a platform told to keep the app: it is still there, restarting; delete it. */
  readonly deployment: Deployment | undefined;
  constructor(phase: DeployPhase, message: string, logs: string, options?: { exitStatus?: number; cause?: unknown; deployment?: Deployment }) {
    super(`DEPLOY_${phase.toUpperCase()}_FAILED`, message, { cause: options?.cause });
    this.phase = phase;
    this.logs = logs;
    this.exitStatus = options?.exitStatus;
    this.deployment = options?.deployment;
  }
}
