// Per-user state of apps pushed with `push --detach` (and foreground pushes, so that two pushes
// of one name cannot clobber each other): `$XDG_STATE_HOME/sidecar-buildpack` or
// `~/.local/state/sidecar-buildpack`, never a directory every user of the machine shares.
// One directory per app: record.json (the supervisor's pid, socket, url, state), logs.

import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Where the state of every app of this user lives. */
export function stateRoot(env: Record<string, string | undefined>): string {
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'sidecar-buildpack');
  if (env.HOME) return path.join(env.HOME, '.local', 'state', 'sidecar-buildpack');
  throw new UsageError('cannot find a per-user state directory: set HOME or XDG_STATE_HOME');
}

/** `crashed`: the first start failed and the app keeps restarting with back-off until deleted. */
export type AppState = 'staging' | 'starting' | 'running' | 'crashed' | 'failed' | 'stopping';

/** What `apps` shows and the other commands use to reach an app's supervisor. */
export interface AppRecord {
  name: string;
  /** The process that owns the app: the detached supervisor, or a foreground push. */
  pid: number;
  /** The supervisor's control socket (detached apps only). */
  socket?: string;
  url?: string;
  state: AppState;
  /** Why it failed (state `failed`). */
  error?: string;
  detached: boolean;
  startedAt: string;
}

/** True when `pid` is a live process (signal 0). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The apps of one user, one directory each. */
export class AppStore {
  constructor(readonly root: string) {}

  dir(name: string): string {
    if (!NAME_RE.test(name)) throw new UsageError(`app name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 63)`);
    return path.join(this.root, 'apps', name);
  }

  logFile(name: string): string {
    return path.join(this.dir(name), 'logs');
  }

  /**
   * Take the name for `pid`: its directory is made exclusively, so a second push of the same
   * name fails (naming the owner) instead of sharing its files. An owner that is gone is cleared.
   */
  async claim(name: string, record: Omit<AppRecord, 'name' | 'startedAt'>): Promise<AppRecord> {
    const dir = this.dir(name);
    await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
    const full: AppRecord = { name, startedAt: new Date().toISOString(), ...record };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await mkdir(dir, { mode: 0o700 });
        await this.write(full);
        return full;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const old = await this.read(name);
        if (old && pidAlive(old.pid) && old.pid !== record.pid) {
          throw new UsageError(`app ${name} is already pushed (pid ${old.pid}, ${old.state}${old.url ? ` at ${old.url}` : ''}): delete it first (sidecar-buildpack delete ${name}) or push under another name`);
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
    throw new UsageError(`app ${name}: cannot claim ${dir}`);
  }

  /** Replace the record atomically (rename). */
  async write(record: AppRecord): Promise<void> {
    const file = path.join(this.dir(record.name), 'record.json');
    await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async update(name: string, patch: Partial<AppRecord>): Promise<AppRecord | undefined> {
    const old = await this.read(name);
    if (!old) return undefined;
    const next = { ...old, ...patch };
    await this.write(next);
    return next;
  }

  async read(name: string): Promise<AppRecord | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir(name), 'record.json'), 'utf8')) as AppRecord;
    } catch {
      return undefined;
    }
  }

  /** The record of a live app, or a UsageError naming the apps there are. */
  async get(name: string): Promise<AppRecord> {
    const r = await this.read(name);
    if (r && pidAlive(r.pid)) return r;
    const names = (await this.list()).map((a) => a.name);
    throw new UsageError(`app ${name} not found (apps: ${names.length ? names.join(', ') : 'none'})`);
  }

  /** Every live app, by name; directories whose owner is gone are removed. */
  async list(): Promise<AppRecord[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.root, 'apps'));
    } catch {
      return [];
    }
    const out: AppRecord[] = [];
    for (const n of names.sort()) {
      if (!NAME_RE.test(n)) continue;
      const r = await this.read(n);
      if (r && pidAlive(r.pid)) out.push(r);
      else if (r) await rm(this.dir(n), { recursive: true, force: true });
    }
    return out;
  }

  /** Release the name (only its owner does this). */
  async release(name: string, pid: number): Promise<void> {
    const r = await this.read(name);
    if (!r || r.pid === pid) await rm(this.dir(name), { recursive: true, force: true });
  }
}
