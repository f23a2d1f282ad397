// What every benchmark case gets: its scratch dir, the file server, the run count, input sizes,
// the child-process environment, and the shape of what it returns.

import type { LoadReport } from './load.js';
import type { FileServer } from './server.js';

const MiB = 1024 * 1024;

/** Input sizes: the in a full run, smaller ones for `--quick` (same keys). */
export interface Sizes {
  /** The `.tgz` of the supply ratio cases (issue: 50 MiB). */
  supply: number;
  /** supply_small_ratio (issue: 1 MiB). */
  small: number;
  /** supply_peak_rss_mb (issue: 500 MiB). */
  rss: number;
  /** Each of package_cached_ratio's three dependencies (issue: 50 MiB). */
  packageDep: number;
  /** The sidecar payload of the node-less bootstrap cases (issue 14: 8 MiB). */
  bootstrapPayload: number;
}

export function sizesFor(quick: boolean): Sizes {
  return quick
    ? { supply: 8 * MiB, small: 1 * MiB, rss: 64 * MiB, packageDep: 8 * MiB, bootstrapPayload: 8 * MiB }
    : { supply: 50 * MiB, small: 1 * MiB, rss: 500 * MiB, packageDep: 50 * MiB, bootstrapPayload: 8 * MiB };
}

export interface BenchContext {
  /** A scratch dir of this run (removed at the end). */
  work: string;
  server: FileServer;
  /** Timed runs per figure (after one warm-up). */
  runs: number;
  /** Timed runs of the sub-second figures (small dependency, bootstrap, push): more samples, cheaply. */
  fastRuns: number;
  sizes: Sizes;
  /** Environment of every child: this process's, without proxy settings (all traffic is local). */
  env: NodeJS.ProcessEnv;
  progress(message: string): void;
}

/**
 * What changes how node starts, which neither a staging nor an instance on a foundation has:
 * `NODE_EXTRA_CA_CERTS` alone made every node start here 80 ms slower (110 ms against 30 ms), so
 * a baseline started with it (push_ready's app and sidecar by hand) looked slower than the same
 * processes in a container, which never see it.
 */
export const NODE_STARTUP_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_V8_COVERAGE'];

/**
 * The environment for children: no proxies, so 127.0.0.1 downloads never leave the machine, and
 * none of {@link NODE_STARTUP_VARIABLES}, so every side of a ratio starts node as a foundation does.
 */
export function childEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const k of Object.keys(env)) {
    if (/^(https?|all|no)_proxy$/i.test(k)) delete env[k];
  }
  for (const k of ['BP_DEBUG', ...NODE_STARTUP_VARIABLES]) delete env[k];
  return env;
}

/** One line of the result table and of results.json. */
export interface CaseResult {
  key: string;
  /** The figure compared with the target; null when the measurement failed. */
  value: number | null;
  unit: 'ratio' | 'MiB' | 'ms';
  target: number;
  /** What was measured and against what, for the table (e.g. `0.512 s` / `0.402 s`). */
  figure: string;
  baseline: string;
  /** Raw medians and samples (ms unless the name says otherwise). */
  raw: Record<string, unknown>;
  error?: string;
  /** false for figures that are sizes, not times: the machine's load cannot make them noisy. */
  timed?: boolean;
  /** How busy the machine was during the case (set by the runner). */
  load?: LoadReport;
}

export const MEBIBYTE = MiB;
