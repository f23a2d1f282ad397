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

/** A readiness or liveness check (issue 7). Exactly one of http, tcp, exec. */
export interface ProbeSpec {
  http?: { port: number; path: string; host?: string };
  tcp?: { port: number; host?: string };
  exec?: { command: string };
  initial_delay_seconds: number;
  period_seconds: number;
  timeout_seconds: number;
  failure_threshold: number;
}

export interface ReadinessSpec extends ProbeSpec {
  /** `fail`: the app's process exits (the instance restarts); `continue`: start with a warning. */
  on_timeout: 'fail' | 'continue';
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
  liveness?: ProbeSpec;
  /** Seconds between SIGTERM and SIGKILL when the sidecar is stopped. */
  stop_grace_seconds?: number;
  /** Strip this many leading path components when extracting the dependency. */
  strip_components?: number;
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
}
