// The route into an instance container and its port health check (CONTRACT §2 "Health checks"):
// a forwarder process joins only the container's network namespace and dials the container's
// non-loopback address; the platform reaches it over unix sockets (file system objects, which no
// network namespace hides), and serves 127.0.0.1:<port> on the host in front of it.

import net from 'node:net';
import { BuildpackError } from '../../errors.js';
import { spawnerFor, type ContainerTools } from './container.js';
import type { SpawnedProcess } from './spawner.js';
import { listenOnLoopback } from './ports.js';

/**
 * The forwarder, run with `node -e`: argv = route socket, health socket, address, port. Route
 * connections are piped to address:port; a health connection gets `Y` when address:port accepts
 * a TCP connection within 1 s, else `N`.
 */
const FORWARDER = `
const net = require('node:net'), fs = require('node:fs');
const [route, health, host, port] = process.argv.slice(1);
for (const p of [route, health]) { try { fs.unlinkSync(p); } catch {} }
let up = 0;
const ready = () => { if (++up === 2) process.stdout.write('ready\\n'); };
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  const end = () => { c.destroy(); u.destroy(); };
  c.pipe(u); u.pipe(c);
  c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
}).listen(route, ready);
net.createServer((c) => {
  c.on('error', () => {});
  const u = net.connect(Number(port), host);
  const answer = (a) => { u.destroy(); c.end(a); };
  u.setTimeout(1000, () => answer('N'));
  u.once('connect', () => answer('Y'));
  u.once('error', () => answer('N'));
}).listen(health, ready);
`;

/** A forwarder in one container's network namespace. */
export class Forwarder {
  private constructor(
    private readonly child: SpawnedProcess,
    readonly routeSocket: string,
    readonly healthSocket: string,
  ) {}

  /** Start it in the network namespace of `initPid`, dialing `address:port`. */
  static async start(tools: ContainerTools, nodePath: string, initPid: number, sockets: { route: string; health: string }, address: string, port: number): Promise<Forwarder> {
    const child = spawnerFor(tools).spawn({
      file: tools.setpriv,
      args: [
        '--pdeathsig',
        'KILL',
        '--',
        tools.nsenter,
        // rootless: the network namespace belongs to the container's user namespace (entered first, this user kept)
        ...(tools.rootless ? [`--user=/proc/${initPid}/ns/user`, '--preserve-credentials'] : []),
        `--net=/proc/${initPid}/ns/net`,
        '--',
        nodePath,
        '-e',
        FORWARDER,
        sockets.route,
        sockets.health,
        address,
        String(port),
      ],
      env: {},
      stdout: 'pipe',
      stderr: 'pipe',
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new BuildpackError('CONTAINER_FAILED', `the route forwarder exited (status ${code}): ${err.trim()}`)));
      child.once('error', (e) => reject(new BuildpackError('CONTAINER_FAILED', `cannot start the route forwarder: ${e.message}`, { cause: e })));
    });
    child.stdout?.resume();
    return new Forwarder(child, sockets.route, sockets.health);
  }

  /** The port health check: true when the container's address accepts a TCP connection. */
  healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.healthSocket);
      let answer = '';
      s.setTimeout(3000, () => s.destroy());
      s.on('data', (c: Buffer) => (answer += c.toString()));
      s.on('error', () => undefined);
      s.on('close', () => resolve(answer === 'Y'));
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

/**
 * `127.0.0.1:<port>` on the host, piped to the current instance's route socket (none between
 * instances: connections are refused by closing them).
 */
export class HostRoute {
  private target: string | undefined;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor() {
    this.server = net.createServer((c) => {
      this.sockets.add(c);
      c.on('close', () => this.sockets.delete(c));
      c.on('error', () => undefined);
      if (!this.target) {
        c.destroy();
        return;
      }
      const u = net.connect(this.target);
      const end = () => {
        c.destroy();
        u.destroy();
      };
      c.pipe(u);
      u.pipe(c);
      u.on('error', end);
      u.on('close', end);
      c.on('close', end);
    });
  }

  listen(port: number): Promise<void> {
    return listenOnLoopback(this.server, port);
  }

  /** Send new connections to `socket` (undefined: refuse them). */
  routeTo(socket: string | undefined): void {
    this.target = socket;
  }

  async close(): Promise<void> {
    this.target = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
