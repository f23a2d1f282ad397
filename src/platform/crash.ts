// How a crashed instance is reported and when it restarts (CONTRACT §2): the executor's exit
// texts (run_step.go, codependent_step.go), Cloud Controller's two log lines in the platform's
// order, and Diego's back-off (backoff.ts) applied crash by crash on one time scale.

import { goDuration, nextCrashCount, restartDelayMs, type TimeScale } from './backoff.js';

/**
 * The crash's exit_description for process `source` (`APP/PROC/WEB`, `…/SIDECAR/NAME`) exiting
 * with `status`: a clean exit is `Codependent step exited` (any process exiting ends the
 * instance), otherwise `<source>: Exited with status N`, `(out of memory)` when the cell says so.
 */
export function exitDescription(source: string, status: number, outOfMemory = false): string {
  if (status === 0) return 'Codependent step exited';
  return `${source}: Exited with status ${status}${outOfMemory ? ' (out of memory)' : ''}`;
}

export interface CrashInfo {
  appGuid: string;
  instanceGuid: string;
  index: number;
  cellId: string;
  processType: string;
  description: string;
  crashCount: number;
  /** The process version (VCAP_APPLICATION's version). */
  version: string;
  /** ms since the epoch. */
  at: number;
}

/** `[API/0]` lines of a crash, in the platform's order: the process crash, then the payload. */
export function crashLines(c: CrashInfo): string[] {
  const payload = [
    `"instance"=>"${c.instanceGuid}"`,
    `"index"=>${c.index}`,
    `"cell_id"=>"${c.cellId}"`,
    `"reason"=>"CRASHED"`,
    `"exit_description"=>"${c.description}"`,
    `"crash_count"=>${c.crashCount}`,
    `"crash_timestamp"=>${BigInt(c.at) * 1000000n}`,
    `"version"=>"${c.version}"`,
  ].join(', ');
  return [`Process has crashed with type: "${c.processType}"`, `App instance exited with guid ${c.appGuid} payload: {${payload}}`];
}

/** What happens after a crash: when (real ms) the instance restarts, or never. */
export interface RestartPlan {
  crashCount: number;
  /** Real ms to wait; undefined = not restarted again (200 crashes). */
  delayMs: number | undefined;
  /** The line the platform shows: `restarting in 30s` / `restarting now` / `not restarting again after 200 crashes`. */
  message: string;
}

/** One instance's crash history: crash_count, the 5-minute reset, the next restart's delay. */
export class CrashTracker {
  crashCount = 0;
  private runningSince: number | undefined;

  constructor(private readonly scale: TimeScale) {}

  /** The instance became healthy (running) at `now` (real ms). */
  running(now: number): void {
    this.runningSince = now;
  }

  /** A crash at `now` (real ms): the new crash_count and when to restart. */
  crash(now: number): RestartPlan {
    const ranFor = this.runningSince === undefined ? undefined : this.scale.platform(now - this.runningSince);
    this.runningSince = undefined;
    this.crashCount = nextCrashCount(this.crashCount, ranFor);
    const delay = restartDelayMs(this.crashCount);
    if (delay === undefined) return { crashCount: this.crashCount, delayMs: undefined, message: `crashed ${this.crashCount} times: not restarting again` };
    return { crashCount: this.crashCount, delayMs: this.scale.real(delay), message: delay === 0 ? 'restarting now' : `restarting in ${goDuration(delay)}` };
  }
}
