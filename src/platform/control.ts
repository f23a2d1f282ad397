// The control channel of a detached app's supervisor: newline-delimited JSON over a unix socket
// in the app's state directory (mode 0700, so only its user reaches it). Requests: run-task,
// restart, delete. Replies stream `line` messages, then one `done` or `error`.

import net from 'node:net';
import { BuildpackError } from '../errors.js';
import type { TaskOptions, TaskResult } from './types.js';

export type ControlRequest = { op: 'run-task'; command: string; options: TaskOptions } | { op: 'restart' } | { op: 'delete' };
type Reply = { type: 'line'; line: string } | { type: 'done'; result?: unknown } | { type: 'error'; message: string };

export interface ControlHandlers {
  runTask(command: string, options: TaskOptions, onLine: (line: string) => void): Promise<TaskResult>;
  restart(onLine: (line: string) => void): Promise<void>;
  delete(): Promise<void>;
}

/** Serve `handlers` on `socketPath`; resolves once listening, returns a close function. */
export async function serveControl(socketPath: string, handlers: ControlHandlers): Promise<() => Promise<void>> {
  const server = net.createServer((conn) => {
    let buf = '';
    const send = (r: Reply) => {
      if (!conn.destroyed) conn.write(`${JSON.stringify(r)}\n`);
    };
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const text = buf.slice(0, nl);
      buf = '';
      let req: ControlRequest;
      try {
        req = JSON.parse(text) as ControlRequest;
      } catch {
        send({ type: 'error', message: 'bad request' });
        conn.end();
        return;
      }
      const onLine = (line: string) => send({ type: 'line', line });
      const work =
        req.op === 'run-task'
          ? handlers.runTask(req.command, req.options ?? {}, onLine)
          : req.op === 'restart'
            ? handlers.restart(onLine)
            : req.op === 'delete'
              ? handlers.delete()
              : Promise.reject(new Error(`unknown op ${JSON.stringify((req as { op?: unknown }).op)}`));
      work.then(
        (result) => {
          send({ type: 'done', result });
          conn.end();
        },
        (e: unknown) => {
          send({ type: 'error', message: (e as Error).message });
          conn.end();
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Send one request to a supervisor; `onLine` gets streamed lines; resolves with the result. */
export function requestControl<T = unknown>(socketPath: string, req: ControlRequest, onLine: (line: string) => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const conn = net.connect(socketPath);
    let buf = '';
    let settled = false;
    const settle = (f: () => void) => {
      if (!settled) {
        settled = true;
        f();
      }
    };
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (chunk) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const reply = JSON.parse(buf.slice(0, nl)) as Reply;
        buf = buf.slice(nl + 1);
        if (reply.type === 'line') onLine(reply.line);
        else if (reply.type === 'done') settle(() => resolve(reply.result as T));
        else settle(() => reject(new BuildpackError('CONTROL_FAILED', reply.message)));
      }
    });
    conn.on('error', (e) => settle(() => reject(new BuildpackError('CONTROL_UNREACHABLE', `cannot reach the app's supervisor at ${socketPath}: ${e.message}`))));
    conn.on('close', () => settle(() => reject(new BuildpackError('CONTROL_CLOSED', 'the app\'s supervisor closed the connection before answering'))));
  });
}
