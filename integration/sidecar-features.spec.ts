// Issue 12 end to end on the local platform: buildpacks made with this toolkit whose sidecars use
// the four features — a reverse proxy in front of the app, a sidecar for tasks, a shared volume
// read by a log shipper, probes that follow the app's port — with real processes only. The app,
// the proxy and the server sidecar are one small static C program built here with gcc -static
// (instances see only the stack's tools); the log shipper is a shell script.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { LocalPlatform } from '../src/platform/local/index.js';
import { freePort } from '../src/platform/local/ports.js';
import { DeployError, type AppSpec, type Deployment } from '../src/platform/types.js';
import { TestServer } from '../test/helpers/http-server.js';
import { buildSupplyBundle } from '../test/helpers/supply-bundle.js';
import { FINAL_BP, REPO, tempDir, writeTree } from '../test/platform/helpers.js';
import { addStagingRuntime } from '../test/helpers/node-runtime.js';

const SBTOOL_C = `/* sbtool: the fixture programs of integration/sidecar-features.spec.ts, one static binary.
   app    : HTTP app on $PORT (/health, /whoami, /env/NAME, /log/TEXT appends TEXT to $VARLOG_VOLUME/app.log)
   proxy  : reverse proxy on $PORT to 127.0.0.1:$APP_PORT; adds X-Forwarded-By to the request
            and X-Proxy to the response
   serve V: HTTP server on the port in env var V, answering $ANSWER
   get P U: HTTP GET 127.0.0.1:P U, body to stdout; exit 0 on 2xx */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *mode;

static int port_of(const char *var) {
  const char *v = getenv(var);
  int p = v ? atoi(v) : 0;
  if (p <= 0 || p > 65535) { fprintf(stderr, "%s: %s is not a port: %s\\n", mode, var, v ? v : "(unset)"); exit(2); }
  return p;
}

static int dial(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { close(s); return -1; }
  return s;
}

static int listen_on(int port, int any) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  a.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) { fprintf(stderr, "%s: cannot listen on %d: %s\\n", mode, port, strerror(errno)); exit(1); }
  printf("%s: listening on %d\\n", mode, port);
  fflush(stdout);
  return s;
}

static void write_all(int fd, const char *b, size_t n) {
  while (n > 0) { ssize_t w = write(fd, b, n); if (w <= 0) return; b += w; n -= (size_t)w; }
}

/* Read a request head (up to the blank line) into buf; returns its length or -1. */
static int read_head(int fd, char *buf, int cap) {
  int n = 0;
  while (n < cap - 1) {
    ssize_t r = read(fd, buf + n, (size_t)(cap - 1 - n));
    if (r <= 0) return -1;
    n += (int)r; buf[n] = 0;
    if (strstr(buf, "\\r\\n\\r\\n")) return n;
  }
  return -1;
}

static void reply(int fd, int status, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head, "HTTP/1.0 %d %s\\r\\nContent-Type: text/plain\\r\\nContent-Length: %zu\\r\\nConnection: close\\r\\n\\r\\n", status, status == 200 ? "OK" : "Error", strlen(body));
  write_all(fd, head, (size_t)n);
  write_all(fd, body, strlen(body));
}

static void header_value(const char *head, const char *name, char *out, size_t cap) {
  const char *h = strcasestr(head, name);
  snprintf(out, cap, "none");
  if (!h) return;
  h += strlen(name);
  while (*h == ' ') h++;
  size_t i = 0;
  while (h[i] && h[i] != '\\r' && i < cap - 1) { out[i] = h[i]; i++; }
  out[i] = 0;
}

static void app(int c, char *head, int port) {
  char path[1024] = "/", via[128], body[4096];
  sscanf(head, "%*s %1023s", path);
  header_value(head, "\\nX-Forwarded-By:", via, sizeof via);
  printf("app: GET %s via %s\\n", path, via);
  fflush(stdout);
  if (strncmp(path, "/env/", 5) == 0) { const char *v = getenv(path + 5); reply(c, 200, v ? v : "(unset)"); return; }
  if (strncmp(path, "/log/", 5) == 0) {
    const char *dir = getenv("VARLOG_VOLUME");
    char file[2048];
    snprintf(file, sizeof file, "%s/app.log", dir ? dir : ".");
    FILE *f = fopen(file, "a");
    if (!f) { reply(c, 500, "cannot open the log"); return; }
    fprintf(f, "%s\\n", path + 5);
    fclose(f);
    reply(c, 200, "logged");
    return;
  }
  snprintf(body, sizeof body, "app on port %d, forwarded by %s", port, via);
  reply(c, 200, body);
}

static void proxy(int c, char *head, int n, int upstream_port) {
  int u = dial(upstream_port);
  if (u < 0) { reply(c, 502, "edge-proxy: the app is not answering"); return; }
  char *eol = strstr(head, "\\r\\n");
  write_all(u, head, (size_t)(eol + 2 - head));
  write_all(u, "X-Forwarded-By: edge-proxy\\r\\n", 28);
  write_all(u, eol + 2, (size_t)(n - (eol + 2 - head)));
  static char resp[1 << 16];
  int m = 0;
  ssize_t r;
  while (m < (int)sizeof resp && (r = read(u, resp + m, sizeof resp - (size_t)m)) > 0) m += (int)r;
  close(u);
  char *s = memmem(resp, (size_t)m, "\\r\\n", 2);
  if (!s) { reply(c, 502, "edge-proxy: bad answer from the app"); return; }
  write_all(c, resp, (size_t)(s + 2 - resp));
  write_all(c, "X-Proxy: edge-proxy\\r\\n", 21);
  write_all(c, s + 2, (size_t)(m - (s + 2 - resp)));
}

static void serve_loop(int s, int kind, int port, int upstream) {
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    if (fork() == 0) {
      close(s);
      char head[8192];
      int n = read_head(c, head, sizeof head);
      if (n > 0) {
        if (kind == 0) app(c, head, port);
        else if (kind == 1) proxy(c, head, n, upstream);
        else { const char *a = getenv("ANSWER"); reply(c, 200, a ? a : "answer"); }
      }
      shutdown(c, SHUT_WR);
      close(c);
      _exit(0);
    }
    close(c);
  }
}

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "?";
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(mode, "app") == 0) { int p = port_of("PORT"); serve_loop(listen_on(p, 1), 0, p, 0); }
  if (strcmp(mode, "proxy") == 0) { int p = port_of("PORT"), up = port_of("APP_PORT"); printf("proxy: forwarding to 127.0.0.1:%d\\n", up); serve_loop(listen_on(p, 1), 1, p, up); }
  if (strcmp(mode, "serve") == 0 && argc > 2) { int p = port_of(argv[2]); serve_loop(listen_on(p, 0), 2, p, 0); }
  if (strcmp(mode, "get") == 0 && argc > 3) {
    int s = dial(atoi(argv[2]));
    if (s < 0) { fprintf(stderr, "get: cannot connect to %s\\n", argv[2]); return 1; }
    char req[2048];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n", argv[3]);
    write_all(s, req, (size_t)n);
    static char resp[1 << 16];
    int m = 0;
    ssize_t r;
    while (m < (int)sizeof resp - 1 && (r = read(s, resp + m, sizeof resp - 1 - (size_t)m)) > 0) m += (int)r;
    resp[m] = 0;
    char *b = strstr(resp, "\\r\\n\\r\\n");
    if (b) fputs(b + 4, stdout);
    return strncmp(resp, "HTTP/1.0 2", 10) == 0 || strncmp(resp, "HTTP/1.1 2", 10) == 0 ? 0 : 1;
  }
  fprintf(stderr, "usage: sbtool app | proxy | serve PORTVAR | get PORT PATH\\n");
  return 64;
}
`;

