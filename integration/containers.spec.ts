// The local platform's containers (issue 10, CONTRACT §1–§2): each staging and each instance
// start in its own Linux container, laid out and limited like a Diego cell. Probe apps and
// buildpacks are written here; every check reads what the processes themselves see.

import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalPlatform, type LocalPlatformOptions } from '../src/platform/local/index.js';
import { portAnswers } from '../src/platform/local/ports.js';
import { DeployError, type Deployment } from '../src/platform/types.js';
import { FINAL_BP, REPO, eventually, supplyBuildpack, tempDir, writeTree } from '../test/platform/helpers.js';

/**
 * A web app in perl (the stack ships perl, not node): `/read` says whether $HOME/marker exists,
 * `/write` creates it, anything else answers ok. Binds BIND_HOST (default all addresses).
 */
const PERL_APP = String.raw`use strict; use IO::Socket::INET; $| = 1;
my $host = $ENV{BIND_HOST} || '0.0.0.0';
my $s = IO::Socket::INET->new(LocalAddr => "$host:$ENV{PORT}", Listen => 16, ReuseAddr => 1) or die "listen: $!";
print "perl app listening on $host:$ENV{PORT}\n";
while (my $c = $s->accept) {
  my $req = <$c> // ''; my ($p) = $req =~ m{^GET (\S+)}; $p //= '/';
  while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my $m = "$ENV{HOME}/marker"; my $body = 'ok';
  if ($p eq '/write') { open(my $f, '>', $m) or die; close $f; $body = 'written' }
  elsif ($p eq '/read') { $body = -e $m ? 'stale' : 'fresh' }
  print $c "HTTP/1.0 200 OK\r\nContent-Length: " . length($body) . "\r\n\r\n$body"; close $c;
}
`;
const PERL_FILES = { 'server.pl': PERL_APP, Procfile: 'web: perl server.pl\n' };

/** A supply buildpack whose launch.yml declares `sidecars` (name → command, memory). */
async function sidecarBuildpack(dir: string, sidecars: Record<string, { command: string; memory?: number }>): Promise<string> {
  const doc = Object.entries(sidecars)
    .map(([name, s]) => `- type: ${name}\n  command: ${JSON.stringify(s.command)}\n${s.memory ? `  limits:\n    memory: ${s.memory}\n` : ''}  platforms:\n    cloudfoundry:\n      sidecar_for: [web]\n`)
    .join('');
  return supplyBuildpack(dir, `cat > "$3/$4/launch.yml" <<'EOF'\nprocesses:\n${doc}EOF\necho "-----> sidecars declared"`);
}

