// Starting the container processes from a small helper process instead of this one.
//
// On Linux, libuv starts a child with fork(), which copies the page tables of the whole parent
// first: its cost grows with the parent's memory, not the child's (measured here, node 20,
// `spawn('/bin/true')`: 1.3 ms from a 60 MB process, 8 ms from 270 MB, 19 ms from 590 MB). A
// test runner or a benchmark that embeds the platform is often hundreds of MB, and one push
// starts about a dozen processes (the containers, each buildpack script, the forwarder, the
// launchers), each blocking this process's event loop for that long. The helper is a bare
// `node -e` of about 40 MB that does the forks on its own thread; stdout and stderr come back
// over its IPC channel, in the order it saw them.
//
// It is tied to this process: it runs under `setpriv --pdeathsig KILL` and exits when the channel
// closes (in a session of its own, out of reach of a terminal's signals), and everything it starts is tied to it the same way (`setpriv --pdeathsig KILL` in
// container.ts and route.ts), so a SIGKILL of this process still takes every container with it.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';

/** What the platform uses of a started process (a subset of ChildProcess). */
export interface SpawnedProcess extends EventEmitter {
  /** Known once the process has started (a remote start reports it a moment later). */
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface SpawnSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** stdout and stderr: piped here, or ignored. stdin is always /dev/null. */
  stdout: 'pipe' | 'ignore';
  stderr: 'pipe' | 'ignore';
}

export interface Spawner {
  spawn(spec: SpawnSpec): SpawnedProcess;
}

/** Fork from this process (where no helper can run, and for comparison). */
export const localSpawner: Spawner = {
  spawn: (spec) => spawn(spec.file, spec.args, { env: spec.env, stdio: ['ignore', spec.stdout, spec.stderr] }) as ChildProcess & SpawnedProcess,
};

type ToHelper = { t: 'spawn'; id: number; file: string; args: string[]; env: Record<string, string>; stdio: ['ignore', 'pipe' | 'ignore', 'pipe' | 'ignore'] } | { t: 'kill'; id: number; sig: string };
type FromHelper =
  | { t: 'pid'; id: number; pid: number }
  | { t: 'data'; id: number; fd: 1 | 2; b: Uint8Array }
  | { t: 'exit' | 'close'; id: number; code: number | null; sig: NodeJS.Signals | null }
  | { t: 'error'; id: number; code?: string; message: string };