const LOG_SHIPPER = `#!/bin/sh
# ships every line the app writes into the shared volume to its own stdout (the platform's log)
echo "log-shipper: watching $VARLOG_VOLUME"
# --pid: tail ends when this shell does (the platform signals the sidecar's own pid only)
tail --pid=$$ -n +1 -F "$VARLOG_VOLUME/app.log" 2>/dev/null | while IFS= read -r line; do echo "shipped: $line"; done
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET http://127.0.0.1:<port><path> straight, bypassing the route. */
function directGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, timeout: 3000 }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      })
      .on('error', reject)
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timeout'));
      });
  });
}

async function logged(d: { logs(): string }, text: string | RegExp, ms = 20000): Promise<string> {
  const has = () => (typeof text === 'string' ? d.logs().includes(text) : text.test(d.logs()));
  for (let waited = 0; !has() && waited < ms; waited += 100) await sleep(100);
  expect(has(), `no log line matches ${String(text)}\n${d.logs()}`).to.equal(true);
  return d.logs();
}

function lineOf(logs: string, text: string | RegExp): number {
  const i = logs.split('\n').findIndex((l) => (typeof text === 'string' ? l.includes(text) : text.test(l)));
  expect(i, `no log line matches ${String(text)}\n${logs}`).to.be.greaterThan(-1);
  return i;
}

/** Pids of running processes whose command line holds `token`. */
async function processesWith(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmd.includes(token) && !/\) Z /.test(state)) pids.push(Number(entry));
  }
  return pids;
}

describe('sidecar features on the local platform (issue 12)', function () {
  this.timeout(120000);
  let root: string;
  let cleanup: () => Promise<void>;
  let bundle: string;
  let sbtool: string;
  let server: TestServer;
  const deployments: Deployment[] = [];

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('sidecar-features-'));
    // dependencies are served over 127.0.0.1: a staging container's /tmp is its own (CONTRACT §1)
    server = await TestServer.start();
    bundle = path.join(root, 'supply.cjs');
    await buildSupplyBundle(bundle);
    await writeFile(path.join(root, 'sbtool.c'), SBTOOL_C);
    sbtool = path.join(root, 'sbtool');
    execFileSync('gcc', ['-static', '-O1', '-o', sbtool, path.join(root, 'sbtool.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });
  afterEach(async () => {
    for (const d of deployments.splice(0)) await d.delete();
  });

  /** A dependency .tgz holding `bin/<name>` (the static tool, or a script) and its manifest entry. */
  async function dependency(name: string, script?: string): Promise<string> {
    const src = path.join(root, `${name}-src`);
    await mkdir(path.join(src, 'bin'), { recursive: true });
    if (script) await writeFile(path.join(src, 'bin', name), script, { mode: 0o755 });
    else await copyFile(sbtool, path.join(src, 'bin', name));
    const tgz = path.join(root, `${name}-1.0.0.tgz`);
    execFileSync('tar', ['-czf', tgz, '-C', src, 'bin']);
    const bytes = await readFile(tgz);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const file = `/${sha.slice(0, 12)}/${name}-1.0.0.tgz`;
    server.route(file, (_req, res) => res.end(bytes));
    return `- name: ${name}\n  version: "1.0.0"\n  uri: ${server.url(file)}\n  sha256: ${sha}\n  cf_stacks: [cflinuxfs4]\n`;
  }

  /** A supply buildpack: bin/ shims, the fresh bundle, a manifest with these deps and sidecars. */
  async function buildpack(dir: string, deps: string[], sidecars: string): Promise<string> {
    const names = deps.map((d) => /name: (\S+)/.exec(d)![1]);
    const bp = await writeTree(path.join(root, dir), {
      VERSION: '0.0.1\n',
      'manifest.yml': `language: features\ndefault_versions:\n${names.map((n) => `- {name: ${n}, version: 1.0.0}\n`).join('')}dependencies:\n${deps.join('')}include_files: [bin/detect, bin/supply, manifest.yml, VERSION]\nsidecars:\n${sidecars}`,
    });
    await mkdir(path.join(bp, 'bin'), { recursive: true });
    await mkdir(path.join(bp, 'dist'), { recursive: true });
    for (const f of ['detect', 'supply']) await copyFile(path.join(REPO, 'bin', f), path.join(bp, 'bin', f));
    await copyFile(bundle, path.join(bp, 'dist', 'supply.cjs'));
    // the stack has no node: the runtime is the buildpack's own, as in a cached zip
    await addStagingRuntime(bp);
    return bp;
  }

  /** The app: the static tool in `app` mode. */
  async function app(dir: string): Promise<string> {
    const a = await writeTree(path.join(root, dir), { Procfile: 'web: ./sbtool app\n' });
    await copyFile(sbtool, path.join(a, 'sbtool'));
    return a;
  }

  function platform(): LocalPlatform {
    return new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), backoffMs: () => 200, stopGraceMs: 3000, healthCheckTimeoutMs: 30000 });
  }

  async function deploy(p: LocalPlatform, spec: AppSpec): Promise<Deployment> {
    const d = await p.deploy(spec);
    deployments.push(d);
    return d;
  }

  describe('a reverse proxy in front of the app', () => {
    it('takes the route and the health check, the app is reached only through it, killing it restarts the instance', async () => {
      const appPort = await freePort();
      const bp = await buildpack('bp-proxy', [await dependency('edge-proxy')], `- name: edge-proxy
  dependency: edge-proxy
  command: bin/edge-proxy proxy
  proxy:
    app_port: ${appPort}
  readiness:
    tcp: {port: $APP_PORT}
    timeout_seconds: 30
