// The POSIX sh entry points: bin/detect, and bin/supply's search for a staging Node runtime.
// Real shells, a real HTTP server on 127.0.0.1, real runtime tarballs; the bundle is replaced
// by a probe that reports which node ran it. The runtime table dist/runtime.tsv is written from
// each test's manifest by the TypeScript writer (test/helpers/runtime-table.ts), as the build does.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeNoNodePath } from '../helpers/no-node-path.js';
import { writeRuntimeTable } from '../helpers/runtime-table.js';
import type { RuntimeRow } from '../../src/packager/runtime-table.js';
import { LOADER_PATH, codeCacheZipPath, recordCodeCache } from '../../src/packager/code-cache.js';
import { runAsync, type SpawnResult } from '../helpers/spawn.js';
import { runtimeHead, type RuntimeHead } from '../../src/packager/runtime-head.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Run a command without blocking the event loop (the HTTP server lives in this process). */
const run = (cmd: string, args: string[], env: Record<string, string>): Promise<SpawnResult> => runAsync(cmd, args, { env });

describe('entry point shims', () => {
  let tmp: string;
  let stackPath: string;
  let server: http.Server;
  let port: number;
  let requests: string[];
  let runtimeTgz: Buffer;
  let runtimeSha: string;
  /** A runtime whose bin/node says EVIL instead of running the bundle: must never run. */
  let evilTgz: Buffer;
  /** The bare bin/node of the runtime (what a cached zip carries). */
  let runtimeBin: Buffer;
  /** More archives the server answers, by path. */
  const serveExtra = new Map<string, Buffer>();

  async function tgz(name: string, files: Record<string, string>): Promise<Buffer> {
    const src = path.join(tmp, `${name}-src`);
    for (const [rel, text] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(src, rel)), { recursive: true });
      await fs.writeFile(path.join(src, rel), text, { mode: 0o755 });
    }
    const out = path.join(tmp, `${name}.tgz`);
    const r = spawnSync('tar', ['-czf', out, '-C', src, ...Object.keys(files).map((f) => f.split('/')[0]).filter((v, i, a) => a.indexOf(v) === i)]);
    expect(r.status, String(r.stderr)).to.equal(0);
    return fs.readFile(out);
  }

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'shims-'));
    stackPath = await makeNoNodePath();
    // a runtime tarball like the CF node dependency: bin/node at its root (here it execs the real
    // node) beside the parts staging does not need
    runtimeBin = Buffer.from(`#!/bin/sh\nFAKE_RUNTIME=yes exec ${process.execPath} "$@"\n`);
    runtimeTgz = await tgz('node', { 'bin/node': runtimeBin.toString(), 'bin/npm': '#!/bin/sh\n', 'include/node/node.h': '/* */\n' });
    runtimeSha = sha256(runtimeTgz);
    evilTgz = await tgz('evil', { 'bin/node': '#!/bin/sh\necho EVIL-RAN\n' });
    requests = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.url} auth=${req.headers.authorization ? 'yes' : 'no'}`);
      if (req.url && serveExtra.has(req.url)) res.end(serveExtra.get(req.url));
      else if (req.url === '/node.tgz') res.end(runtimeTgz);
      else if (req.url === '/bad.tgz') res.end(Buffer.concat([runtimeTgz, Buffer.from('x')]));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.close();
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.rm(stackPath, { recursive: true, force: true });
  });
  beforeEach(() => {
    requests = [];
  });

  /** A buildpack dir with the real bin/ shims, a probe bundle, the given manifest and its runtime table. */
  async function buildpack(manifest: string, files: Record<string, Buffer> = {}, table = true): Promise<string> {
    const bp = await fs.mkdtemp(path.join(tmp, 'bp-'));
    await fs.cp(path.join(repo, 'bin'), path.join(bp, 'bin'), { recursive: true });
    await fs.mkdir(path.join(bp, 'dist'));
    await fs.writeFile(
      path.join(bp, 'dist', 'supply.cjs'),
      `const t = process.env.SIDECAR_BUILDPACK_RUNTIME_TMP; console.log('BUNDLE args=' + process.argv.slice(2).join(',') + ' runtime=' + (process.env.FAKE_RUNTIME || 'path') + (t ? ' tmp=' + t : '') + (process.env.PROBE_EXEC ? ' exec=' + process.execPath : '') + (process.env.PROBE_TABLE ? ' table_manifest=' + process.env.SIDECAR_BUILDPACK_TABLE_MANIFEST_SHA256 : ''))\n`,
    );
    await fs.writeFile(path.join(bp, 'manifest.yml'), manifest);
    for (const [rel, data] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(bp, rel)), { recursive: true });
      await fs.writeFile(path.join(bp, rel), data, { mode: 0o755 });
    }
    if (table) await writeRuntimeTable(bp);
    return bp;
  }

  function nodeManifest(uri: string, sha = runtimeSha, extra = ''): string {
    return `language: x\ndependencies:\n- name: other\n  version: 1.0.0\n  uri: http://127.0.0.1:1/other.tgz\n  sha256: ${'a'.repeat(64)}\n  cf_stacks: [cflinuxfs4]\n- name: node\n  version: 22.1.0\n  uri: ${uri}\n  sha256: ${sha}\n  cf_stacks:\n  - cflinuxfs3\n  - cflinuxfs4\n${extra}`;
  }

  /** Staging dirs, plus a private TMPDIR (where bin/supply unpacks the runtime it runs). */
  async function dirs(): Promise<{ args: string[]; tmpdir: string }> {
    const d = await fs.mkdtemp(path.join(tmp, 'stage-'));
    for (const s of ['build', 'cache', 'deps/0', 'tmp']) await fs.mkdir(path.join(d, s), { recursive: true });
    return { args: [path.join(d, 'build'), path.join(d, 'cache'), path.join(d, 'deps'), '0'], tmpdir: path.join(d, 'tmp') };
  }
  const noNode = (tmpdir: string, stack = 'cflinuxfs4'): Record<string, string> => ({ PATH: stackPath, CF_STACK: stack, TMPDIR: tmpdir });
  const keptArchive = (cache: string): string => path.join(cache, 'sidecar-buildpack', 'node', runtimeSha, 'runtime.tgz');

  describe('bin/detect', () => {
    it('exits 1 and says on stderr that this is a supply buildpack', async () => {
      const r = await run(path.join(repo, 'bin', 'detect'), ['/tmp'], { PATH: stackPath });
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/supply buildpack/);
      expect(r.stdout).to.equal('');
    });
  });

  describe('bin/supply', () => {
    context('when node >= 18 is on PATH', () => {
      it('runs the bundle with it and passes the four arguments through, without needing the table', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`), {}, false);
        const { args } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: `${path.dirname(process.execPath)}:${stackPath}`, CF_STACK: 'cflinuxfs4', PROBE_TABLE: '1', SIDECAR_BUILDPACK_TABLE_MANIFEST_SHA256: 'from-the-app' });
        // (no runtime table read: none named to the bundle, whatever the app's environment says)
        expect(r.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=path table_manifest=undefined\n`);
        expect(requests).to.deep.equal([]);
      });
    });

    context('when node is on PATH and the buildpack has dist/run.cjs', () => {
      /** A `node` on PATH that logs each call, then runs the real node (after `preload`, when given). */
      async function loggingNode(preload = ''): Promise<{ dir: string; calls: () => Promise<string[]> }> {
        const dir = await fs.mkdtemp(path.join(tmp, 'path-node-'));
        const log = path.join(dir, 'calls');
        const r = preload ? `-r ${path.join(dir, 'preload.cjs')} ` : '';
        if (preload) await fs.writeFile(path.join(dir, 'preload.cjs'), preload);
        await fs.writeFile(path.join(dir, 'node'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\n[ "$1" != --version ] || { echo ${preload ? 'v16.20.2' : process.version}; exit 0; }\nexec ${process.execPath} ${r}"$@"\n`, { mode: 0o755 });
        return { dir, calls: async () => (await fs.readFile(log, 'utf8')).trimEnd().split('\n') };
      }
      const runCjs = async (): Promise<Record<string, Buffer>> => ({ 'dist/run.cjs': await fs.readFile(path.join(repo, 'dist', 'run.cjs')) });
      // a node that reports 16 to the script it runs, as an old node would
      const OLD = "Object.defineProperty(process.versions, 'node', { value: '16.20.2' });\n";

      it('runs the bundle through it with that node, asked nothing before (no `node --version`)', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`), await runCjs());
        const { args } = await dirs();
        const node = await loggingNode();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: `${node.dir}:${stackPath}`, CF_STACK: 'cflinuxfs4' });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=path\n`);
        expect(await node.calls()).to.deep.equal([`${bp}/bin/../dist/run.cjs ${args.join(' ')}`]);
        expect(requests).to.deep.equal([]);
      });

      it('passes over a node older than 18: bin/supply runs again and stages with the staging runtime', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`), await runCjs());
        const { args, tmpdir } = await dirs();
        const node = await loggingNode(OLD);
        const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PATH: `${node.dir}:${stackPath}` });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('-----> Installing node 22.1.0');
        expect(r.stdout).to.match(/BUNDLE args=.* runtime=yes tmp=/);
        // the old node ran dist/run.cjs once, and was not asked again
        expect(await node.calls()).to.deep.equal([`${bp}/bin/../dist/run.cjs ${args.join(' ')}`]);
      });

      it("gives the second run's failure and exit status as its own", async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/missing.tgz`), await runCjs());
        const { args, tmpdir } = await dirs();
        const node = await loggingNode(OLD);
        const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PATH: `${node.dir}:${stackPath}` });
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain(`could not download http://127.0.0.1:${port}/missing.tgz`);
        expect(r.stdout).not.to.contain('BUNDLE');
      });
    });

    context('when PATH has no node', () => {
      it('downloads the runtime for CF_STACK, verifies it, keeps only the archive in CACHE and reuses it offline', async () => {
        const bp = await buildpack(nodeManifest(`http://user:secret@127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const first = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(first.stdout).to.contain('-----> Installing node 22.1.0');
        expect(first.stdout).to.contain(`       Download [http://-redacted-:-redacted-@127.0.0.1:${port}/node.tgz]`);
        expect(first.stdout + first.stderr).not.to.contain('secret');
        expect(first.stdout).to.match(/BUNDLE args=.* runtime=yes tmp=.*\n$/);
        expect(first.status).to.equal(0);
        // the verified archive, nothing else; nothing of the runtime in the deps dir (never in the droplet)
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node'))).to.deep.equal([runtimeSha]);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node', runtimeSha))).to.deep.equal(['runtime.tgz']);
        expect(await fs.readFile(keptArchive(args[1]))).to.deep.equal(runtimeTgz);
        expect(await fs.readdir(path.join(args[2], '0'))).to.deep.equal([]);
        // bin/node only was unpacked, into the private temp dir named to the bundle (which removes it)
        const runDir = /tmp=(\S+)/.exec(first.stdout)![1];
        expect(path.dirname(runDir)).to.equal(tmpdir);
        expect(await fs.readdir(runDir)).to.deep.equal(['bin']);
        expect(await fs.readdir(path.join(runDir, 'bin'))).to.deep.equal(['node']);

        const second = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(second.stdout).to.match(new RegExp(`^BUNDLE args=${args.join(',')} runtime=yes tmp=\\S+\\n$`));
        expect(requests).to.have.length(1);
      });

      describe('an archive whose head the manifest records (dependency add|update node)', () => {
        let headTgz: Buffer;
        let head: RuntimeHead;
        before(async () => {
          // bin/node first, then more than the head's margin of npm-like content after it
          // (a bin/node of some size: its first line execs, the comment after it is never read)
          const bin = `${runtimeBin.toString()}# ${randomBytes(192 * 1024).toString('base64')}\n`;
          headTgz = await tgz('node-head', { 'bin/node': bin, 'lib/node_modules/npm/big.js': randomBytes(768 * 1024).toString('base64') });
          const file = path.join(tmp, 'node-head.tgz');
          head = (await runtimeHead(file))!;
          expect(head, 'the archive has a head').to.not.equal(undefined);
          expect(head.bytes).to.be.below(headTgz.length / 2);
        });
        const headKeys = (bytes: number, sha: string): string => `  bin_node_head_bytes: ${bytes}\n  bin_node_head_sha256: ${sha}\n`;
        const served = (): string => `http://127.0.0.1:${port}/node-head.tgz`;
        const entry = (cache: string): string => path.join(cache, 'sidecar-buildpack', 'node', sha256(headTgz));

        it('keeps only that head in the app cache, and runs bin/node from it on the next staging, offline', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(head.bytes, head.sha256)));
          const { args, tmpdir } = await dirs();
          const first = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(first.status, first.stdout + first.stderr).to.equal(0);
          expect(first.stdout).to.match(/runtime=yes/);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['runtime.head']);
          expect(await fs.readFile(path.join(entry(args[1]), 'runtime.head'))).to.deep.equal(headTgz.subarray(0, head.bytes));
          serveExtra.delete('/node-head.tgz');
          const second = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(second.status, second.stdout + second.stderr).to.equal(0);
          expect(second.stdout).to.match(/^BUNDLE args=.* runtime=yes tmp=\S+\n$/);
          expect(requests.filter((r) => r.startsWith('/node-head.tgz'))).to.have.length(1);
        });

        it('a whole archive an older staging kept becomes its head, without a download, once the manifest records one', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const before = await buildpack(nodeManifest(served(), sha256(headTgz)));
          const { args, tmpdir } = await dirs();
          expect((await run(path.join(before, 'bin', 'supply'), args, noNode(tmpdir))).status).to.equal(0);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['runtime.tgz']);
          serveExtra.delete('/node-head.tgz');
          const after = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(head.bytes, head.sha256)));
          const converted = await run(path.join(after, 'bin', 'supply'), args, noNode(tmpdir));
          expect(converted.status, converted.stdout + converted.stderr).to.equal(0);
          expect(converted.stdout).to.match(/^BUNDLE args=.* runtime=yes tmp=\S+\n$/);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['runtime.head']);
          const next = await run(path.join(after, 'bin', 'supply'), args, noNode(tmpdir));
          expect(next.stdout).to.match(/^BUNDLE args=.* runtime=yes tmp=\S+\n$/);
          expect(requests.filter((r) => r.startsWith('/node-head.tgz'))).to.have.length(1);
        });

        it('a kept head that fails its sha256 is installed again', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(head.bytes, head.sha256)));
          const { args, tmpdir } = await dirs();
          expect((await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir))).status).to.equal(0);
          const kept = path.join(entry(args[1]), 'runtime.head');
          const bytes = await fs.readFile(kept);
          bytes[bytes.length - 1] ^= 0xff;
          await fs.writeFile(kept, bytes);
          const again = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(again.status, again.stdout + again.stderr).to.equal(0);
          expect(again.stdout).to.contain(`fails its sha256 check (expected sha256 ${head.sha256} of its first ${head.bytes} bytes`);
          expect(again.stdout).to.contain('-----> Installing node 22.1.0');
          expect(await fs.readFile(kept)).to.deep.equal(headTgz.subarray(0, head.bytes));
        });

        it('a recorded head that is not this archive\'s: a warning, and the whole archive is kept', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(head.bytes, 'c'.repeat(64))));
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.contain(`**WARNING**`);
          expect(r.stdout).to.contain(`(${head.bytes} bytes, sha256 ${'c'.repeat(64)}) is not one of this archive that holds its bin/node: keeping the whole archive`);
          // the refused record is noted, so later stagings do not cut and hash the archive again for it
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['head-refused', 'runtime.tgz']);
          expect(await fs.readFile(path.join(entry(args[1]), 'head-refused'), 'utf8')).to.equal('c'.repeat(64));
          const again = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(again.stdout).to.match(/^BUNDLE args=.* runtime=yes tmp=\S+\n$/);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['head-refused', 'runtime.tgz']);
        });

        it('a kept head that matches its record but does not give bin/node is never run: installed again', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const cut = headTgz.subarray(0, 4096); // inside bin/node's data
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(cut.length, sha256(cut))));
          const { args, tmpdir } = await dirs();
          await fs.mkdir(entry(args[1]), { recursive: true });
          await fs.writeFile(path.join(entry(args[1]), 'runtime.head'), cut);
          const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.contain(`The cached node runtime does not give bin/node here (gzip and tar of its first ${cut.length} bytes): installing it again`);
          expect(r.stdout).to.match(/runtime=yes/);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['head-refused', 'runtime.tgz']);
        });

        /** A PATH like the stack's, with `tools` replaced by these scripts or, as null, left out. */
        const pathWith = async (tools: Record<string, string | null>): Promise<string> => {
          const dir = await fs.mkdtemp(path.join(tmp, 'path-'));
          for (const name of await fs.readdir(stackPath)) {
            if (!(name in tools)) await fs.symlink(await fs.readlink(path.join(stackPath, name)), path.join(dir, name));
          }
          for (const [name, script] of Object.entries(tools)) if (script !== null) await fs.writeFile(path.join(dir, name), script, { mode: 0o755 });
          return dir;
        };
        const twoStagings = async (PATH: string): Promise<void> => {
          serveExtra.set('/node-head.tgz', headTgz);
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(head.bytes, head.sha256)));
          const { args, tmpdir } = await dirs();
          for (const when of ['first', 'warm']) {
            const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PATH });
            expect(r.status, `${when}: ${r.stdout}${r.stderr}`).to.equal(0);
            expect(r.stdout, when).to.match(/runtime=yes/);
            expect(await fs.readdir(entry(args[1])), when).to.deep.equal(['runtime.head']);
          }
        };

        it("inflates the head with the stack's perl (its zlib, faster than GNU gzip): a stack without gzip still gets bin/node", async () => {
          await twoStagings(await pathWith({ gzip: null }));
        });

        for (const [what, perl] of [['no perl', null], ['a perl without Compress::Raw::Zlib', '#!/bin/sh\nexit 2\n']] as const) {
          it(`inflates the head with gzip on a stack with ${what}`, async () => {
            await twoStagings(await pathWith({ perl }));
          });
        }

        it('a head cut before the end of bin/node is never run: the whole archive is kept', async () => {
          serveExtra.set('/node-head.tgz', headTgz);
          const cut = 4096; // inside bin/node's data
          const bp = await buildpack(nodeManifest(served(), sha256(headTgz), headKeys(cut, sha256(headTgz.subarray(0, cut)))));
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.match(/runtime=yes/);
          expect(await fs.readdir(entry(args[1]))).to.deep.equal(['head-refused', 'runtime.tgz']);
        });
      });

      it('treats a node older than 18 on PATH as no node', async () => {
        const old = await fs.mkdtemp(path.join(tmp, 'old-node-'));
        await fs.writeFile(path.join(old, 'node'), '#!/bin/sh\necho v16.20.2\n', { mode: 0o755 });
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PATH: `${old}:${stackPath}` });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('-----> Installing node 22.1.0');
        expect(r.stdout).to.match(/runtime=yes/);
      });

      it('unpacks bin/node of a nodejs.org-style archive (one top-level folder), and notes its name for the next staging', async () => {
        const top = 'node-v22.1.0-linux-x64';
        const nested = await tgz('nested', { [`${top}/bin/node`]: runtimeBin.toString(), [`${top}/lib/node_modules/npm/bin/node`]: '#!/bin/sh\necho WRONG-RAN\n' });
        const nestedServer = http.createServer((_req, res) => res.end(nested));
        await new Promise<void>((r) => nestedServer.listen(0, '127.0.0.1', r));
        try {
          const bp = await buildpack(nodeManifest(`http://127.0.0.1:${(nestedServer.address() as AddressInfo).port}/n.tgz`, sha256(nested)));
          const { args, tmpdir } = await dirs();
          const first = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(first.status, first.stdout + first.stderr).to.equal(0);
          expect(first.stdout).to.match(/runtime=yes/);
          const entry = path.join(args[1], 'sidecar-buildpack', 'node', sha256(nested));
          expect((await fs.readdir(entry)).sort()).to.deep.equal(['member', 'runtime.tgz']);
          expect(await fs.readFile(path.join(entry, 'member'), 'utf8')).to.equal(`${top}/bin/node\n`);
          const warm = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(warm.stdout).to.match(/^BUNDLE .* runtime=yes tmp=\S+\n$/);
          // a note naming another file of the (verified) archive, or none of it, is not followed
          for (const note of [`${top}/lib/node_modules/npm/bin/node`, '../bin/node', 'other/bin/node', `${top}/bin/node\n${top}/lib/x`]) {
            await fs.writeFile(path.join(entry, 'member'), `${note}\n`);
            const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
            expect(r.stdout + r.stderr, note).not.to.contain('WRONG-RAN');
            expect(r.stdout, note).to.match(/^BUNDLE .* runtime=yes tmp=\S+\n$/);
          }
        } finally {
          nestedServer.close();
        }
      });

      it('unpacks an archive whose names start with ./ and notes the name', async () => {
        const src = path.join(tmp, 'dot-src');
        await fs.mkdir(path.join(src, 'bin'), { recursive: true });
        await fs.writeFile(path.join(src, 'bin', 'node'), runtimeBin, { mode: 0o755 });
        expect(spawnSync('tar', ['-czf', path.join(tmp, 'dot.tgz'), '-C', src, './bin']).status).to.equal(0);
        const dot = await fs.readFile(path.join(tmp, 'dot.tgz'));
        const dotServer = http.createServer((_req, res) => res.end(dot));
        await new Promise<void>((r) => dotServer.listen(0, '127.0.0.1', r));
        try {
          const bp = await buildpack(nodeManifest(`http://127.0.0.1:${(dotServer.address() as AddressInfo).port}/n.tgz`, sha256(dot)));
          const { args, tmpdir } = await dirs();
          for (let i = 0; i < 2; i++) {
            const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
            expect(r.status, r.stdout + r.stderr).to.equal(0);
            expect(r.stdout).to.match(/runtime=yes/);
          }
          const note = path.join(args[1], 'sidecar-buildpack', 'node', sha256(dot), 'member');
          expect(await fs.readFile(note, 'utf8')).to.equal('./bin/node\n');
          // a lost note is written again by the next staging that has to look for bin/node
          await fs.rm(note);
          const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(r.stdout).to.match(/runtime=yes/);
          expect(await fs.readFile(note, 'utf8')).to.equal('./bin/node\n');
        } finally {
          dotServer.close();
        }
      });

      it('reads the runtime of a manifest with CRLF line endings and flow-style entries (the parser decides, not the shim)', async () => {
        const manifest = [
          '---',
          'language: x',
          'default_versions: [{name: node, version: 22.1.x}]',
          'dependencies:',
          `  - {name: node, version: "22.0.0", uri: "http://127.0.0.1:1/old.tgz", sha256: ${'b'.repeat(64)}, cf_stacks: [cflinuxfs4]}`,
          `  - {name: node, version: '22.1.0', uri: 'http://127.0.0.1:${port}/node.tgz', sha256: ${runtimeSha}, cf_stacks: [cflinuxfs4]}  # the one`,
          '',
        ].join('\r\n');
        const bp = await buildpack(manifest);
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('-----> Installing node 22.1.0');
        expect(r.stdout).to.contain('runtime=yes');
        expect(r.stdout).not.to.contain('WARNING');
      });

      it('reads a table checked out with CRLF line endings', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const table = path.join(bp, 'dist', 'runtime.tsv');
        await fs.writeFile(table, (await fs.readFile(table, 'utf8')).replace(/\n/g, '\r\n'));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('runtime=yes');
        expect(r.stdout).not.to.contain('WARNING');
      });

      it('uses the * row when CF_STACK is unset', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: stackPath, TMPDIR: tmpdir });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('runtime=yes');
      });

      it("names the manifest the table was written from to the bundle (which warns when manifest.yml changed since), and still stages", async () => {
        const manifest = nodeManifest(`http://127.0.0.1:${port}/node.tgz`);
        const bp = await buildpack(manifest);
        await fs.appendFile(path.join(bp, 'manifest.yml'), '# edited\n');
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PROBE_TABLE: '1' });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.match(new RegExp(`runtime=yes tmp=\\S+ table_manifest=${sha256(Buffer.from(manifest))}\n$`));
        // a table without the line: named as none recorded
        const table = path.join(bp, 'dist', 'runtime.tsv');
        await fs.writeFile(table, (await fs.readFile(table, 'utf8')).replace(/^# manifest-sha256 .*\n/m, ''));
        const r2 = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PROBE_TABLE: '1' });
        expect(r2.status, r2.stdout + r2.stderr).to.equal(0);
        expect(r2.stdout).to.match(/runtime=yes tmp=\S+ table_manifest=-\n$/);
      });

      it('verifies with sha256sum when the stack has no openssl', async () => {
        const noOpenssl = await makeNoNodePath();
        await fs.rm(path.join(noOpenssl, 'openssl'), { force: true });
        try {
          const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/bad.tgz`));
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir), PATH: noOpenssl });
          expect(r.status).to.equal(1);
          expect(r.stdout).to.contain(`expected sha256 ${runtimeSha}, actual sha256 ${sha256(Buffer.concat([runtimeTgz, Buffer.from('x')]))}`);
        } finally {
          await fs.rm(noOpenssl, { recursive: true, force: true });
        }
      });
    });

    context('the cached runtime is verified on every use', () => {
      async function primed(): Promise<{ bp: string; args: string[]; tmpdir: string }> {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const first = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(first.status, first.stdout + first.stderr).to.equal(0);
        requests = [];
        return { bp, args, tmpdir };
      }

      for (const [what, bytes] of [
        ['replaced by another runtime', () => evilTgz],
        ['truncated to 0 bytes', () => Buffer.alloc(0)],
      ] as const) {
        it(`an archive ${what} never runs: it is installed again and staging succeeds`, async () => {
          const { bp, args, tmpdir } = await primed();
          await fs.writeFile(keptArchive(args[1]), bytes());
          const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
          expect(r.stdout).not.to.contain('EVIL-RAN');
          expect(r.stdout).to.contain(`The cached node runtime fails its sha256 check (expected sha256 ${runtimeSha}, actual sha256 ${sha256(bytes())})`);
          expect(r.stdout).to.contain('-----> Installing node 22.1.0');
          expect(r.stdout).to.match(/runtime=yes/);
          expect(r.status).to.equal(0);
          expect(requests).to.have.length(1);
          expect(await fs.readFile(keptArchive(args[1]))).to.deep.equal(runtimeTgz);
        });
      }

      it('an executable planted where the old layout kept bin/node never runs', async () => {
        const { bp, args, tmpdir } = await primed();
        const planted = path.join(args[1], 'sidecar-buildpack', 'node', runtimeSha, 'bin', 'node');
        await fs.mkdir(path.dirname(planted), { recursive: true });
        await fs.writeFile(planted, '#!/bin/sh\necho EVIL-RAN\n', { mode: 0o755 });
        await fs.rm(keptArchive(args[1]));
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.stdout).not.to.contain('EVIL-RAN');
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node', runtimeSha))).to.deep.equal(['runtime.tgz']);
      });

      it('a symlinked cache entry directory is not followed', async () => {
        const { bp, args, tmpdir } = await primed();
        const elsewhere = await fs.mkdtemp(path.join(tmp, 'elsewhere-'));
        await fs.writeFile(path.join(elsewhere, 'runtime.tgz'), evilTgz);
        const entry = path.join(args[1], 'sidecar-buildpack', 'node', runtimeSha);
        await fs.rm(entry, { recursive: true });
        await fs.symlink(elsewhere, entry);
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.stdout).not.to.contain('EVIL-RAN');
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect((await fs.lstat(entry)).isDirectory()).to.equal(true);
        expect(await fs.readFile(path.join(elsewhere, 'runtime.tgz'))).to.deep.equal(evilTgz);
      });

      it('8 stagings bootstrapping at once on one cache all succeed and leave one verified archive', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const runs = await Promise.all(Array.from({ length: 8 }, () => run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir))));
        for (const r of runs) {
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.match(/runtime=yes/);
        }
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node'))).to.deep.equal([runtimeSha]);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node', runtimeSha))).to.deep.equal(['runtime.tgz']);
        expect(await fs.readFile(keptArchive(args[1]))).to.deep.equal(runtimeTgz);
      });

      it('temp runtimes of stagings that died (pid gone) are swept', async () => {
        const { bp, args, tmpdir } = await primed();
        const dead = path.join(tmpdir, 'sidecar-buildpack-node.999999999.AbCdEf');
        await fs.mkdir(path.join(dead, 'bin'), { recursive: true });
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        const runDir = /tmp=(\S+)/.exec(r.stdout)![1];
        // the probe bundle does not remove its dir (the real bundle does: test-reliability/bootstrap)
        expect((await fs.readdir(tmpdir)).sort()).to.deep.equal([path.basename(runDir)]);
      });
    });

    context('a cached buildpack carrying the bare binary (the table names file, file_sha256, file_bytes)', () => {
      const file = 'dependencies/0123/bin/node';
      let realBin: { bytes: number; sha: string };
      before(async () => {
        realBin = { bytes: (await fs.stat(process.execPath)).size, sha: sha256(await fs.readFile(process.execPath)) };
      });
      /** The table as the packager writes it (size and sha256 of this node), or as before sizes were recorded. */
      const withFile = (withBytes: boolean) => (rows: RuntimeRow[]) =>
        rows.map((r) => ({ ...r, file, fileSha256: realBin.sha, ...(withBytes ? { fileBytes: realBin.bytes } : {}) }));

      /** A buildpack whose `file` is a copy of this node's binary, or `bytes` when given. */
      async function cachedBuildpack(o: { bytes?: Buffer; mode?: number; withBytes?: boolean } = {}): Promise<string> {
        const bp = await buildpack(nodeManifest('http://127.0.0.1:1/node.tgz'), {}, false);
        const target = path.join(bp, file);
        await fs.mkdir(path.dirname(target), { recursive: true });
        // a copy, never a hard link: the mode set below would be this node's own
        await fs.writeFile(target, o.bytes ?? (await fs.readFile(process.execPath)), { mode: 0o600 });
        await fs.chmod(target, o.mode ?? 0o755);
        await writeRuntimeTable(bp, withFile(o.withBytes ?? true));
        return bp;
      }
      const probed = (tmpdir: string): Record<string, string> => ({ ...noNode(tmpdir), PROBE_EXEC: '1' });

      it('runs it in place after checking its size and ELF header, with no network and nothing in the app cache', async () => {
        const bp = await cachedBuildpack();
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { ...noNode(tmpdir, 'cflinuxfs3'), PROBE_EXEC: '1' });
        expect(r.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=path exec=${path.join(bp, file)}\n`);
        expect(r.status).to.equal(0);
        expect(requests).to.deep.equal([]);
        expect(await fs.readdir(args[1])).to.deep.equal([]);
        expect(await fs.readdir(tmpdir)).to.deep.equal([]);
      });

      context('with the code cache the packager records beside the binary', () => {
        /** The buildpack with dist/run.cjs and the cache recorded by running its binary, as the packager does. */
        async function withCodeCache(): Promise<string> {
          const bp = await cachedBuildpack();
          await fs.copyFile(path.join(repo, LOADER_PATH), path.join(bp, LOADER_PATH));
          const out = path.join(tmp, `cache-${path.basename(bp)}`);
          expect(await recordCodeCache(bp, path.join(bp, file), 'cflinuxfs4', out)).to.deep.equal({ recorded: true });
          await fs.rename(out, path.join(bp, codeCacheZipPath(file)));
          return bp;
        }

        it('runs the bundle through dist/run.cjs from the cache, with the same arguments', async () => {
          const bp = await withCodeCache();
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, { ...probed(tmpdir), BP_DEBUG: '1' });
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.include(`DEBUG:\x1b[0m code cache ${path.join(bp, codeCacheZipPath(file))}: used\n`);
          expect(r.stdout).to.include(`BUNDLE args=${args.join(',')} runtime=path exec=${path.join(bp, file)}\n`);
          expect(await fs.readdir(args[1])).to.deep.equal([]);
        });

        it('never runs a cache made for another bundle, even one of the same length (V8 checks only the length)', async () => {
          const bp = await withCodeCache();
          const bundle = path.join(bp, 'dist', 'supply.cjs');
          const before = await fs.readFile(bundle, 'utf8');
          const after = before.replace("'BUNDLE args='", "'CHANGE args='");
          expect(after.length).to.equal(before.length);
          await fs.writeFile(bundle, after);
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, { ...probed(tmpdir), BP_DEBUG: '1' });
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.include(': not used: missing, or made for another bundle or node\n');
          expect(r.stdout).to.include(`CHANGE args=${args.join(',')}`);
        });

        it('a node on PATH of the same version uses it too, as does node on PATH for each of several runtimes', async () => {
          const bp = await withCodeCache();
          // a second runtime's cache (another stack's node), made for another node: skipped, not fatal
          const other = 'dependencies/4567/bin/node';
          await fs.mkdir(path.join(bp, path.dirname(other)), { recursive: true });
          await fs.writeFile(path.join(bp, codeCacheZipPath(other)), '{"format":1,"node":"v0.0.0"}\nxx');
          const { args } = await dirs();
          const onPath = { PATH: `${path.dirname(process.execPath)}:${stackPath}`, CF_STACK: 'cflinuxfs4', BP_DEBUG: '1', PROBE_EXEC: '1' };
          const r = await run(path.join(bp, 'bin', 'supply'), args, onPath);
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.include(`DEBUG:\x1b[0m code cache ${path.join(bp, codeCacheZipPath(file))}: used\n`);
          expect(r.stdout).to.include(`BUNDLE args=${args.join(',')} runtime=path exec=${process.execPath}\n`);
          // only the cache for another node: the bundle compiles as it runs directly
          await fs.rm(path.join(bp, codeCacheZipPath(file)));
          const r2 = await run(path.join(bp, 'bin', 'supply'), args, onPath);
          expect(r2.status, r2.stdout + r2.stderr).to.equal(0);
          expect(r2.stdout).to.include(`DEBUG:\x1b[0m code cache ${path.join(bp, codeCacheZipPath(other))}: not used: missing, or made for another bundle or node\n`);
          expect(r2.stdout).to.include(`BUNDLE args=${args.join(',')}`);
        });

        it("a code cache path from the app's environment is never what runs (bin/supply sets its own)", async () => {
          const bp = await withCodeCache();
          const { args } = await dirs();
          const evil = path.join(tmp, `evil-${path.basename(bp)}`);
          const r = await run(path.join(bp, 'bin', 'supply'), args, {
            PATH: `${path.dirname(process.execPath)}:${stackPath}`,
            CF_STACK: 'cflinuxfs4',
            BP_DEBUG: '1',
            SIDECAR_BUILDPACK_CODE_CACHE: evil,
            SIDECAR_BUILDPACK_WRITE_CODE_CACHE: evil,
          });
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.include(`DEBUG:\x1b[0m code cache ${path.join(bp, codeCacheZipPath(file))}: used\n`);
          expect(await fs.stat(evil).then(() => true, () => false), 'nothing written where the environment said').to.equal(false);
        });

        it('without dist/run.cjs (a buildpack made before it) runs the bundle directly', async () => {
          const bp = await withCodeCache();
          await fs.rm(path.join(bp, LOADER_PATH));
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, { ...probed(tmpdir), BP_DEBUG: '1' });
          expect(r.status, r.stdout + r.stderr).to.equal(0);
          expect(r.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=path exec=${path.join(bp, file)}\n`);
        });
      });

      it('a buildpack unpacked without file modes: a checked executable copy in the temp dir', async () => {
        const bp = await cachedBuildpack({ mode: 0o644 });
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, probed(tmpdir));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.match(/runtime=path tmp=\S+ exec=\S+\/sidecar-buildpack-node\.[^/]+\/node\n$/);
      });

      it('a binary cut short (a truncated unpack) fails staging naming expected and actual size, and never runs', async () => {
        const whole = await fs.readFile(process.execPath);
        const bp = await cachedBuildpack({ bytes: whole.subarray(0, whole.length - 4096) });
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, probed(tmpdir));
        expect(r.status).to.equal(1);
        expect(r.stdout).not.to.contain('BUNDLE');
        expect(r.stdout).to.contain(`**ERROR**\x1b[0m the buildpack's staging runtime ${file} is corrupt: expected ${realBin.bytes} bytes, found ${realBin.bytes - 4096}`);
      });

      for (const [what, bytes] of [
        ['replaced by a script', () => Buffer.from('#!/bin/sh\necho EVIL-RAN\n')],
        ['0 bytes long', () => Buffer.alloc(0)],
        // as long as the real one, so only the header tells
        ['replaced by a script of the same size', () => Buffer.concat([Buffer.from('#!/bin/sh\necho EVIL-RAN\nexit 0\n'), Buffer.alloc(realBin.bytes - 31, 0x23)])],
      ] as const) {
        it(`a binary ${what} fails staging and never runs`, async () => {
          const b = bytes();
          const bp = await cachedBuildpack({ bytes: b });
          const { args, tmpdir } = await dirs();
          const r = await run(path.join(bp, 'bin', 'supply'), args, probed(tmpdir));
          expect(r.status).to.equal(1);
          expect(r.stdout).not.to.contain('EVIL-RAN');
          expect(r.stdout).not.to.contain('BUNDLE');
          expect(r.stdout).to.contain(
            b.length === realBin.bytes
              ? `**ERROR**\x1b[0m the buildpack's staging runtime ${file} is corrupt: it is not an executable (ELF) binary`
              : `**ERROR**\x1b[0m the buildpack's staging runtime ${file} is corrupt: expected ${realBin.bytes} bytes, found ${b.length}`,
          );
        });
      }

      it('a symlink where the binary should be never runs', async () => {
        const bp = await cachedBuildpack();
        await fs.rm(path.join(bp, file));
        await fs.symlink(process.execPath, path.join(bp, file));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, probed(tmpdir));
        expect(r.status).to.equal(1);
        expect(r.stdout).not.to.contain('BUNDLE');
        expect(r.stdout).to.contain(`the buildpack's staging runtime ${file} is a symlink`);
      });

      it('a table written before sizes were recorded: the binary is hashed, and a replaced one named by expected and actual sha256', async () => {
        const evil = Buffer.from('#!/bin/sh\necho EVIL-RAN\n');
        const bp = await cachedBuildpack({ bytes: evil, withBytes: false });
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, probed(tmpdir));
        expect(r.status).to.equal(1);
        expect(r.stdout).not.to.contain('EVIL-RAN');
        expect(r.stdout).to.contain(`the buildpack's staging runtime ${file} is corrupt: expected sha256 ${realBin.sha}, actual sha256 ${sha256(evil)}`);
        const good = await cachedBuildpack({ withBytes: false });
        const ok = await run(path.join(good, 'bin', 'supply'), args, probed(tmpdir));
        expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
        expect(ok.stdout, ok.stdout).to.contain(`exec=${path.join(good, file)}`);
      });
    });

    context('failure cases', () => {
      it('fails with the sha256 message and leaves nothing in the cache', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/bad.tgz`));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status).to.equal(1);
        const actual = sha256(Buffer.concat([runtimeTgz, Buffer.from('x')]));
        expect(r.stdout).to.contain(`**ERROR**\x1b[0m dependency sha256 mismatch: expected sha256 ${runtimeSha}, actual sha256 ${actual}`);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node'))).to.deep.equal([]);
        expect(await fs.readdir(tmpdir)).to.deep.equal([]);
      });

      it('fails clearly when the table has no node for the stack, listing the stacks it has', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir, 'cflinuxfs5'));
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain('no node dependency for stack cflinuxfs5 in the buildpack\'s runtime table (stacks: cflinuxfs3, cflinuxfs4)');
      });

      it('fails clearly when the buildpack has no runtime table', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`), {}, false);
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain('the buildpack has no dist/runtime.tsv');
      });

      it('fails clearly on a download error without printing credentials', async () => {
        const bp = await buildpack(nodeManifest(`http://user:secret@127.0.0.1:${port}/missing.tgz`));
        const { args, tmpdir } = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, noNode(tmpdir));
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain('could not download http://-redacted-:-redacted-@');
        expect(r.stdout + r.stderr).not.to.contain('secret');
      });

      it('refuses a wrong number of arguments', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const r = await run(path.join(bp, 'bin', 'supply'), ['only-one'], { PATH: stackPath });
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain('usage: bin/supply');
      });
    });
  });
});