/** The helper's source (`node -e`): starts what it is asked to, reports everything in order. */
export const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
const kids = new Map();
const send = (m) => { try { process.send(m); } catch {} };
process.on('message', (m) => {
  if (m.t === 'kill') { const c = kids.get(m.id); if (c) { try { c.kill(m.sig); } catch {} } return; }
  const id = m.id;
  let c;
  try { c = spawn(m.file, m.args, { env: m.env, stdio: m.stdio }); } catch (e) { send({ t: 'error', id, code: e.code, message: e.message }); send({ t: 'close', id, code: null, sig: null }); return; }
  kids.set(id, c);
  if (c.pid !== undefined) send({ t: 'pid', id, pid: c.pid });
  if (c.stdout) c.stdout.on('data', (b) => send({ t: 'data', id, fd: 1, b }));
  if (c.stderr) c.stderr.on('data', (b) => send({ t: 'data', id, fd: 2, b }));
  c.on('error', (e) => send({ t: 'error', id, code: e.code, message: e.message }));
  c.on('exit', (code, sig) => send({ t: 'exit', id, code, sig }));
  c.on('close', (code, sig) => { kids.delete(id); send({ t: 'close', id, code, sig }); });
});
process.on('disconnect', () => process.exit(0));
`;

/** A process the helper started, as this process sees it. */
class RemoteProcess extends EventEmitter implements SpawnedProcess {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdout: PassThrough | null;
  readonly stderr: PassThrough | null;
  private ended = false;

  constructor(
    private readonly helper: HelperSpawner,
    readonly id: number,
    spec: SpawnSpec,
  ) {
    super();
    this.stdout = spec.stdout === 'pipe' ? new PassThrough() : null;
    this.stderr = spec.stderr === 'pipe' ? new PassThrough() : null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.ended || this.exitCode !== null || this.signalCode !== null) return false;
    return this.helper.send({ t: 'kill', id: this.id, sig: signal });
  }

  /** A message of the helper about this process. */
  receive(m: FromHelper): void {
    if (m.t === 'pid') this.pid = m.pid;
    else if (m.t === 'data') (m.fd === 1 ? this.stdout : this.stderr)?.write(Buffer.from(m.b));
    else if (m.t === 'error') this.emit('error', Object.assign(new Error(m.message), { code: m.code }));
    else if (m.t === 'exit') {
      this.exitCode = m.code;
      this.signalCode = m.sig;
      this.emit('exit', m.code, m.sig);
    } else this.finish(m.code, m.sig);
  }

  /** The end: output complete, then `close` (as a ChildProcess does). */
  finish(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.ended) return;
    this.ended = true;
    if (this.exitCode === null && this.signalCode === null) {
      this.exitCode = code;
      this.signalCode = sig;
      if (code !== null || sig !== null) this.emit('exit', code, sig);
    }
    const streams = [this.stdout, this.stderr].filter((s): s is PassThrough => s !== null);
    let open = streams.length;
    const close = () => this.emit('close', code, sig);
    if (open === 0) {
      setImmediate(close);
      return;
    }
    for (const s of streams) {
      s.once('end', () => --open === 0 && close());
      s.end();
      // nobody reads it: let it end anyway
      if (s.listenerCount('data') === 0 && !s.readableFlowing) s.resume();
    }
  }
}

/** Starts processes through the helper; starts the helper on first use, again if it died. */
export class HelperSpawner implements Spawner {
  private helper: ChildProcess | undefined;
  private readonly live = new Map<number, RemoteProcess>();
  private nextId = 0;

  constructor(
    private readonly nodePath: string,
    private readonly setpriv: string,
  ) {}

  spawn(spec: SpawnSpec): SpawnedProcess {
    const helper = this.helper ?? this.start();
    const p = new RemoteProcess(this, ++this.nextId, spec);
    this.live.set(p.id, p);
    // a live process keeps this one running, as a ChildProcess would
    if (this.live.size === 1) this.ref(helper, true);
    this.send({ t: 'spawn', id: p.id, file: spec.file, args: spec.args, env: spec.env, stdio: ['ignore', spec.stdout, spec.stderr] });
    return p;
  }

  send(m: ToHelper): boolean {
    const h = this.helper;
    if (!h?.connected) return false;
    h.send(m);
    return true;
  }

  private ref(h: ChildProcess, on: boolean): void {
    const channel = h.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (on) channel?.ref?.();
    else channel?.unref?.();
  }

  private start(): ChildProcess {
    // a session of its own: a terminal's Ctrl-C goes to the whole foreground process group, and
    // neither the helper nor the containers it starts are part of what a user runs there (on a
    // cell nothing of the `cf push` terminal reaches an app; this process stops them, SIGTERM first)
    const h = spawn(this.setpriv, ['--pdeathsig', 'KILL', '--', this.nodePath, '-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: {},
      detached: true,
    });
    this.helper = h;
    h.unref();
    this.ref(h, false);
    h.on('message', (m: FromHelper) => {
      const p = this.live.get(m.id);
      if (!p) return;
      p.receive(m);
      if (m.t === 'close') this.forget(p);
    });
    const died = () => {
      if (this.helper !== h) return;
      this.helper = undefined;
      // what it started died with it (pdeathsig): say so, as for any killed process
      for (const p of [...this.live.values()]) {
        p.finish(null, 'SIGKILL');
        this.forget(p);
      }
    };
    h.on('exit', died);
    h.on('error', died);
    return h;
  }

  private forget(p: RemoteProcess): void {
    this.live.delete(p.id);
    if (this.live.size === 0 && this.helper) this.ref(this.helper, false);
  }
}

const helpers = new Map<string, HelperSpawner>();

/** This process's helper for `nodePath` (one per process, started on first use). */
export function helperSpawner(nodePath: string, setpriv: string): Spawner {
  const key = `${nodePath}\0${setpriv}`;
  let h = helpers.get(key);
  if (!h) helpers.set(key, (h = new HelperSpawner(nodePath, setpriv)));
  return h;
}