`);
      const d = await deploy(platform(), { dir: await app('app-proxy'), name: 'proxied', buildpacks: [bp, FINAL_BP], memoryMb: 256 });
      const PROXY = '[APP/PROC/WEB/SIDECAR/EDGE-PROXY/0]';
      const logs = d.logs();
      // the proxy waited for the app behind it, then took $PORT; only then did the health check pass
      expect(lineOf(logs, `${PROXY} OUT sidecar edge-proxy: the app behind it is ready`)).to.be.lessThan(lineOf(logs, 'Container became healthy'));
      expect(lineOf(logs, `${PROXY} OUT proxy: forwarding to 127.0.0.1:${appPort}`)).to.be.greaterThan(-1);
      // through the route: the proxy's request header reached the app, which listens on app_port
      const viaRoute = await d.get('/whoami');
      expect(viaRoute).to.deep.equal({ status: 200, body: `app on port ${appPort}, forwarded by edge-proxy` });
      expect((await d.get('/env/PORT')).body).to.equal(String(appPort));
      expect((await d.get('/env/VCAP_APP_PORT')).body).to.equal(String(appPort));
      expect((await d.get('/env/APP_PORT')).body).to.equal(String(appPort));
      expect(d.logs()).to.include(`[APP/PROC/WEB/0] OUT app: listening on ${appPort}`);
      // the routed port is the proxy's: when the instance shares this machine's network (process
      // mode: internal port = external port) the app answers without the header on app_port only
      const [ports] = JSON.parse((await d.get('/env/CF_INSTANCE_PORTS')).body) as { internal: number; external: number }[];
      const direct = ports.internal === ports.external ? [`[APP/PROC/WEB/0] OUT app: GET /whoami via none`] : [];
      if (direct.length) {
        expect(ports.internal).to.not.equal(appPort);
        expect((await directGet(appPort, '/whoami')).body).to.equal(`app on port ${appPort}, forwarded by none`);
        await logged(d, direct[0]);
      }
      // every request the app saw through the route came via the proxy
      const seen = d.logs().split('\n').filter((l) => l.includes('[APP/PROC/WEB/0] OUT app: GET '));
      expect(seen.filter((l) => !l.endsWith('via edge-proxy'))).to.deep.equal(direct);
      await d.kill('edge-proxy');
      await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 60000 });
      expect(d.logs()).to.include('"exit_description"=>"APP/PROC/WEB/SIDECAR/EDGE-PROXY: Exited with status 137"');
      expect((await d.get('/whoami')).body).to.equal(`app on port ${appPort}, forwarded by edge-proxy`);
    });

    it('refuses two proxies for one process type at staging, naming both', async () => {
      const dep = await dependency('edge-proxy');
      const bp = await buildpack('bp-two-proxies', [dep], `- {name: envoy, dependency: edge-proxy, command: bin/edge-proxy proxy, proxy: {}}
