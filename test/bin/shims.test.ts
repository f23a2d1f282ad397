// The POSIX sh entry points: bin/detect, and bin/supply's search for a staging Node runtime.
// Real shells, a real HTTP server on 127.0.0.1, a real runtime tarball; the bundle is replaced
// by a probe that reports which node ran it.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeNoNodePath } from '../helpers/no-node-path.js';
import { runAsync, type SpawnResult } from '../helpers/spawn.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'shims-'));
    stackPath = await makeNoNodePath();
    // a runtime tarball like the CF node dependency: bin/node at its root (here it execs the real node)
    const rt = path.join(tmp, 'rt');
    await fs.mkdir(path.join(rt, 'bin'), { recursive: true });
    await fs.writeFile(path.join(rt, 'bin', 'node'), `#!/bin/sh\nFAKE_RUNTIME=yes exec ${process.execPath} "$@"\n`, { mode: 0o755 });
    spawnSync('tar', ['-czf', path.join(tmp, 'node.tgz'), '-C', rt, 'bin']);
    runtimeTgz = await fs.readFile(path.join(tmp, 'node.tgz'));
    runtimeSha = createHash('sha256').update(runtimeTgz).digest('hex');
    requests = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.url} auth=${req.headers.authorization ? 'yes' : 'no'}`);
      if (req.url === '/node.tgz') res.end(runtimeTgz);
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

  /** A buildpack dir with the real bin/ shims, a probe bundle and the given manifest. */
  async function buildpack(manifest: string, files: Record<string, Buffer> = {}): Promise<string> {
    const bp = await fs.mkdtemp(path.join(tmp, 'bp-'));
    await fs.cp(path.join(repo, 'bin'), path.join(bp, 'bin'), { recursive: true });
    await fs.mkdir(path.join(bp, 'dist'));
    await fs.writeFile(
      path.join(bp, 'dist', 'supply.cjs'),
      `console.log('BUNDLE args=' + process.argv.slice(2).join(',') + ' runtime=' + (process.env.FAKE_RUNTIME || 'path'))\n`,
    );
    await fs.writeFile(path.join(bp, 'manifest.yml'), manifest);
    for (const [rel, data] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(bp, rel)), { recursive: true });
      await fs.writeFile(path.join(bp, rel), data);
    }
    return bp;
  }

  function nodeManifest(uri: string, sha = runtimeSha, extra = ''): string {
    return `language: x\ndependencies:\n- name: other\n  version: 1.0.0\n  uri: http://127.0.0.1:1/other.tgz\n  sha256: ${'a'.repeat(64)}\n  cf_stacks: [cflinuxfs4]\n- name: node\n  version: 22.1.0\n  uri: ${uri}\n  sha256: ${sha}\n  cf_stacks:\n  - cflinuxfs3\n  - cflinuxfs4\n${extra}`;
  }

  async function dirs() {
    const d = await fs.mkdtemp(path.join(tmp, 'stage-'));
    for (const s of ['build', 'cache', 'deps/0']) await fs.mkdir(path.join(d, s), { recursive: true });
    return [path.join(d, 'build'), path.join(d, 'cache'), path.join(d, 'deps'), '0'];
  }

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
      it('runs the bundle with it and passes the four arguments through', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const args = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: `${path.dirname(process.execPath)}:${stackPath}`, CF_STACK: 'cflinuxfs4' });
        expect(r.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=path\n`);
        expect(requests).to.deep.equal([]);
      });
    });

    context('when PATH has no node', () => {
      it('downloads the manifest runtime for CF_STACK, verifies it, keeps it in CACHE and reuses it offline', async () => {
        const bp = await buildpack(nodeManifest(`http://user:secret@127.0.0.1:${port}/node.tgz`));
        const args = await dirs();
        const env = { PATH: stackPath, CF_STACK: 'cflinuxfs4' };
        const first = await run(path.join(bp, 'bin', 'supply'), args, env);
        expect(first.stdout).to.contain('-----> Installing node 22.1.0');
        expect(first.stdout).to.contain(`       Download [http://-redacted-:-redacted-@127.0.0.1:${port}/node.tgz]`);
        expect(first.stdout + first.stderr).not.to.contain('secret');
        expect(first.stdout).to.match(/BUNDLE args=.* runtime=yes\n$/);
        expect(first.status).to.equal(0);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node'))).to.deep.equal([runtimeSha]);
        // nothing of the runtime in the deps dir (it never enters the droplet)
        expect(await fs.readdir(path.join(args[2], '0'))).to.deep.equal([]);

        const second = await run(path.join(bp, 'bin', 'supply'), args, env);
        expect(second.stdout).to.equal(`BUNDLE args=${args.join(',')} runtime=yes\n`);
        expect(requests).to.have.length(1);
      });

      it('treats a node older than 18 on PATH as no node', async () => {
        const old = await fs.mkdtemp(path.join(tmp, 'old-node-'));
        await fs.writeFile(path.join(old, 'node'), '#!/bin/sh\necho v16.20.2\n', { mode: 0o755 });
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const r = await run(path.join(bp, 'bin', 'supply'), await dirs(), { PATH: `${old}:${stackPath}`, CF_STACK: 'cflinuxfs4' });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('-----> Installing node 22.1.0');
        expect(r.stdout).to.match(/runtime=yes\n$/);
      });

      it('takes the runtime from a cached buildpack file without any network', async () => {
        const file = 'dependencies/0123/node.tgz';
        const bp = await buildpack(nodeManifest('http://127.0.0.1:1/node.tgz', runtimeSha, `  file: ${file}\n`), { [file]: runtimeTgz });
        const args = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: stackPath, CF_STACK: 'cflinuxfs3' });
        expect(r.stdout).to.contain(`       Copy [${path.join(bp, file)}]`);
        expect(r.stdout).not.to.contain('Download');
        expect(r.status).to.equal(0);
        expect(requests).to.deep.equal([]);
      });

      it('reads a packaged manifest (indented lists, top-level stack, flow cf_stacks)', async () => {
        const manifest = `---\nlanguage: x\nstack: cflinuxfs4\ndependencies:\n  - name: node  # runtime\n    version: "22.1.0"\n    uri: 'http://127.0.0.1:${port}/node.tgz'\n    sha256: ${runtimeSha}\n`;
        const bp = await buildpack(manifest);
        const r = await run(path.join(bp, 'bin', 'supply'), await dirs(), { PATH: stackPath, CF_STACK: 'cflinuxfs4' });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain('runtime=yes');
      });
    });

    context('failure cases', () => {
      it('fails with the sha256 message and leaves nothing in the cache', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/bad.tgz`));
        const args = await dirs();
        const r = await run(path.join(bp, 'bin', 'supply'), args, { PATH: stackPath, CF_STACK: 'cflinuxfs4' });
        expect(r.status).to.equal(1);
        const actual = createHash('sha256').update(Buffer.concat([runtimeTgz, Buffer.from('x')])).digest('hex');
        expect(r.stdout).to.contain(`**ERROR**\x1b[0m dependency sha256 mismatch: expected sha256 ${runtimeSha}, actual sha256 ${actual}`);
        expect(await fs.readdir(path.join(args[1], 'sidecar-buildpack', 'node'))).to.deep.equal([]);
      });

      it('fails clearly when the manifest has no node for the stack', async () => {
        const bp = await buildpack(nodeManifest(`http://127.0.0.1:${port}/node.tgz`));
        const r = await run(path.join(bp, 'bin', 'supply'), await dirs(), { PATH: stackPath, CF_STACK: 'cflinuxfs5' });
        expect(r.status).to.equal(1);
        expect(r.stdout).to.contain('no node dependency for stack cflinuxfs5');
      });

      it('fails clearly on a download error without printing credentials', async () => {
        const bp = await buildpack(nodeManifest(`http://user:secret@127.0.0.1:${port}/missing.tgz`));
        const r = await run(path.join(bp, 'bin', 'supply'), await dirs(), { PATH: stackPath, CF_STACK: 'cflinuxfs4' });
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
