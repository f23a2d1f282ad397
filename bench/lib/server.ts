// A real HTTP server on 127.0.0.1 serving files from disk (downloads of the benchmark): each
// file streamed with its Content-Length, like a plain static file server or a blob store.

import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Serve `file` at `urlPath` (starting with `/`); returns its full URL. */
  add(urlPath: string, file: string): string;
  /** GET requests answered so far, by path. */
  requests: Map<string, number>;
  close(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const files = new Map<string, string>();
  const requests = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0];
    requests.set(urlPath, (requests.get(urlPath) ?? 0) + 1);
    const file = files.get(urlPath);
    if (!file || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    fs.stat(file).then(
      (st) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
        createReadStream(file, { highWaterMark: 1024 * 1024 }).on('error', () => res.destroy()).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    add(urlPath, file) {
      files.set(urlPath, file);
      return base + urlPath;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