- {name: edge-proxy, dependency: edge-proxy, command: bin/edge-proxy proxy, proxy: {app_port: 9000}}
`);
      const err = (await platform().deploy({ dir: await app('app-two-proxies'), buildpacks: [bp, FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('staging');
      expect(err.logs).to.include('edge-proxy and envoy (sidecars[0]) are both proxies for web');
    });
    it('refuses a second buildpack\'s proxy for the same process type, naming both', async () => {
      const first = await buildpack('bp-proxy-a', [await dependency('edge-proxy')], `- {name: envoy, dependency: edge-proxy, command: bin/edge-proxy proxy, proxy: {}}\n`);
      const second = await buildpack('bp-proxy-b', [await dependency('edge-proxy')], `- {name: edge-proxy, dependency: edge-proxy, command: bin/edge-proxy proxy, proxy: {}}\n`);
      const err = (await platform().deploy({ dir: await app('app-proxies'), buildpacks: [first, second, FINAL_BP] }).catch((e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('staging');
      expect(err.logs).to.include('sidecars[0].proxy: edge-proxy and envoy (of the buildpack at index 0) are both proxies for web');
    });
  });

  describe('a sidecar for tasks', () => {
    async function taskApp(dir: string, readinessPort: string, onTimeout = 'fail'): Promise<{ d: Deployment; token: string; agentPort: number }> {
      const agentPort = await freePort();
      const token = `task-agent-${dir}`;
      const bp = await buildpack(`bp-${dir}`, [await dependency('agent')], `- name: agent
  dependency: agent
  command: bin/agent serve AGENT_PORT
  args: [${token}]
  process_types: [worker]
  tasks: true
  stop_grace_seconds: 2
  env:
    AGENT_PORT: "${agentPort}"
    ANSWER: secret-from-the-sidecar
  readiness:
    http: {port: ${readinessPort === 'agent' ? '$AGENT_PORT' : readinessPort}, path: /}
    timeout_seconds: 3
    on_timeout: ${onTimeout}
