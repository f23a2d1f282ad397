// Renders packaging events on stderr: live progress bars on a terminal, one plain line per
// dependency (plus warnings and retries) otherwise, so CI logs stay readable. The bars are redrawn
// at most every REDRAW_MS (a download reports every chunk), and NO_COLOR or TERM=dumb ask for the
// plain lines, with no escape sequences at all.

import type { PackageEvent } from '../packager/events.js';
import type { CliStream } from './io.js';

/** `12.3 MB`-style sizes for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function describe(e: Extract<PackageEvent, { type: 'dependency-ready' }>): string {
  return `${e.source === 'cache' ? 'cached    ' : 'downloaded'} ${e.name} ${e.version} (${formatBytes(e.bytes)})`;
}

/** One line per event worth keeping in a log. */
export function plainProgress(out: CliStream): (e: PackageEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'pre-package':
        out.write(`running pre_package: ${e.command}\n`);
        break;
      case 'dependency-ready':
        out.write(`${describe(e)}\n`);
        break;
      case 'download-retry':
        // (the uri tells apart the entries of one version for several stacks, downloaded side by side)
        out.write(`retrying ${e.name} ${e.version} from ${e.uri} (attempt ${e.attempt}): ${e.reason}\n`);
        break;
      case 'cache-entry-invalid':
        out.write(`warning: cached ${e.name} ${e.version} has sha256 ${e.actual}, expected ${e.expected}: downloading it again\n`);
        break;
      case 'warning':
        out.write(`warning: ${e.message}\n`);
        break;
      case 'runtime-binary':
        out.write(
          e.unstripped
            ? `the staging runtime ${e.file} is carried as archived, ${formatBytes(e.bytes)} (not stripped: ${e.unstripped})\n`
            : `stripped the staging runtime ${e.file} of symbols and debug info: ${formatBytes(e.archivedBytes)} -> ${formatBytes(e.bytes)}\n`,
        );
        break;
      case 'code-cache':
        out.write(e.recorded ? `recorded the staging runtime's code cache ${e.file}\n` : `no code cache for the staging runtime (${e.reason}): staging compiles the bundle itself\n`);
        break;
      default:
        break;
    }
  };
}

const BAR_WIDTH = 24;

/** Least time between two redraws caused by download progress. */
export const REDRAW_MS = 100;

/** Knobs of {@link ttyProgress}; the clock is injected so tests need not wait. */
export interface TtyProgressOptions {
  now?: () => number;
  redrawMs?: number;
}

/**
 * Live bars: one row per dependency, redrawn in place (cursor up + clear line). Progress redraws
 * at most every `redrawMs`; a start, a finished transfer, a ready dependency or any other event
 * redraws at once. Other events are printed above the rows as plain lines.
 */
export function ttyProgress(out: CliStream, options: TtyProgressOptions = {}): (e: PackageEvent) => void {
  const now = options.now ?? Date.now;
  const redrawMs = options.redrawMs ?? REDRAW_MS;
  const rows: { key: string; text: string }[] = [];
  const plain = plainProgress(out);
  let drawn = 0;
  let drawnAt = -Infinity;
  const redraw = (): void => {
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const r of rows) s += `\x1b[2K\r${r.text}\n`;
    drawn = rows.length;
    drawnAt = now();
    out.write(s);
  };
  const setRow = (key: string, text: string, urgent = true): void => {
    const row = rows.find((r) => r.key === key);
    if (row) row.text = text;
    else rows.push({ key, text });
    if (urgent || now() - drawnAt >= redrawMs) redraw();
  };
  return (e) => {
    if (e.type === 'download-start' || e.type === 'download-progress' || e.type === 'dependency-ready') {
      const key = `${e.name} ${e.version} ${e.uri}`;
      if (e.type === 'download-start') return setRow(key, `${e.name} ${e.version} [${' '.repeat(BAR_WIDTH)}] starting`);
      if (e.type === 'dependency-ready') return setRow(key, describe(e));
      const { received, total } = e;
      const frac = total ? Math.min(1, received / total) : 0;
      const filled = Math.round(frac * BAR_WIDTH);
      const bar = total ? '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled) : '?'.repeat(BAR_WIDTH);
      const amount = total ? `${Math.floor(frac * 100)}% ${formatBytes(received)}/${formatBytes(total)}` : formatBytes(received);
      return setRow(key, `${e.name} ${e.version} [${bar}] ${amount}`, total !== undefined && received >= total);
    }
    // a plain line goes above the live rows: clear them, print, draw them again
    if (drawn > 0) {
      out.write(`\x1b[${drawn}A\x1b[0J`);
      drawn = 0;
    }
    plain(e);
    if (rows.length > 0) redraw();
  };
}

/**
 * The renderer that suits `out` and `env`: bars on a terminal, plain lines elsewhere and when
 * NO_COLOR is set to anything but the empty string (no-color.org) or TERM is `dumb`.
 */
export function progressFor(out: CliStream, env: Record<string, string | undefined> = {}): (e: PackageEvent) => void {
  const plainAsked = (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb';
  return out.isTTY && !plainAsked ? ttyProgress(out) : plainProgress(out);
}
