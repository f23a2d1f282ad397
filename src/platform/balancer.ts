// The app's one route in front of several web instances, as the router balances a route over
// an app's instances: 127.0.0.1:<port> on the host, each new connection to the next instance's
// host port (round robin), skipping an instance that refuses it.

import net from 'node:net';
import { listenOnLoopback } from './local/ports.js';

export class RoundRobinRoute {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(private readonly ports: number[]) {
    this.server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      client.pause();
      this.pipe(client, 0);
    });
  }

  private pipe(client: net.Socket, tried: number): void {
    if (tried >= this.ports.length || client.destroyed) {
      client.destroy();
      return;
    }
    const port = this.ports[this.next++ % this.ports.length];
    const upstream = net.connect(port, '127.0.0.1');
    let connected = false;
    upstream.on('error', () => {
      if (!connected) this.pipe(client, tried + 1);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  listen(port: number): Promise<void> {
    return listenOnLoopback(this.server, port);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