`);
      const d = await deploy(platform(), { dir: await app(`app-${dir}`), name: dir, buildpacks: [bp, FINAL_BP], memoryMb: 256 });
      return { d, token, agentPort };
    }

    it('runs the sidecar around the task: the task calls it, statuses 0 and 3 are kept, nothing is left running', async () => {
      const { d, token } = await taskApp('tasks', 'agent');
      // the web instance runs no agent (it is for worker and tasks only)
      expect(await processesWith(token)).to.deep.equal([]);
      const ok = await d.runTask('./sbtool get "$AGENT_PORT" / && echo " <- from the sidecar"', { name: 'migrate' });
      expect(ok.exitStatus, ok.logs).to.equal(0);
      expect(ok.logs).to.include('[APP/TASK/migrate/0] OUT secret-from-the-sidecar <- from the sidecar');
      expect(ok.logs).to.match(/\[APP\/TASK\/migrate\/0\] OUT \[sidecar agent\] serve: listening on \d+/);
      expect(ok.logs).to.include('[APP/TASK/migrate/0] OUT sidecar agent is ready');
      expect(lineOf(ok.logs, 'sidecar agent is ready')).to.be.lessThan(lineOf(ok.logs, 'secret-from-the-sidecar <- from the sidecar'));
      expect(await processesWith(token)).to.deep.equal([]);
      const three = await d.runTask('exit 3', { name: 'three' });
      expect(three.exitStatus, three.logs).to.equal(3);
      expect(await processesWith(token)).to.deep.equal([]);
    });

    it('fails a task whose sidecar never gets ready, without running its command; on_timeout: continue runs it', async () => {
      const closed = String(await freePort());
      const { d, token } = await taskApp('task-never', closed);
      const failed = await d.runTask('echo the-command-ran', { name: 'never' });
      expect(failed.exitStatus, failed.logs).to.equal(1);
      expect(failed.logs).to.not.include('the-command-ran');
      expect(failed.logs).to.include('the task command will not run (on_timeout: fail;');
      expect(await processesWith(token)).to.deep.equal([]);
      const { d: d2 } = await taskApp('task-continue', closed, 'continue');
      const ran = await d2.runTask('echo the-command-ran', { name: 'anyway' });
      expect(ran.exitStatus, ran.logs).to.equal(0);
      expect(ran.logs).to.include('the-command-ran');
      expect(ran.logs).to.include('WARNING: sidecar agent: not ready in time');
    });
  });

  describe('a shared volume', () => {
    it('is there for the app and the log shipper: the app writes a line, the shipper tails it into the log', async () => {
      const bp = await buildpack('bp-volume', [await dependency('log-shipper', LOG_SHIPPER)], `- name: log-shipper
  dependency: log-shipper
  command: bin/log-shipper
  volumes:
  - {name: varlog, path: logs/app}
