// The buildpack manifest model: libbuildpack's manifest.yml (CONTRACT §4) plus this toolkit's
// `sidecars:` section. Every scalar is kept as a string, as libbuildpack reads it.

/** One `dependencies[]` entry (CONTRACT §4). Unknown keys are kept in `extra`. */
export interface Dependency {
  name: string;
  version: string;
  uri: string;
  /** 64 lowercase hex characters (validated at load); '' when the entry has none (old md5-only manifests). */
  sha256: string;
  /** Stacks this entry is built for; empty when absent. */
  cf_stacks: string[];
  /** Cached buildpacks only: `dependencies/<md5hex(uri)>/<basename(uri)>`, relative to the buildpack root. */
  file?: string;
  source?: string;
  source_sha256?: string;
  /** Any other keys of the entry, kept as parsed. */
  extra: Record<string, unknown>;
}

export interface DefaultVersion {
  name: string;
  /** A constraint (`1.2.x`, `>=1.2.0 <1.3.0`, `1.2.3`). */
  version: string;
}

export interface DeprecationDate {
  name: string;
  version_line: string;
  /** `YYYY-MM-DD` as written. */
  date: string;
  link?: string;
  match?: string;
}

/**
 * A probe port: a number, or the name of an environment variable read at launch (`$CONFIG_SERVER_PORT`
 * in the manifest), so the check follows a port the app developer chose (issue 12 §4).
 */
export type ProbePort = number | { env: string };

/**
 * A readiness or liveness check (issue 7, issue 12 §4). Exactly one of http, tcp, exec.
 * `timeout_seconds` and `failure_threshold` mean the same in both kinds: how long, and how many
 * attempts in a row, a check may keep failing before the toolkit acts (readiness: from the first
 * attempt, then on_timeout; liveness: from the first failure of a streak, then the sidecar is
 * stopped). Whichever limit is reached first counts. One attempt takes at most
 * min(period_seconds, timeout_seconds).
 */
export interface ProbeSpec {
  /** `path` may hold `$NAME` / `${NAME}` references, expanded at launch. */
  http?: { port: ProbePort; path: string; host?: string };
  tcp?: { port: ProbePort; host?: string };
  exec?: { command: string };
  initial_delay_seconds: number;
  period_seconds: number;
  /** Readiness: default 30. Liveness: none unless declared. */
  timeout_seconds?: number;
  /** Liveness: default 3. Readiness: none unless declared. */
  failure_threshold?: number;
}

export interface ReadinessSpec extends ProbeSpec {
  timeout_seconds: number;
  /** `fail`: the app's process exits (the instance restarts); `continue`: start with a warning. */
  on_timeout: 'fail' | 'continue';
}

export interface LivenessSpec extends ProbeSpec {
  failure_threshold: number;
}

/** `proxy:` (issue 12 §1): the sidecar takes the instance's $PORT; the app listens on `app_port`. */
export interface ProxySpec {
  app_port: number;
}

/** `volumes[]` (issue 12 §3): a directory both the app and the sidecar use, empty in each new container. */
export interface VolumeSpec {
  /** Lowercase; `<NAME>_VOLUME` (upper-cased, `-` as `_`) holds its path at launch. */
  name: string;
  /** Relative to /home/vcap, normalised (`logs/app`). */
  path: string;
}

/** An env value: a literal default, or a credential read at launch from VCAP_SERVICES. */
export type SidecarEnvValue =
  | { kind: 'literal'; value: string }
  | {
      kind: 'service';
      service: { name?: string; label?: string; tag?: string };
      credential: string;
    };

/** One `sidecars[]` entry: how supply turns an installed dependency into a launch.yml sidecar. */
export interface SidecarSpec {
  /** launch.yml `type`; lowercase `[a-z0-9-]`, never a process type name like web/worker/task. */
  name: string;
  /** A `dependencies[].name`; its version is the `default_versions` entry (or NAME_VERSION). */
  dependency: string;
  /** Path inside the installed dependency, optionally followed by arguments. */
  command: string;
  /** Extra arguments, each quoted safely when the command line is rendered. */
  args: string[];
  /** Process types it runs beside; default `[web]`. */
  process_types: string[];
  /** MB; absent = no own limit. */
  memory?: number;
  /** Exported to the app and the sidecar unless already set. */
  env: Record<string, SidecarEnvValue>;
  readiness?: ReadinessSpec;
  liveness?: LivenessSpec;
  /** Seconds between SIGTERM and SIGKILL when the sidecar is stopped. */
  stop_grace_seconds?: number;
  /** Strip this many leading path components when extracting the dependency. */
  strip_components?: number;
  /** A reverse proxy in front of the app (issue 12 §1). */
  proxy?: ProxySpec;
  /** Also start this sidecar around a task's command (issue 12 §2). */
  tasks?: boolean;
  /** Shared directories (issue 12 §3). */
  volumes?: VolumeSpec[];
}

export interface Manifest {
  /** Path (or name) of the file it was read from: used in every error message. */
  file: string;
  language: string;
  /** Top-level `stack:` of a packaged buildpack; '' when absent. */
  stack: string;
  default_versions: DefaultVersion[];
  dependency_deprecation_dates: DeprecationDate[];
  dependencies: Dependency[];
  include_files: string[];
  exclude_files: string[];
  pre_package?: string;
  sidecars: SidecarSpec[];
  /** The whole parsed document, unknown keys included (strings everywhere). */
  raw: Record<string, unknown>;
  /**
   * What the parser accepted but doubts, for the caller to print as warnings: a top-level key
   * it does not know that is close to one it does (`sidecar:`, `dependancies:`), with a
   * "did you mean". Absent when there is nothing to say.
   */
  warnings?: string[];
}