/** Pids of live processes whose environment holds `needle`. */
async function processesWith(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
    const env = await readFile(`/proc/${e}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').includes(needle)) found.push(Number(e));
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The logs once `text` is in them: a crash before the first health check passed fails the
 * deploy (its logs come with the DeployError); after it, the instance restarts.
 */
async function crashLogs(deploying: Promise<Deployment>, text: string): Promise<string> {
  const d = await deploying.catch((e: unknown) => e);
  if (d instanceof DeployError) return d.logs;
  const running = d as Deployment;
  await until(() => running.logs().includes(text), 20000);
  return running.logs();
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15000): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}

/** A node app (node comes from the final buildpack's deps dir) answering what its process sees. */
const PROBE_JS = `const http = require('node:http');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const sh = (cmd) => { try { return execFileSync('/bin/bash', ['-c', cmd], { encoding: 'utf8' }).trim(); } catch (e) { return 'ERR ' + String(e.stderr || e.message).trim(); } };
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/probe') {
    return res.end(JSON.stringify({
      HOME: process.env.HOME, PWD: process.cwd(), DEPS_DIR: process.env.DEPS_DIR, TMPDIR: process.env.TMPDIR, PATH: process.env.PATH,
      uid: process.getuid(), user: sh('id -un'), home: fs.readdirSync('/home/vcap').sort(), lifecycle: fs.readdirSync('/tmp/lifecycle'),
      nofile: sh('ulimit -n'), node: sh('command -v node'),
    }));
  }
  if (u.pathname === '/sh') return res.end(sh(u.searchParams.get('c')));
  res.end('ok');
}).listen(Number(process.env.PORT), () => console.log('probe listening on ' + process.env.PORT));
`;

describe('local platform containers (issue 10)', function () {
  this.timeout(120000);
  let root: string;
  let cleanup: () => Promise<void>;
  let deployments: Deployment[] = [];
  let n = 0;

  before(async () => ({ dir: root, cleanup } = await tempDir('containers-')));
  after(() => cleanup());
  afterEach(async () => {
    for (const d of deployments) await d.delete();
    deployments = [];
  });

  const platform = (extra: Partial<LocalPlatformOptions> = {}) =>
    new LocalPlatform({ hostEnv: { PATH: process.env.PATH }, workRoot: path.join(root, 'work'), backoffMs: () => 100, stopGraceMs: 2000, ...extra });

  async function push(files: Record<string, string>, options: { buildpacks?: string[]; env?: Record<string, string>; platform?: LocalPlatform; diskMb?: number } = {}): Promise<Deployment> {
    // the node probe only when no app is given (its server.js makes the final buildpack install node)
    const dir = await writeTree(path.join(root, `app-${n++}`), Object.keys(files).length > 0 ? files : { 'server.js': PROBE_JS });
    const d = await (options.platform ?? platform()).deploy({ dir, name: `probe-${n}`, buildpacks: options.buildpacks ?? [FINAL_BP], env: options.env, memoryMb: 256, ...(options.diskMb ? { diskMb: options.diskMb } : {}) });
    deployments.push(d);
    return d;
  }

  it('runs in container mode on Linux (CI never falls back to process mode in silence)', function () {
    if (process.platform !== 'linux') this.skip();
    expect(platform().isolation, 'containers could not be made on this Linux machine: see the CELL notice').to.equal('container');
  });

  it('runs the droplet at /home/vcap as vcap, HOME the app dir, with the lifecycle helpers and the stack PATH', async () => {
    const d = await push({});
    const probe = JSON.parse((await d.get('/probe')).body);
    expect(probe).to.deep.include({
      HOME: '/home/vcap/app',
      PWD: '/home/vcap/app',
      DEPS_DIR: '/home/vcap/deps',
      TMPDIR: '/home/vcap/tmp',
      uid: 2000,
      user: 'vcap',
      nofile: '16384',
      node: '/home/vcap/deps/0/bin/node',
    });
    expect(probe.home).to.include.members(['app', 'deps', 'logs', 'profile.d', 'tmp', 'staging_info.yml']);
    expect(probe.lifecycle).to.deep.equal(['launcher']);
    expect(probe.PATH).to.match(/(^|:)\/usr\/local\/bin:\/usr\/bin:\/bin$/);
  });

  it("sources .profile.d in the launcher's own bash: $0 the launcher's path, $1 the app dir, $2 the command", async () => {
    const d = await push({ ...PERL_FILES, '.profile.d/argv.sh': 'echo "argv0=$0 app=$1 cmd=$2"\n' });
    await until(() => d.logs().includes('argv0='));
    expect(d.logs()).to.include('[APP/PROC/WEB/0] OUT argv0=/tmp/lifecycle/launcher app=/home/vcap/app cmd=perl server.pl');
  });

  it('starts the first instance in a container made while the final buildpack ran: the droplet mounted, nothing of the host left in it', async () => {
    const d = await push({});
    const sh = async (c: string) => (await d.get(`/sh?c=${encodeURIComponent(c)}`)).body;
    // the folders the droplet waited in are gone: no mount point of them, no folder
    expect(await sh('ls -A /')).not.to.include('.sbp');
    const points = (await sh('cat /proc/self/mountinfo')).split('\n').map((l) => l.split(' ')[4]);
    expect(points).to.include('/home/vcap');
    expect(points.filter((p) => p?.startsWith('/.sbp'))).to.deep.equal([]);
    expect(await sh('ls /home/vcap/deps/0/bin')).to.equal('node');
  });

  it('removes the container made for the first start when staging fails after it was begun', async () => {
    const work = path.join(root, 'work-failing-final');
    const final = await writeTree(path.join(root, 'failing-final'), {
      'bin/detect#x': '#!/bin/sh\nexit 0\n',
      'bin/supply#x': '#!/bin/sh\necho "final supply ran"\n',
      'bin/finalize#x': '#!/bin/sh\nsleep 1; echo "finalize fails"; exit 7\n',
    });
    const err = (await push(PERL_FILES, { buildpacks: [final], platform: platform({ workRoot: work }) }).catch((e: unknown) => e)) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.logs).to.include('finalize fails');
    // the container's init names its root (under the work root) on its command line
    const left = async () => {
      const found: string[] = [];
      for (const e of await readdir('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes(work)) found.push(`${e}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
      }
      return found;
    };
    expect(await until(async () => (await left()).length === 0, 5000), (await left()).join('\n')).to.equal(true);
  });

  it("stages as vcap on the stack's tools: the builder's paths, HOME /home/vcap, no host runtime, nothing of the host's to write", async () => {
    const bp = await supplyBuildpack(
      path.join(root, 'staging-probe-bp'),
      [
        'echo "probe user=$(id -un) uid=$(id -u) home=$HOME pwd=$(pwd) path=$PATH"',
        'echo "probe args=$1 $2 $3 $4"',
        'for t in node python3 ruby; do command -v $t >/dev/null 2>&1 && echo "probe has $t" || echo "probe no $t"; done',
        // cflinuxfs4 ships build-essential, binutils with it (its receipt)
        'for t in gcc make strip readelf; do command -v $t >/dev/null 2>&1 && echo "probe has $t" || echo "probe no $t"; done',
        'touch "$HOME/h" "$1/b" "$2/c" "$3/$4/d" && echo "probe wrote home build cache deps"',
        'touch /usr/probe 2>/dev/null && echo "probe wrote /usr" || echo "probe /usr read-only"',
        'ls /root >/dev/null 2>&1 && echo "probe reads /root" || echo "probe no /root"',
        // one file system, as on a cell: rename(2) from the cache and the app into deps works (no EXDEV)
        'echo x > "$2/c1" && echo y > "$1/b1"',
        `perl -e 'rename($ARGV[0], $ARGV[1]) && rename($ARGV[2], $ARGV[3]) or die "rename: $!\\n"' "$2/c1" "$3/$4/c1" "$1/b1" "$3/$4/b1" && echo "probe renamed cache and app files into deps"`,
      ].join('\n'),
    );
    const d = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP] });
    const probe = d
      .logs()
      .split('\n')
      .filter((l) => l.includes('[STG/0] OUT probe '))
      .map((l) => l.slice(l.indexOf('probe ') + 6));
    expect(probe[0]).to.match(/^user=vcap uid=2000 home=\/home\/vcap pwd=\/tmp\/app path=\/usr\/local\/bin:\/usr\/bin:\/bin$/);
    expect(probe[1]).to.match(/^args=\/tmp\/app \/tmp\/cache\/[0-9a-f]{16} \/tmp\/contents[0-9a-f]+\/deps 0$/);
    expect(probe.slice(2)).to.deep.equal(['no node', 'no python3', 'no ruby', 'has gcc', 'has make', 'has strip', 'has readelf', 'wrote home build cache deps', '/usr read-only', 'no /root', 'renamed cache and app files into deps']);
  });

  it('stages and runs from a work root whose path holds a space, a comma, a colon and a backslash (the mount tables escape them)', async () => {
    const p = platform({ workRoot: path.join(root, 'odd work,root:\\x') });
    const d = await push(PERL_FILES, { platform: p, buildpacks: [await sidecarBuildpack(path.join(root, 'odd-bp'), { probe: { command: 'echo probe sees $(ls /home/vcap/app); exec sleep 600' } }), FINAL_BP] });
    expect((await d.get('/write')).body).to.equal('written');
    await eventually(async () => expect(d.logs()).to.include('[APP/PROC/WEB/SIDECAR/PROBE/0] OUT probe sees Procfile server.pl'));
    // a restart's container is made with the droplet complete (the first is made while staging runs)
    await d.kill('web');
    await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 30000 });
    expect((await d.get('/read')).body).to.equal('fresh');
  });

  it('still runs in process mode when asked (the fallback): the droplet on this machine, the host port', async () => {
    const p = platform({ isolation: 'process' });
    expect(p.isolation).to.equal('process');
    const d = await push(PERL_FILES, { platform: p });
    expect((await d.get('/write')).body).to.equal('written');
    await eventually(async () => expect(d.logs()).to.match(/\[APP\/PROC\/WEB\/0\] OUT perl app listening on 0\.0\.0\.0:\d+/));
    expect(d.logs()).not.to.include('listening on 0.0.0.0:8080');
  });

  it('fails at launch on an absolute staging path baked into launch.yml', async () => {
    // the classic bug: "$3" is the staging deps dir (/tmp/contents…/deps), gone at launch
    const bp = await supplyBuildpack(
      path.join(root, 'abs-bp'),
      `mkdir -p "$3/$4/bin"; printf '#!/bin/sh\\nexec sleep 600\\n' > "$3/$4/bin/agent"; chmod +x "$3/$4/bin/agent"
cat > "$3/$4/launch.yml" <<EOF
processes:
- type: agent
  command: $3/$4/bin/agent
  platforms:
    cloudfoundry:
      sidecar_for: [web]
EOF`,
    );
    // the sidecar fails at once; web may or may not have passed its health check before that
    const logs = await crashLogs(push(PERL_FILES, { buildpacks: [bp, FINAL_BP] }), 'SIDECAR/AGENT: Exited with status 127');
    expect(logs).to.match(/\[APP\/PROC\/WEB\/SIDECAR\/AGENT\/0\] ERR bash: line 1: \/tmp\/contents[0-9a-f]+\/deps\/0\/bin\/agent: No such file or directory/);
    expect(logs).to.include('"exit_description"=>"APP/PROC/WEB/SIDECAR/AGENT: Exited with status 127"');
  });

  it("fails a sidecar that needs the host's node, python3 or ruby with the shell's \"not found\"", async () => {
    const bp = await sidecarBuildpack(path.join(root, 'runtime-bp'), { 'needs-runtimes': { command: 'node -e 1; python3 -c 1; ruby -e 1; exec node -e "setInterval(() => {}, 1000)"' } });
    const logs = await crashLogs(push(PERL_FILES, { buildpacks: [bp, FINAL_BP] }), 'SIDECAR/NEEDS-RUNTIMES: Exited with status 127');
    for (const tool of ['node', 'python3', 'ruby']) expect(logs).to.include(`[APP/PROC/WEB/SIDECAR/NEEDS-RUNTIMES/0] ERR bash: line 1: ${tool}: command not found`);
    expect(logs).to.include('[APP/PROC/WEB/SIDECAR/NEEDS-RUNTIMES/0] ERR bash: line 1: exec: node: not found');
    expect(logs).to.include('"exit_description"=>"APP/PROC/WEB/SIDECAR/NEEDS-RUNTIMES: Exited with status 127"');
  });

  it('runs two apps whose sidecars bind the same port (each instance has its own localhost)', async () => {
    const squat = 'perl -MIO::Socket::INET -e \'$| = 1; IO::Socket::INET->new(LocalAddr => "127.0.0.1:9999", Listen => 1) or die "bind: $!\\n"; print "bound 9999\\n"; sleep 600\'';
    const bp = await sidecarBuildpack(path.join(root, 'squat-bp'), { squatter: { command: squat } });
    const p = platform();
    const [a, b] = [await push(PERL_FILES, { buildpacks: [bp, FINAL_BP], platform: p }), await push(PERL_FILES, { buildpacks: [bp, FINAL_BP], platform: p })];
    for (const d of [a, b]) expect(await until(() => d.logs().includes('[APP/PROC/WEB/SIDECAR/SQUATTER/0] OUT bound 9999')), d.logs()).to.equal(true);
    await sleep(500);
    for (const d of [a, b]) {
      expect(d.logs()).not.to.include('Address already in use');
      expect(d.restartCount).to.equal(0);
      expect((await d.get('/')).body).to.equal('ok');
    }
  });

  it("fails an app listening on 127.0.0.1 only with the platform's health-check message", async () => {
    const err = (await push(PERL_FILES, { env: { BIND_HOST: '127.0.0.1' }, platform: platform({ healthCheckTimeoutMs: 2000 }) }).then(() => undefined, (e: unknown) => e)) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.phase).to.equal('starting');
    expect(err.logs).to.include('[APP/PROC/WEB/0] OUT perl app listening on 127.0.0.1:8080');
    expect(err.logs).to.include('[CELL/0] ERR Failed after 2s: startup health check never passed.');
  });

  it('starts every restart in a fresh container: a file the first instance wrote is gone', async () => {
    const d = await push(PERL_FILES);
    expect((await d.get('/write')).body).to.equal('written');
    expect((await d.get('/read')).body).to.equal('stale');
    await d.kill('web');
    await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 30000 });
    expect((await d.get('/read')).body).to.equal('fresh');
  });

  it("names each container's host after its handle, as Garden does: an instance's is its CF_INSTANCE_GUID, a new one at every start; a task's is the task's guid", async () => {
    const d = await push({});
    const names = async () => (await d.get(`/sh?c=${encodeURIComponent('echo "$(hostname) $(cat /etc/hostname) $(getent hosts "$(hostname)" | cut -d" " -f1) $CF_INSTANCE_GUID $CF_INSTANCE_INTERNAL_IP"')}`)).body.split(' ');
    const [host, etc, address, guid, ip] = await names();
    expect(guid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect([host, etc, address]).to.deep.equal([guid, guid, ip]);
    expect(d.logs()).to.include(`[CELL/0] OUT Cell local-cell creating container for instance ${guid}`);
    await d.kill('web');
    await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 30000 });
    const [again, , , guidAgain] = await names();
    expect(again).to.equal(guidAgain);
    expect(again).not.to.equal(host);
    const r = await d.runTask('hostname', { name: 'host' });
    const taskHost = /\[APP\/TASK\/host\/0\] OUT ([0-9a-f-]{36})$/m.exec(r.logs)?.[1];
    expect(taskHost, r.logs).to.be.a('string');
    expect(r.logs).to.include(`[CELL/0] OUT Cell local-cell creating container for instance ${taskHost}`);
  });

  it('runs a task in a container of its own: the droplet fresh at /home/vcap, as vcap, on the stack', async () => {
    const d = await push(PERL_FILES);
    expect((await d.get('/write')).body).to.equal('written');
    const r = await d.runTask('echo "home=$HOME pwd=$PWD user=$(id -un) node=$(command -v node || echo none)"; [ -e "$HOME/marker" ] && echo "marker: stale" || echo "marker: fresh"', { name: 'probe' });
    expect(r.exitStatus, r.logs).to.equal(0);
    expect(r.logs).to.include('[APP/TASK/probe/0] OUT home=/home/vcap/app pwd=/home/vcap/app user=vcap node=none');
    expect(r.logs).to.include('[APP/TASK/probe/0] OUT marker: fresh');
    expect((await d.get('/read')).body, 'the web instance keeps its own file').to.equal('stale');
  });

  it("has the stack's en_US.UTF-8 locale (CC's LANG) at staging and at launch: perl starts without a locale warning", async () => {
    const check = 'echo "LANG=$LANG locales=$(locale -a | grep -ci "^en_US.utf8$")"; perl -e "print qq(perl ok\\n)" 2>&1';
    const bp = await supplyBuildpack(path.join(root, 'locale-bp'), `{ ${check}; } | sed 's/^/staging: /'`);
    const d = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP] });
    expect(d.logs(), d.logs()).to.include('[STG/0] OUT staging: LANG=en_US.UTF-8 locales=1');
    expect(d.logs()).to.include('[STG/0] OUT staging: perl ok');
    const r = await d.runTask(check, { name: 'locale' });
    expect(r.logs).to.include('[APP/TASK/locale/0] OUT LANG=en_US.UTF-8 locales=1');
    expect(r.logs).to.include('[APP/TASK/locale/0] OUT perl ok');
    expect(`${d.logs()}\n${r.logs}`).not.to.include('Setting locale failed');
  });

  it('sends SIGTERM to the sidecar only: its grandchild never sees it, and grandchild and a setsid daemon are gone after delete', async () => {
    const marker = `CONTAINERS_MARKER=${path.basename(root)}-${n}`;
    const command = "(trap 'echo grandchild: got SIGTERM' TERM; while :; do sleep 0.1; done) & setsid sh -c 'exec sleep 600' & echo started; wait";
    const bp = await sidecarBuildpack(path.join(root, 'tree-bp'), { tree: { command } });
    const d = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP], env: { CONTAINERS_MARKER: marker.split('=')[1] } });
    expect(await until(() => d.logs().includes('[APP/PROC/WEB/SIDECAR/TREE/0] OUT started'))).to.equal(true);
    // web, the sidecar's shell, its grandchild subshell (and its sleep), the setsid daemon
    expect(await until(async () => (await processesWith(marker)).length >= 4), 'processes of the instance').to.equal(true);
    await d.delete();
    deployments = [];
    expect(d.logs()).not.to.include('grandchild: got SIGTERM');
    expect(await processesWith(marker)).to.deep.equal([]);
  });

  it('kills a sidecar that allocates past its memory and reports it as out of memory', async () => {
    const hog = 'perl -e \'$| = 1; print "allocating\\n"; my $x = "a" x (200 * 1024 * 1024); sleep 600\'';
    const bp = await sidecarBuildpack(path.join(root, 'hog-bp'), { hog: { command: hog, memory: 32 } });
    const logs = await crashLogs(push(PERL_FILES, { buildpacks: [bp, FINAL_BP] }), '(out of memory)');
    expect(logs).to.include('[APP/PROC/WEB/SIDECAR/HOG/0] OUT Exit status 137');
    expect(logs).to.include('"exit_description"=>"APP/PROC/WEB/SIDECAR/HOG: Exited with status 137 (out of memory)"');
  });

  it('limits a staging to the larger of the app memory and 1024 MB, with 16384 files open; past it the builder exits "(out of memory)"', async () => {
    // the app has 256 MB: a perl holding 400 MB (twice that at its peak: the string, then its copy)
    // fits at staging (CC stages in max(app, minimum_staging_memory_mb)), one holding 1200 MB does not
    const alloc = (mb: number) => `perl -e '$| = 1; my $x = "a" x (${mb} * 1024 * 1024); print "allocated ${mb} MB\\n"'`;
    const bp = await supplyBuildpack(path.join(root, 'staging-hog-bp'), `echo "staging nofile $(ulimit -n)"\n${alloc(400)}\n${alloc(1200)}`);
    const e = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP] }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(DeployError);
    const logs = (e as DeployError).logs;
    expect(logs).to.include('[STG/0] OUT staging nofile 16384');
    expect(logs).to.include('[STG/0] OUT allocated 400 MB');
    expect(logs).not.to.include('allocated 1200 MB');
    expect(logs).to.include('[STG/0] ERR Failed to run all supply scripts: exit status 137');
    expect(logs).to.include('[STG/0] OUT Exit status 225 (out of memory)');
  });

  it('keeps /tmp on disk: a sidecar writing twice its memory into /tmp is not killed', async () => {
    // on a cell /tmp is the container's disk; in a tmpfs the pages would count as the writer's memory
    const writer = 'head -c 67108864 /dev/zero > /tmp/big && echo "wrote $(wc -c < /tmp/big) bytes to a $(stat -f -c %T /tmp) /tmp"; exec sleep 600';
    const bp = await sidecarBuildpack(path.join(root, 'tmp-bp'), { writer: { command: writer, memory: 32 } });
    const d = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP] });
    expect(await until(() => d.logs().includes('bytes to a'))).to.equal(true);
    const line = d.logs().split('\n').find((l) => l.includes('bytes to a')) ?? '';
    expect(line).to.include('[APP/PROC/WEB/SIDECAR/WRITER/0] OUT wrote 67108864 bytes to a');
    expect(line).not.to.include('tmpfs');
    await sleep(300);
    expect(d.logs()).not.to.include('out of memory');
  });

  it('limits what an instance writes to its disk quota, /tmp included: past it, "No space left on device"', async () => {
    const writer = [
      'head -c 33554432 /dev/zero > "$HOME/ok" && echo "home: wrote $(wc -c < "$HOME/ok")"',
      'head -c 104857600 /dev/zero > /tmp/big; echo "tmp: status $?"',
      'rm -f /tmp/big "$HOME/ok"; head -c 33554432 /dev/zero > /tmp/again && echo "tmp: room again"',
      'exec sleep 600',
    ].join('; ');
    const bp = await sidecarBuildpack(path.join(root, 'disk-bp'), { writer: { command: writer, memory: 32 } });
    const d = await push(PERL_FILES, { buildpacks: [bp, FINAL_BP], diskMb: 64 });
    expect(await until(() => d.logs().includes('tmp: room again')), d.logs()).to.equal(true);
    const tag = '[APP/PROC/WEB/SIDECAR/WRITER/0]';
    expect(d.logs()).to.include(`${tag} OUT home: wrote 33554432`);
    expect(d.logs()).to.include(`${tag} ERR head: error writing 'standard output': No space left on device`);
    expect(d.logs()).to.include(`${tag} OUT tmp: status 1`);
    await d.delete();
    deployments = [];
    // the loop devices go with the containers' mount namespaces (the kernel frees those a moment later)
    const attached = async () => {
      const blocks = (await readdir('/sys/block')).filter((b) => b.startsWith('loop'));
      const files = await Promise.all(blocks.map((b) => readFile(`/sys/block/${b}/loop/backing_file`, 'utf8').catch(() => '')));
      return files.filter((f) => f.includes(root));
    };
    expect(await until(async () => (await attached()).length === 0, 10000), (await attached()).join()).to.equal(true);
  });

  it('counts the droplet against the disk quota, as a cell that unpacks it into the container does', async () => {
    // a 40 MB file in the app: of a 64 MB quota about 24 MB are left to write
    const writer = 'head -c 33554432 /dev/zero > /tmp/f; echo "32 MB: status $?"; rm -f /tmp/f; head -c 8388608 /dev/zero > /tmp/f; echo "8 MB: status $?"; exec sleep 600';
    const bp = await sidecarBuildpack(path.join(root, 'reserve-bp'), { writer: { command: writer, memory: 32 } });
    const d = await push({ ...PERL_FILES, 'big.bin': 'x'.repeat(40 * 1024 * 1024) }, { buildpacks: [bp, FINAL_BP], diskMb: 64 });
    expect(await until(() => d.logs().includes('8 MB: status')), d.logs()).to.equal(true);
    expect(d.logs()).to.include('[APP/PROC/WEB/SIDECAR/WRITER/0] OUT 32 MB: status 1');
    expect(d.logs()).to.include('[APP/PROC/WEB/SIDECAR/WRITER/0] OUT 8 MB: status 0');
    // a restart's fresh container counts it too (made with the droplet complete)
    await d.kill('web');
    await d.waitUntilRunning({ minRestarts: 1, timeoutMs: 30000 });
    expect(await until(() => d.logs().split('OUT 32 MB: status 1').length === 3), d.logs()).to.equal(true);
  });

  /** `sidecar-buildpack push` as its own process (from the sources), its output gathered. */
  /** `push` as a process of its own (`asUser`: with that uid and gid, through setpriv). */
  function spawnPush(app: string, args: string[], o: { asUser?: number; home?: string; group?: boolean } = {}) {
    const argv = [process.execPath, '--import', 'tsx', path.join(REPO, 'src', 'bin', 'cli.ts'), 'push', app, ...args];
    const user = o.asUser === undefined ? [] : ['setpriv', `--reuid=${o.asUser}`, `--regid=${o.asUser}`, '--clear-groups', '--'];
    const [cmd, ...rest] = [...user, ...argv];
    const child = spawn(cmd, rest, {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: o.home ?? process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
      // a process group of its own, as a shell gives a command it runs in the foreground
      detached: o.group ?? false,
    });
    const io = { out: '', code: undefined as number | null | undefined, signal: undefined as NodeJS.Signals | null | undefined };
    child.stdout.on('data', (c) => (io.out += c));
    child.stderr.on('data', (c) => (io.out += c));
    const exited = new Promise<void>((r) => child.once('exit', (code, signal) => {
      io.code = code;
      io.signal = signal;
      r();
    }));
    return { child, io, exited };
  }

  for (const sig of ['SIGKILL', 'SIGHUP'] as const) {
    it(`leaves no process, port or mount behind when push is killed with ${sig}`, async () => {
      const workRoot = path.join(root, `kill-${sig}`);
      const marker = `KILL_MARKER=${path.basename(root)}-${sig}`;
      const app = await writeTree(path.join(root, `kill-${sig}-app`), PERL_FILES);
      const { child, io, exited } = spawnPush(app, ['-b', FINAL_BP, '--work-root', workRoot, '--env', marker]);
      expect(await until(() => /url: http:\/\/127\.0\.0\.1:\d+/.test(io.out), 60000), io.out).to.equal(true);
      const port = Number(/url: http:\/\/127\.0\.0\.1:(\d+)/.exec(io.out)?.[1]);
      expect(await processesWith(marker)).to.have.length.greaterThan(0);
      child.kill(sig);
      await exited;
      // SIGHUP (a closed terminal) stops and deletes the app as SIGTERM does: exit 128 + 1
      if (sig === 'SIGHUP') expect(io.code, io.out).to.equal(129);
      expect(await until(async () => (await processesWith(marker)).length === 0), `instance processes after ${sig}`).to.equal(true);
      expect(await portAnswers(port)).to.equal(false);
      const mounts = await readFile('/proc/self/mountinfo', 'utf8');
      expect(mounts).not.to.include(workRoot);
      // the janitor removes the deploy dir once the push process is gone
      const deploys = path.join(workRoot, 'deploys');
      expect(await until(async () => !existsSync(deploys) || (await readdir(deploys)).length === 0), `deploy dirs after ${sig}`).to.equal(true);
    });
  }

  it("stops the app as the platform does on a terminal's Ctrl-C (SIGINT to push's whole process group): SIGTERM to each process, never the terminal's SIGINT", async () => {
    const trapper = "trap 'echo trapper got INT' INT; trap 'echo trapper got TERM; exit 0' TERM; echo trapper up; while :; do sleep 0.05; done";
    const bp = await sidecarBuildpack(path.join(root, 'ctrl-c-bp'), { trapper: { command: trapper } });
    const app = await writeTree(path.join(root, 'ctrl-c-app'), PERL_FILES);
    const { child, io, exited } = spawnPush(app, ['-b', bp, '-b', FINAL_BP, '--work-root', path.join(root, 'ctrl-c')], { group: true });
    expect(await until(() => io.out.includes('trapper up') && io.out.includes('Container became healthy'), 60000), io.out).to.equal(true);
    process.kill(-(child.pid as number), 'SIGINT');
    await exited;
    expect(io.code, io.out).to.equal(130);
    expect(io.out).to.include('[APP/PROC/WEB/SIDECAR/TRAPPER/0] OUT trapper got TERM');
    expect(io.out).not.to.include('trapper got INT');
    // perl's default for SIGTERM: it ends by the signal, 128 + 15
    expect(io.out).to.include('[APP/PROC/WEB/0] OUT Exit status 143');
    expect(io.out).to.include('[APP/PROC/WEB/SIDECAR/TRAPPER/0] OUT Exit status 0');
  });

  it('runs containers in a user namespace when not root: vcap inside, the stack, its own network; a notice names the missing limits', async function () {
    if (process.getuid?.() !== 0) this.skip(); // switching to another user needs root
    const NOBODY = 65534;
    // everything the other user reads or writes: its own folder
    const own = path.join(root, 'rootless');
    await mkdir(own, { recursive: true });
    await chmod(root, 0o755);
    const probe = [
      'echo "probe user=$(id -u) home=$HOME path=$PATH"',
      'for t in node python3; do command -v $t >/dev/null 2>&1 && echo "probe has $t" || echo "probe no $t"; done',
      'echo "probe droplet=$(ls /home/vcap | tr "\\n" " ")"',
      'echo "probe addr=$(ip -o -4 addr show eth0 | awk \'{print $4}\')"',
      'exec sleep 600',
    ].join('; ');
    const bp = await sidecarBuildpack(path.join(own, 'bp'), { probe: { command: probe } });
    const app = await writeTree(path.join(own, 'app'), PERL_FILES);
    const marker = `ROOTLESS_MARKER=${path.basename(root)}`;
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, own]);
    const { child, io, exited } = spawnPush(app, ['-b', bp, '-b', FINAL_BP, '--work-root', path.join(own, 'work'), '--env', marker], { asUser: NOBODY, home: own });
    try {
      expect(await until(() => io.out.includes('probe addr='), 60000), io.out).to.equal(true);
      // the sidecar's line can come before web listens: the route answers once the instance is healthy
      expect(await until(() => io.out.includes('[CELL/0] OUT Container became healthy'), 60000), io.out).to.equal(true);
      const url = /url: (http:\/\/127\.0\.0\.1:\d+)/.exec(io.out)?.[1];
      expect(await (await fetch(`${url}/write`)).text(), io.out).to.equal('written');
      expect(io.out).to.include('[CELL/0] ERR local platform: not root, so containers run in a user namespace (this user is vcap inside); they cannot reproduce: memory and pid limits');
      expect(io.out).not.to.include('running in process mode');
      const lines = io.out.split('\n').filter((l) => l.includes('SIDECAR/PROBE/0] OUT probe ')).map((l) => l.slice(l.indexOf('probe ') + 6));
      expect(lines.slice(0, 3)).to.deep.equal(['user=2000 home=/home/vcap/app path=/usr/local/bin:/usr/bin:/bin', 'no node', 'no python3']);
      expect(lines[3]).to.match(/^droplet=app deps logs profile\.d staging_info\.yml tmp $/);
      expect(lines[4]).to.match(/^addr=10\.255\.\d+\.\d+\/30$/);
      // the processes are this user's on the host, and vcap's inside
      const pids = await processesWith(marker);
      expect(pids).to.have.length.greaterThan(0);
      // a short-lived process (a health check) may be gone between the listing and the read
      const uids = (await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/status`, 'utf8').then((t) => t.match(/^Uid:\s+(\d+)/m)?.[1], () => undefined)))).filter(Boolean);
      expect(uids).to.have.length.greaterThan(0);
      for (const uid of uids) expect(uid).to.equal(String(NOBODY));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(await until(async () => (await processesWith(marker)).length === 0), 'processes after the push stopped').to.equal(true);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.to.include(own);
  });

  context('when push is stopped during staging (issue 13 item 9)', () => {
    /** A supply buildpack that starts a long child (as a download or a tar would be) and waits. */
    const slowSupply = () => supplyBuildpack(path.join(root, `slow-bp-${n++}`), 'sleep 600 & echo "supply: started a long child"; wait');

    it('stops staging at once on SIGTERM, killing the supply script and its children, and exits 143', async () => {
      const marker = `STAGING_MARKER=${path.basename(root)}-term`;
      const app = await writeTree(path.join(root, 'staging-term-app'), PERL_FILES);
      const { child, io, exited } = spawnPush(app, ['-b', await slowSupply(), '-b', FINAL_BP, '--work-root', path.join(root, 'staging-term'), '--env', marker]);
      expect(await until(() => io.out.includes('supply: started a long child'), 60000), io.out).to.equal(true);
      expect(await processesWith(marker)).to.have.length.greaterThan(0);
      child.kill('SIGTERM');
      await exited;
      expect(io.code, io.out).to.equal(143);
      expect(io.out).to.include('staging stopped');
      expect(await processesWith(marker)).to.deep.equal([]);
    });

    it('leaves no staging process behind when push is killed with SIGKILL', async () => {
      const marker = `STAGING_MARKER=${path.basename(root)}-kill`;
      const workRoot = path.join(root, 'staging-kill');
      const app = await writeTree(path.join(root, 'staging-kill-app'), PERL_FILES);
      const { child, io, exited } = spawnPush(app, ['-b', await slowSupply(), '-b', FINAL_BP, '--work-root', workRoot, '--env', marker]);
      expect(await until(() => io.out.includes('supply: started a long child'), 60000), io.out).to.equal(true);
      child.kill('SIGKILL');
      await exited;
      expect(await until(async () => (await processesWith(marker)).length === 0), 'staging processes after kill -9').to.equal(true);
      const deploys = path.join(workRoot, 'deploys');
      expect(await until(async () => !existsSync(deploys) || (await readdir(deploys)).length === 0), 'deploy dirs after kill -9').to.equal(true);
    });

    it('exits at once on a second signal while the first is still stopping the app', async () => {
      const marker = `STAGING_MARKER=${path.basename(root)}-twice`;
      // a sidecar that ignores SIGTERM: the first Ctrl-C waits out its 10 s grace
      const bp = await sidecarBuildpack(path.join(root, 'stubborn-bp'), { stubborn: { command: "trap '' TERM; echo stubborn up; while :; do sleep 0.1; done" } });
      const app = await writeTree(path.join(root, 'twice-app'), PERL_FILES);
      const { child, io, exited } = spawnPush(app, ['-b', bp, '-b', FINAL_BP, '--work-root', path.join(root, 'twice'), '--env', marker]);
      expect(await until(() => io.out.includes('stubborn up'), 60000), io.out).to.equal(true);
      child.kill('SIGINT');
      expect(await until(() => io.out.includes('stopping '), 10000), io.out).to.equal(true);
      child.kill('SIGINT');
      await exited;
      expect(io.code, io.out).to.equal(130);
      expect(io.out).to.include('SIGINT again: exiting now');
      expect(await until(async () => (await processesWith(marker)).length === 0), 'processes after the forced exit').to.equal(true);
    });
  });
});