`);
      const d = await deploy(platform(), { dir: await app('app-volume'), name: 'volume', buildpacks: [bp, FINAL_BP], memoryMb: 256 });
      const volume = (await d.get('/env/VARLOG_VOLUME')).body;
      expect(volume).to.match(/\/logs\/app$/);
      await logged(d, `[APP/PROC/WEB/SIDECAR/LOG-SHIPPER/0] OUT log-shipper: watching ${volume}`);
      expect(await d.get('/log/hello-from-the-app')).to.deep.equal({ status: 200, body: 'logged' });
      await logged(d, '[APP/PROC/WEB/SIDECAR/LOG-SHIPPER/0] OUT shipped: hello-from-the-app');
    });
  });

  describe('probes and env that follow the app\'s settings', () => {
    async function agentBuildpack(dir: string): Promise<string> {
      return buildpack(dir, [await dependency('agent')], `- name: agent
  dependency: agent
  command: bin/agent serve AGENT_PORT
  memory: 64
  env:
    AGENT_PORT: "1"
    ANSWER: config
  readiness:
    http: {port: $AGENT_PORT, path: /config/}
    timeout_seconds: 20
`);
    }

    it('probes the port the app set (AGENT_PORT), not the buildpack\'s default', async () => {
      const port = await freePort();
      const d = await deploy(platform(), { dir: await app('app-port'), name: 'port', buildpacks: [await agentBuildpack('bp-port'), FINAL_BP], env: { AGENT_PORT: String(port) }, memoryMb: 256 });
      const logs = d.logs();
      expect(logs).to.include(`[APP/PROC/WEB/SIDECAR/AGENT/0] OUT serve: listening on ${port}`);
      expect(logs).to.match(/\[APP\/PROC\/WEB\/0\] OUT sidecar agent is ready/);
      expect(lineOf(logs, 'sidecar agent is ready')).to.be.lessThan(lineOf(logs, '[APP/PROC/WEB/0] OUT app: listening on'));
    });

    it('refuses at staging sidecar memory not below web\'s, with the numbers', async () => {
      const err = (await platform()
        .deploy({ dir: await app('app-memory'), buildpacks: [await agentBuildpack('bp-memory'), FINAL_BP], env: { AGENT_MEMORY: '5000' }, memoryMb: 2048 })
        .catch((e: unknown) => e)) as DeployError;
      expect(err).to.be.instanceOf(DeployError);
      expect(err.phase).to.equal('staging');
      expect(err.logs).to.include("agent 5000 MB (AGENT_MEMORY) is not below web's 2048 MB: lower AGENT_MEMORY or give web more memory");
    });
  });

  it('stages and runs a sidecar with a 255-character name, the longest Cloud Controller accepts (issue 13 §6)', async () => {
    const name = `s${'-x'.repeat(127)}`;
    expect(name).to.have.length(255);
    const bp = await buildpack('bp-long-name', [await dependency('log-shipper', LOG_SHIPPER)], `- name: ${name}
  dependency: log-shipper
  command: bin/log-shipper
  volumes: [{name: varlog, path: logs/app}]
`);
    const d = await deploy(platform(), { dir: await app('app-long-name'), name: 'long-name', buildpacks: [bp, FINAL_BP], memoryMb: 256 });
    const sidecar = (await d.processes()).find((p) => p.name === name);
    expect(sidecar?.running, JSON.stringify(await d.processes())).to.equal(true);
    await logged(d, `[APP/PROC/WEB/SIDECAR/${name.toUpperCase()}/0] OUT log-shipper: watching`);
  });
});
