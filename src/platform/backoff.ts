// Diego's restart schedule for a crashed instance (bbs models/restart_calculator.go,
// db/sqldb/actual_lrp_db.go; CONTRACT §2 "Restart back-off"), and the one time scale that
// compresses the platform's restart delays (back-off, the crash-count reset) for tests.

import { UsageError } from '../errors.js';

/** Crashes 1 and 2 restart at once (bbs DefaultImmediateRestarts = 3: crash_count < 3). */
export const IMMEDIATE_RESTARTS = 3;
/** After this many crashes the instance stays crashed (bbs DefaultMaxRestarts). */
export const MAX_RESTARTS = 200;
/** The first delayed restart (bbs CrashBackoffMinDuration). */
export const MIN_BACKOFF_MS = 30_000;
/** The cap (bbs DefaultMaxBackoffDuration, 16 min). */
export const MAX_BACKOFF_MS = 16 * 60_000;
/** Running longer than this resets crash_count to 1 on the next crash (bbs CrashResetTimeout). */
export const CRASH_RESET_MS = 5 * 60_000;

/** The env var that sets the time scale (e.g. `0.01`: restart delays 100 times shorter). */
export const TIME_SCALE_ENV = 'SIDECAR_BUILDPACK_TIME_SCALE';

/**
 * The delay before restarting after crash number `crashCount` (the payload's crash_count,
 * counted from 1), in platform milliseconds; `undefined` when the instance is not restarted again.
 * 1, 2 → 0; 3 → 30 s; 4 → 60 s; … 8 and later → 960 s; 200 and later → never.
 */
export function restartDelayMs(crashCount: number): number | undefined {
  if (crashCount < IMMEDIATE_RESTARTS) return 0;
  if (crashCount >= MAX_RESTARTS) return undefined;
  // bbs: exponent = crashCount - 3, capped at log2(ceil(16 min / 30 s)) = 5.
  const maxExponent = Math.floor(Math.log2(Math.ceil(MAX_BACKOFF_MS / MIN_BACKOFF_MS)));
  const exponent = Math.min(crashCount - IMMEDIATE_RESTARTS, maxExponent);
  return Math.min(MIN_BACKOFF_MS * 2 ** exponent, MAX_BACKOFF_MS);
}

/**
 * The crash_count of a new crash (bbs CrashActualLRP): back to 1 when the instance had been
 * running for more than 5 minutes since its last state change, else one more than before.
 */
export function nextCrashCount(previous: number, runningForMs: number | undefined): number {
  return runningForMs !== undefined && runningForMs > CRASH_RESET_MS ? 1 : previous + 1;
}

/** Go's time.Duration format, as the platform prints durations: `300ms`, `1.5s`, `30s`, `1m0s`, `16m0s`. */
export function goDuration(ms: number): string {
  const whole = Math.round(ms);
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const h = Math.floor(whole / 3_600_000);
  const m = Math.floor((whole % 3_600_000) / 60_000);
  const secs = ((whole % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '');
  if (h > 0) return `${h}h${m}m${secs}s`;
  if (m > 0) return `${m}m${secs}s`;
  return `${secs}s`;
}

/** A clock whose delays are platform delays times `scale` (1 = real time). */
export interface TimeScale {
  readonly scale: number;
  /** Real milliseconds for `platformMs` platform milliseconds. */
  real(platformMs: number): number;
  /** Platform milliseconds elapsed for `realMs` real milliseconds. */
  platform(realMs: number): number;
}

export function timeScale(scale = 1): TimeScale {
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) throw new UsageError(`time scale must be a number in (0, 1], not ${scale}`);
  return { scale, real: (ms) => ms * scale, platform: (ms) => ms / scale };
}

/** The time scale from `--time-scale` (wins) or SIDECAR_BUILDPACK_TIME_SCALE, default 1. */
export function timeScaleFrom(flag: string | undefined, env: Record<string, string | undefined>): TimeScale {
  const text = flag ?? env[TIME_SCALE_ENV];
  if (text === undefined || text === '') return timeScale(1);
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 1) {
    throw new UsageError(`${flag !== undefined ? '--time-scale' : TIME_SCALE_ENV} ${JSON.stringify(text)}: use a number greater than 0 and at most 1 (e.g. 0.01)`);
  }
  return timeScale(n);
}
