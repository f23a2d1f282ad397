// Hostile archives (issue 6): malicious and broken .tgz/.tar.xz/.zip dependencies served with a
// matching sha256 and staged through the real bin/supply. Each: an UnsafeArchiveError or a
// corrupt-archive error (or, for devices/fifos/setuid, a safe install), nothing written outside
// the target, nothing half-installed, no temp file and no process left.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { serve, TestServer } from '../test/helpers/http-server.js';
import { overlappingZip, sha256, tarChunks, writeArchive, type EntrySpec } from '../test/helpers/archives.js';
import { agentManifest, leftoversAfterFailure, makeBuildpack, runSupply, stagingDirs, tempRoot, tree, type StagingDirs, type SupplyRun } from './helpers/staging.js';

const AGENT: EntrySpec = { path: 'bin/agent', content: '#!/bin/sh\necho agent\n', mode: 0o755 };

describe('reliability: hostile archives', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let server: TestServer;
  /** A file outside every staging dir that archives try to reach. */
  let victim: string;

  beforeEach(async () => {
    root = await tempRoot();
    server = await TestServer.start();
    victim = path.join(root.dir, 'victim.txt');
    await fs.writeFile(victim, 'original\n');
  });
  afterEach(async () => {
    await server.close();
    await root.remove();
  });

  /** Serve `body` as `name` and stage it. */
  async function stageBytes(name: string, body: Buffer, env: Record<string, string> = {}): Promise<{ run: SupplyRun; dirs: StagingDirs }> {
    server.route(`/${name}`, serve.bytes(body));
    const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url(`/${name}`), sha256: sha256(body) }));
    const dirs = await stagingDirs(root.dir);
    return { run: await runSupply(bp, dirs, { env }), dirs };
  }

  async function stageArchive(name: string, spec: EntrySpec[], env: Record<string, string> = {}): Promise<{ run: SupplyRun; dirs: StagingDirs }> {
    const file = path.join(root.dir, name);
    await writeArchive(file, spec);
    const body = await fs.readFile(file);
    await fs.rm(file);
    return stageBytes(name, body, env);
  }

  /** Nothing new outside the staging dirs: the root holds only the victim, bp/ and staging-* dirs. */
  async function nothingOutside(dirs: StagingDirs): Promise<void> {
    expect(await fs.readFile(victim, 'utf8')).to.equal('original\n');
    const top = (await fs.readdir(root.dir)).sort();
    expect(top).to.deep.equal(['bp', path.basename(path.dirname(dirs.build)), 'victim.txt'].sort());
    const base = path.dirname(dirs.build);
    const allowed = /^(build\/|cache\/|cache\/BUILDPACK_METADATA|cache\/dependencies\/|deps\/|deps\/0\/|deps\/0\/agent\/.*|deps\/0\/(config|launch)\.yml|deps\/0\/(sidecars|profile\.d)\/.*|cache\/dependencies\/[0-9a-f]{64}\/.*|tmp\/)$/;
    expect((await tree(base)).filter((p) => !allowed.test(p))).to.deep.equal([]);
    for (const abs of ['/tmp/reliability-abs-victim', '/reliability-abs-victim']) expect(await fs.stat(abs).catch(() => null), abs).to.equal(null);
  }

  async function expectRejected(run: SupplyRun, dirs: StagingDirs, pattern: RegExp): Promise<void> {
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(run.stdout).to.match(pattern);
    expect(run.stderr).not.to.include('a bug');
    expect(await leftoversAfterFailure(dirs, run)).to.deep.equal([]);
    expect((await tree(path.join(dirs.cache, 'dependencies'))).filter((p) => !p.endsWith('/')), 'nothing cached').to.deep.equal([]);
    await nothingOutside(dirs);
  }

  const UNSAFE = /\*\*ERROR\*\*.* unsafe archive entry "/;
  const CORRUPT = /\*\*ERROR\*\*.* corrupt archive agent\.[a-z.]+: /;

  describe('unsafe entries', () => {
    const cases: Array<[string, string, EntrySpec[]]> = [
      ['a ../ entry (tgz)', 'agent.tgz', [AGENT, { path: '../../../victim.txt', content: 'pwned\n' }]],
      ['a deep ../ entry hidden in the middle (tgz)', 'agent.tgz', [AGENT, { path: 'lib/../../../../x', content: 'pwned\n' }]],
      ['an absolute entry (tgz)', 'agent.tgz', [AGENT, { path: '/tmp/reliability-abs-victim', content: 'pwned\n' }]],
      ['an absolute entry (tar.xz)', 'agent.tar.xz', [AGENT, { path: '/tmp/reliability-abs-victim', content: 'pwned\n' }]],
      ['a symlink out, then a file through it (tgz)', 'agent.tgz', [AGENT, { path: 'lib', type: 'symlink', target: '../../../..' }, { path: 'lib/victim.txt', content: 'pwned\n' }]],
      ['an absolute symlink, then a file through it (tgz)', 'agent.tgz', [AGENT, { path: 'lib', type: 'symlink', target: '/tmp' }, { path: 'lib/reliability-abs-victim', content: 'pwned\n' }]],
      ['a symlink inside, then a file through it (tgz)', 'agent.tgz', [AGENT, { path: 'data', type: 'dir' }, { path: 'link', type: 'symlink', target: 'data' }, { path: 'link/x', content: 'through a link\n' }]],
      ['a hardlink to a file outside, then content through it (tgz)', 'agent.tgz', [AGENT, { path: 'h', type: 'hardlink', target: '../../../../victim.txt' }, { path: 'h', content: 'pwned\n' }]],
      ['a hardlink to an absolute path (tgz)', 'agent.tgz', [AGENT, { path: 'h', type: 'hardlink', target: '/etc/passwd' }]],
      ['a ../ entry (zip)', 'agent.zip', [AGENT, { path: '../../../victim.txt', content: 'pwned\n' }]],
      ['an absolute entry (zip)', 'agent.zip', [AGENT, { path: '/tmp/reliability-abs-victim', content: 'pwned\n' }]],
      ['a symlink out (zip)', 'agent.zip', [AGENT, { path: 'lib', type: 'symlink', target: '../../../..' }]],
      ['a symlink inside, then a file through it (zip)', 'agent.zip', [AGENT, { path: 'data/', type: 'dir' }, { path: 'link', type: 'symlink', target: 'data' }, { path: 'link/x', content: 'through a link\n' }]],
      // each link harmless on paper; resolved, `w` points above the target (issue 13 item 1)
      ['a chain of links (`a/l -> ..`, `w -> a/l/..`) (tgz)', 'agent.tgz', [AGENT, { path: 'a/', type: 'dir' }, { path: 'a/l', type: 'symlink', target: '..' }, { path: 'w', type: 'symlink', target: 'a/l/..' }]],
      ['the same chain, the outer link first (tar.xz)', 'agent.tar.xz', [AGENT, { path: 'a/', type: 'dir' }, { path: 'w', type: 'symlink', target: 'a/l/../..' }, { path: 'a/l', type: 'symlink', target: '..' }]],
      ['a deeper chain (zip)', 'agent.zip', [AGENT, { path: 'a/b/', type: 'dir' }, { path: 'a/b/l1', type: 'symlink', target: '..' }, { path: 'a/b/l2', type: 'symlink', target: 'l1/..' }, { path: 'w', type: 'symlink', target: 'a/b/l2/../..' }]],
    ];
    for (const [title, name, spec] of cases) {
      context(`when the archive has ${title}`, () => {
        it('fails with an UnsafeArchiveError and writes nothing outside or half-installed', async () => {
          const { run, dirs } = await stageArchive(name, spec);
          await expectRejected(run, dirs, UNSAFE);
        });
      });
    }
  });

  describe('a dependency named like one of the deps dir\'s own directories', () => {
    for (const name of ['sidecars', 'bin']) {
      it(`refuses "${name}" before downloading, with links that would have led supply's scripts outside`, async () => {
        const file = path.join(root.dir, 'x.tgz');
        await writeArchive(file, [AGENT, { path: 'a/', type: 'dir' }, { path: 'agent', type: 'symlink', target: 'a' }]);
        const body = await fs.readFile(file);
        await fs.rm(file);
        server.route('/agent.tgz', serve.bytes(body));
        const bp = await makeBuildpack(path.join(root.dir, 'bp'), agentManifest({ uri: server.url('/agent.tgz'), sha256: sha256(body), name }));
        const dirs = await stagingDirs(root.dir);
        const run = await runSupply(bp, dirs);
        expect(run.code, run.stdout + run.stderr).to.equal(1);
        expect(run.stdout).to.match(new RegExp(`\\*\\*ERROR\\*\\*.*manifest\\.yml: sidecars\\[0\\]\\.dependency: "${name}" is one of the deps directory's own entries`));
        expect(server.count('/agent.tgz')).to.equal(0);
        expect(await tree(dirs.deps)).to.deep.equal([]);
        await nothingOutside(dirs);
      });
    }
  });

  describe('bombs', () => {
    it('refuses a zip whose entries overlap (257 KiB that would expand to gigabytes)', async () => {
      const { run, dirs } = await stageBytes('agent.zip', overlappingZip(Buffer.alloc(1024 * 1024), 256));
      await expectRejected(run, dirs, /\*\*ERROR\*\*.* unsafe archive entry ".*": its data overlaps another entry's \(a zip bomb\)/);
    });

    it('refuses a verified .tgz that expands past the limit set by SIDECAR_BUILDPACK_MAX_UNPACKED_MB', async () => {
      const file = path.join(root.dir, 'z.tgz');
      await writeArchive(file, [AGENT, { path: 'zeros', content: Buffer.alloc(12 * 1024 * 1024) }]);
      const body = await fs.readFile(file);
      await fs.rm(file);
      const { run, dirs } = await stageBytes('agent.tgz', body, { SIDECAR_BUILDPACK_MAX_UNPACKED_MB: '8' });
      await expectRejected(run, dirs, /\*\*ERROR\*\*.* archive agent\.tgz expands to more than 8 MiB \(8388608 bytes\), the limit for one dependency; set SIDECAR_BUILDPACK_MAX_UNPACKED_MB/);
    });

    it('refuses a bad SIDECAR_BUILDPACK_MAX_UNPACKED_MB, naming it', async () => {
      const { run, dirs } = await stageArchive('agent.tgz', [AGENT], { SIDECAR_BUILDPACK_MAX_UNPACKED_MB: '8M' });
      await expectRejected(run, dirs, /\*\*ERROR\*\*.* SIDECAR_BUILDPACK_MAX_UNPACKED_MB: must be a whole number of MiB \(1 or more\), got "8M"/);
    });
  });

  describe('special files', () => {
    context('when the archive holds device nodes, a fifo, setuid/setgid files and an inside symlink', () => {
      for (const name of ['agent.tgz', 'agent.tar.xz']) {
        it(`installs (${name}) with the specials skipped and the bits dropped`, async () => {
          const { run, dirs } = await stageArchive(name, [
            AGENT,
            { path: 'dev/null', type: 'chardev' },
            { path: 'dev/sda', type: 'blockdev' },
            { path: 'pipe', type: 'fifo' },
            { path: 'bin/suid', content: '#!/bin/sh\n', mode: 0o4755 },
            { path: 'bin/sgid', content: '#!/bin/sh\n', mode: 0o2755 },
            { path: 'sticky', type: 'dir', mode: 0o1777 },
            { path: 'current', type: 'symlink', target: 'bin/agent' },
          ]);
          expect(run.code, run.stdout + run.stderr).to.equal(0);
          const dir = path.join(dirs.deps, '0', 'agent');
          const listing = await tree(dir);
          expect(listing).not.to.include.members(['pipe', 'dev/null', 'dev/sda']);
          for (const p of listing) {
            const st = await fs.lstat(path.join(dir, p));
            expect(st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice(), p).to.equal(false);
            expect(st.mode & 0o7000, `${p} keeps no setuid/setgid/sticky bit`).to.equal(0);
          }
          expect((await fs.stat(path.join(dir, 'bin/suid'))).mode & 0o777).to.equal(0o755);
          expect(await fs.readlink(path.join(dir, 'current'))).to.equal('bin/agent');
          await nothingOutside(dirs);
        });
      }
    });

    context('when a zip holds a setuid file and a symlink inside', () => {
      it('installs with the bits dropped and the link kept', async () => {
        const { run, dirs } = await stageArchive('agent.zip', [AGENT, { path: 'bin/suid', content: '#!/bin/sh\n', mode: 0o4755 }, { path: 'current', type: 'symlink', target: 'bin/agent' }]);
        expect(run.code, run.stdout + run.stderr).to.equal(0);
        const dir = path.join(dirs.deps, '0', 'agent');
        expect((await fs.stat(path.join(dir, 'bin/suid'))).mode & 0o7777).to.equal(0o755);
        expect(await fs.readlink(path.join(dir, 'current'))).to.equal('bin/agent');
      });
    });
  });

  describe('broken archives', () => {
    context('failure cases', () => {
      const gzipOf = async (spec: EntrySpec[], options = {}): Promise<Buffer> => {
        const file = path.join(root.dir, 'x.tgz');
        await writeArchive(file, spec, options);
        const b = await fs.readFile(file);
        await fs.rm(file);
        return b;
      };
      it('an empty tgz (no entries): a corrupt-archive error', async () => {
        const { run, dirs } = await stageBytes('agent.tgz', await gzipOf([]));
        await expectRejected(run, dirs, CORRUPT);
      });
      it('a zero-byte tgz: a corrupt-archive error', async () => {
        const { run, dirs } = await stageBytes('agent.tgz', Buffer.alloc(0));
        await expectRejected(run, dirs, CORRUPT);
      });
      it('an empty zip: a corrupt-archive error', async () => {
        const file = path.join(root.dir, 'e.zip');
        await writeArchive(file, []);
        const { run, dirs } = await stageBytes('agent.zip', await fs.readFile(file));
        await fs.rm(file);
        await expectRejected(run, dirs, CORRUPT);
      });
      it('a truncated gzip stream: a corrupt-archive error', async () => {
        const full = await gzipOf([AGENT, { path: 'data/blob', content: Buffer.alloc(200_000, 7) }, { path: 'data/more', content: 'x'.repeat(50_000) }]);
        const { run, dirs } = await stageBytes('agent.tgz', full.subarray(0, Math.floor(full.length / 2)));
        await expectRejected(run, dirs, CORRUPT);
      });
      it('a truncated xz stream: a corrupt-archive error', async () => {
        const file = path.join(root.dir, 'x.tar.xz');
        await writeArchive(file, [AGENT, { path: 'data/blob', content: Buffer.from('y'.repeat(300_000)) }]);
        const full = await fs.readFile(file);
        await fs.rm(file);
        const { run, dirs } = await stageBytes('agent.tar.xz', full.subarray(0, full.length - 40));
        await expectRejected(run, dirs, CORRUPT);
      });
      it('a truncated zip: a corrupt-archive error', async () => {
        const file = path.join(root.dir, 'x.zip');
        await writeArchive(file, [AGENT, { path: 'data/blob', content: Buffer.from('z'.repeat(100_000)) }]);
        const full = await fs.readFile(file);
        await fs.rm(file);
        const { run, dirs } = await stageBytes('agent.zip', full.subarray(0, full.length - 30));
        await expectRejected(run, dirs, CORRUPT);
      });
      it('a tar without its end blocks, cut inside an entry: a corrupt-archive error', async () => {
        const full = await gzipOf([AGENT, { path: 'data/blob', content: Buffer.alloc(4096, 1) }], { noEndBlocks: true });
        const { gunzipSync, gzipSync } = await import('node:zlib');
        const tar = gunzipSync(full);
        const { run, dirs } = await stageBytes('agent.tgz', gzipSync(tar.subarray(0, tar.length - 1000)));
        await expectRejected(run, dirs, CORRUPT);
      });
    });
  });

  describe('an archive with 100 000 entries', () => {
    it('installs every entry with the Node heap capped at 64 MiB', async () => {
      const file = path.join(root.dir, 'big.tgz');
      function* entries(): Generator<EntrySpec> {
        yield AGENT;
        for (let d = 0; d < 100; d++) {
          yield { path: `data/d${d}`, type: 'dir' };
          for (let f = 0; f < 1000; f++) yield { path: `data/d${d}/f${f}`, content: `${d}/${f}\n` };
        }
      }
      const list = [...entries()];
      await pipeline(Readable.from(tarChunks(list)), createGzip({ level: 1 }), createWriteStream(file));
      const body = await fs.readFile(file);
      await fs.rm(file);
      const { run, dirs } = await stageBytes('agent.tgz', body, { NODE_OPTIONS: '--max-old-space-size=64' });
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      const dir = path.join(dirs.deps, '0', 'agent', 'data');
      let files = 0;
      for (const d of await fs.readdir(dir)) files += (await fs.readdir(path.join(dir, d))).length;
      expect(files).to.equal(100_000);
      expect(await fs.readFile(path.join(dir, 'd99', 'f999'), 'utf8')).to.equal('99/999\n');
    });
  });
});
