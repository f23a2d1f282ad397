import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isFile } from '../../src/deps/fsutil.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { Installer } from '../../src/deps/installer.js';
import { ArchiveTooLargeError, ChecksumMismatchError, CorruptArchiveError, DownloadError, FileSystemError, UnsafeArchiveError } from '../../src/errors.js';
import { MemorySink, StagingLogger, stripAnsi } from '../../src/log/logger.js';
import type { Dependency } from '../../src/manifest/types.js';
import type { BodyFetcher } from '../../src/deps/types.js';
import { Readable } from 'node:stream';
import { listTree, randomFile, sha256, sha256File, tgzBuffer, writeArchive, writeTgz } from '../helpers/archives.js';
import { expectRejection } from '../helpers/assert.js';
import { TestServer, serve } from '../helpers/http-server.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { canMount, useTmpfs } from '../helpers/tmpfs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const hex = (alg: string, s: string): string => createHash(alg).update(s).digest('hex');

describe('Installer', () => {
  const tmp = useTmpDirs();
  let server: TestServer;
  let buildpackDir: string;
  let cacheDir: string;
  let depsDir: string;
  let target: string;
  let sink: MemorySink;
  let tgz: Buffer;

  beforeEach(async () => {
    server = await TestServer.start();
    buildpackDir = await tmp();
    cacheDir = await tmp();
    depsDir = await tmp();
    target = path.join(depsDir, '0', 'tool');
    sink = new MemorySink();
    tgz = await tgzBuffer({ 'tool-1.2.3/bin/tool': '#!/bin/sh\necho tool\n', 'tool-1.2.3/README': 'readme' });
  });
  afterEach(async () => server.close());

  function installer(): Installer {
    const fetcher = new HttpFetcher({ sleep: async () => undefined, idleTimeoutMs: 1000, connectTimeoutMs: 1000, attempts: 3 });
    return new Installer({ buildpackDir, cacheDir, logger: new StagingLogger(sink), fetcher });
  }
  function dep(uri: string, digest: string, extra: Partial<Dependency> = {}): Dependency {
    return { name: 'tool', version: '1.2.3', uri, sha256: digest, cf_stacks: [], extra: {}, ...extra };
  }
  const log = (): string => stripAnsi(sink.text());
  const appCacheFile = (uri: string): string => path.join(cacheDir, 'dependencies', hex('sha256', uri), path.basename(new URL(uri).pathname));
  /** Everything under the cache and beside the target: proves nothing partial was left. */
  const cacheTree = async (): Promise<string[]> => listTree(cacheDir);
  const besideTarget = async (): Promise<string[]> => fs.readdir(path.dirname(target)).catch(() => []);

  describe('#install', () => {
    context('when the file must be downloaded', () => {
      it('logs, extracts with strip-components, and fills the app cache', async () => {
        server.route('/tool-1.2.3.tgz', serve.bytes(tgz));
        const uri = server.url('/tool-1.2.3.tgz');
        const result = await installer().install(dep(uri, sha256(tgz)), target, { stripComponents: 1 });
        expect(result).to.deep.equal({ name: 'tool', version: '1.2.3', dir: target, source: 'download' });
        expect(log()).to.equal(`-----> Installing tool 1.2.3\n       Download [${uri}]\n`);
        expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
        expect(await sha256File(appCacheFile(uri))).to.equal(sha256(tgz));
        expect(await cacheTree()).to.deep.equal([`dependencies/`, `dependencies/${hex('sha256', uri)}/`, `dependencies/${hex('sha256', uri)}/tool-1.2.3.tgz`]);
        expect(await besideTarget()).to.deep.equal(['tool']);
      });

      it('installs into a target whose name is 255 bytes long (temp names never overflow NAME_MAX)', async () => {
        server.route('/tool.tgz', serve.bytes(tgz));
        const longTarget = path.join(depsDir, '0', 't'.repeat(255));
        await installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), longTarget, { stripComponents: 1 });
        expect(await listTree(longTarget)).to.deep.equal(['README', 'bin/', 'bin/tool']);
        expect(await fs.readdir(path.dirname(longTarget))).to.deep.equal(['t'.repeat(255)]);
      });

      it('redacts credentials in the Download line', async () => {
        server.route('/tool.tgz', serve.basicAuth('u', 'hunter2', serve.bytes(tgz)));
        await installer().install(dep(server.url('/tool.tgz', { user: 'u', password: 'hunter2' }), sha256(tgz)), target);
        expect(log()).to.include(`Download [http://-redacted-:-redacted-@127.0.0.1:${server.port}/tool.tgz]`);
        expect(log()).to.not.include('hunter2');
      });

      it('starts over after a reset mid-body, leaving nothing partial', async () => {
        server.route('/tool.tgz', serve.sequence(serve.reset(tgz, 100), serve.bytes(tgz)));
        await installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target, { stripComponents: 1 });
        expect(server.count('/tool.tgz')).to.equal(2);
        expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
        expect((await cacheTree()).filter((p) => p.includes('.download-'))).to.deep.equal([]);
        expect(await besideTarget()).to.deep.equal(['tool']);
      });

      for (const [file, kind] of [['tool.tar.xz', 'tar.xz'], ['tool.zip', 'zip']]) {
        it(`installs a .${kind}`, async () => {
          const archive = await fs.readFile(await writeArchive(path.join(buildpackDir, file), { 'bin/tool': 'x' }));
          server.route(`/${file}`, serve.bytes(archive));
          await installer().install(dep(server.url(`/${file}`), sha256(archive)), target);
          expect(await listTree(target)).to.deep.equal(['bin/', 'bin/tool']);
        });
      }

      it('installs a single binary as an executable named by the URI', async () => {
        const bin = Buffer.from('\x7fELF fake binary');
        server.route('/dl/tool-linux-x64', serve.bytes(bin));
        await installer().install(dep(server.url('/dl/tool-linux-x64?token=1'), sha256(bin)), target);
        expect(await listTree(target)).to.deep.equal(['tool-linux-x64']);
        expect((await fs.stat(path.join(target, 'tool-linux-x64'))).mode & 0o777).to.equal(0o755);
      });

      it('reads file:// URIs', async () => {
        const file = path.join(buildpackDir, 'local.tgz');
        await fs.writeFile(file, tgz);
        await installer().install(dep(pathToFileURL(file).href, sha256(tgz)), target, { stripComponents: 1 });
        expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
      });

      it('replaces a previous install in the target', async () => {
        await fs.mkdir(target, { recursive: true });
        await fs.writeFile(path.join(target, 'stale'), 'x');
        server.route('/tool.tgz', serve.bytes(tgz));
        await installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target, { stripComponents: 1 });
        expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
      });
    });

    context('when the file is in the app cache', () => {
      it('uses it without any request', async () => {
        server.route('/tool.tgz', serve.bytes(tgz));
        const uri = server.url('/tool.tgz');
        await installer().install(dep(uri, sha256(tgz)), target);
        await server.close();
        sink = new MemorySink();
        const result = await installer().install(dep(uri, sha256(tgz)), path.join(depsDir, 'again'));
        expect(result.source).to.equal('app-cache');
        expect(log()).to.equal('-----> Installing tool 1.2.3\n       Using cached tool 1.2.3\n');
        expect(await listTree(path.join(depsDir, 'again'))).to.deep.equal(['tool-1.2.3/', 'tool-1.2.3/README', 'tool-1.2.3/bin/', 'tool-1.2.3/bin/tool']);
        server = await TestServer.start();
      });

      it('downloads again, with a warning, when the cached file was altered', async () => {
        server.route('/tool.tgz', serve.bytes(tgz));
        const uri = server.url('/tool.tgz');
        await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
        await fs.writeFile(appCacheFile(uri), 'tampered');
        const result = await installer().install(dep(uri, sha256(tgz)), target);
        expect(result.source).to.equal('download');
        expect(log()).to.match(/Using cached tool 1\.2\.3\n.*\*\*WARNING\*\* The cached file of tool 1\.2\.3 does not match its sha256; downloading it again\n {7}Download \[/);
        expect(await sha256File(appCacheFile(uri))).to.equal(sha256(tgz));
      });
    });

    context('when the buildpack is cached', () => {
      async function bundle(uri: string): Promise<string> {
        const rel = `dependencies/${hex('md5', uri)}/${path.basename(new URL(uri).pathname)}`;
        await fs.mkdir(path.join(buildpackDir, path.dirname(rel)), { recursive: true });
        await fs.writeFile(path.join(buildpackDir, rel), tgz);
        return rel;
      }

      it('copies its file first, before the app cache, without any request', async () => {
        const uri = server.url('/tool.tgz');
        const rel = await bundle(uri);
        await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
        await fs.writeFile(appCacheFile(uri), tgz);
        const result = await installer().install(dep(uri, sha256(tgz), { file: rel }), target, { stripComponents: 1 });
        expect(result.source).to.equal('cached-buildpack');
        expect(log()).to.equal(`-----> Installing tool 1.2.3\n       Copy [${path.join(buildpackDir, rel)}]\n`);
        expect(server.requests).to.deep.equal([]);
        expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
      });

      it('falls back to downloading when the named file is absent', async () => {
        server.route('/tool.tgz', serve.bytes(tgz));
        const result = await installer().install(dep(server.url('/tool.tgz'), sha256(tgz), { file: 'dependencies/none/tool.tgz' }), target);
        expect(result.source).to.equal('download');
      });
    });

    context('failure cases', () => {
      it('fails a download mismatch with the libbuildpack message, leaving no file in the cache nor the target', async () => {
        server.route('/tool.tgz', serve.bytes(tgz));
        const wrong = 'b'.repeat(64);
        const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), wrong), target), ChecksumMismatchError);
        expect(err.message).to.equal(`dependency sha256 mismatch: expected sha256 ${wrong}, actual sha256 ${sha256(tgz)}`);
        expect(server.count('/tool.tgz')).to.equal(1);
        expect(await cacheTree()).to.deep.equal(['dependencies/']);
        expect(await besideTarget()).to.deep.equal([]);
      });

      it('reports a tampered artifact that is not even an archive as a mismatch', async () => {
        const junk = Buffer.from('not a tarball at all'.repeat(100));
        server.route('/tool.tgz', serve.bytes(junk));
        await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), ChecksumMismatchError, `actual sha256 ${sha256(junk)}`);
        expect(await besideTarget()).to.deep.equal([]);
      });

      it('verifies a cached buildpack file too', async () => {
        const uri = server.url('/tool.tgz');
        const rel = `dependencies/${hex('md5', uri)}/tool.tgz`;
        await fs.mkdir(path.join(buildpackDir, path.dirname(rel)), { recursive: true });
        await fs.writeFile(path.join(buildpackDir, rel), 'tampered');
        await expectRejection(installer().install(dep(uri, sha256(tgz), { file: rel }), target), ChecksumMismatchError);
        expect(await besideTarget()).to.deep.equal([]);
      });

      it('rejects a verified but unsafe archive, writing nothing outside and caching nothing', async () => {
        const evil = await tgzBuffer([{ path: 'ok', content: 'x' }, { path: '../../escaped', content: 'pwned' }]);
        server.route('/evil.tgz', serve.bytes(evil));
        await expectRejection(installer().install(dep(server.url('/evil.tgz'), sha256(evil)), target), UnsafeArchiveError);
        expect(await fs.readdir(depsDir)).to.deep.equal(['0']);
        expect(await besideTarget()).to.deep.equal([]);
        expect(await cacheTree()).to.deep.equal(['dependencies/']);
      });

      it('leaves no temp file when the body fails before the temp file was even opened (50 times)', async () => {
        // The write stream opens its file asynchronously: a body that fails at once makes the
        // pipeline reject before the open, and a remove then would run before the file exists.
        const uri = 'http://127.0.0.1:9/tool.tgz';
        const failing: BodyFetcher = {
          fetchWith: async (_uri, consume) => consume({ stream: new Readable({ read() { this.destroy(new Error('socket hang up')); } }), size: undefined }),
        };
        for (let i = 0; i < 50; i++) {
          const inst = new Installer({ buildpackDir, cacheDir, logger: new StagingLogger(sink), fetcher: failing });
          await expectRejection(inst.install(dep(uri, sha256(tgz)), target), Error, 'socket hang up');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await cacheTree()).to.deep.equal(['dependencies/']);
        expect(await besideTarget()).to.deep.equal([]);
      });

      it('fails on 404 with one request and leaves nothing', async () => {
        const err = await expectRejection(installer().install(dep(server.url('/missing.tgz'), sha256(tgz)), target), DownloadError, /404/);
        expect(err.status).to.equal(404);
        expect(server.count('/missing.tgz')).to.equal(1);
        expect(await cacheTree()).to.deep.equal(['dependencies/']);
        expect(await besideTarget()).to.deep.equal([]);
      });
    });
  });

  describe('#install: a file that is not the manifest\'s is reported as a mismatch, whatever unpacking it did', () => {
    // The deps dir is blocked by a file: whatever wrote into it fails with ENOTDIR, so the mismatch
    // being reported proves the digest decides before an unpacking error does.
    const tampered = async (): Promise<Buffer> => tgzBuffer([{ path: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) }]);
    beforeEach(async () => {
      await fs.writeFile(path.join(depsDir, '0'), 'in the way');
    });

    it('for a cached buildpack file', async () => {
      const uri = server.url('/tool.tgz');
      const rel = `dependencies/${hex('md5', uri)}/tool.tgz`;
      await fs.mkdir(path.join(buildpackDir, path.dirname(rel)), { recursive: true });
      await fs.writeFile(path.join(buildpackDir, rel), await tampered());
      await expectRejection(installer().install(dep(uri, sha256(tgz), { file: rel }), target), ChecksumMismatchError);
    });

    it('for an app cache file (then downloaded again)', async () => {
      const uri = server.url('/tool.tgz');
      server.route('/tool.tgz', serve.bytes(await tampered()));
      await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
      await fs.writeFile(appCacheFile(uri), await tampered());
      await expectRejection(installer().install(dep(uri, sha256(tgz)), target), ChecksumMismatchError);
      expect(log()).to.include('does not match its sha256; downloading it again');
      expect(server.count('/tool.tgz')).to.equal(1);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });

    it('for a download', async () => {
      server.route('/tool.tgz', serve.bytes(await tampered()));
      await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), ChecksumMismatchError);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });
  });

  describe('#install: a .tgz on disk is hashed in the pass that unpacks it', () => {
    /** Opens of `file` through fs.promises (what a separate hashing pass reads it with) during `run`. */
    async function promiseOpensOf(file: string, run: () => Promise<unknown>): Promise<number> {
      const original = fs.open;
      let opens = 0;
      fs.open = (async (...a: Parameters<typeof original>) => {
        if (path.resolve(String(a[0])) === file) opens++;
        return original(...a);
      }) as typeof original;
      try {
        await run();
      } finally {
        fs.open = original;
      }
      return opens;
    }
    const tampered = async (): Promise<Buffer> => tgzBuffer({ 'tool-1.2.3/bin/tool': '#!/bin/sh\necho planted\n', 'tool-1.2.3/PLANTED': 'x' });
    const previous = async (): Promise<void> => {
      await fs.mkdir(target, { recursive: true });
      await fs.writeFile(path.join(target, 'previous'), 'kept');
    };

    it('reads an app cache file once, and installs it', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      await installer().install(dep(uri, sha256(tgz)), target);
      const again = path.join(depsDir, 'again');
      let source = '';
      expect(await promiseOpensOf(appCacheFile(uri), async () => ({ source } = await installer().install(dep(uri, sha256(tgz)), again)))).to.equal(0);
      expect(source).to.equal('app-cache');
      expect(await listTree(again)).to.deep.equal(['tool-1.2.3/', 'tool-1.2.3/README', 'tool-1.2.3/bin/', 'tool-1.2.3/bin/tool']);
    });

    it('reads a cached buildpack file once, and installs it', async () => {
      const uri = server.url('/tool.tgz');
      const rel = `dependencies/${hex('md5', uri)}/tool.tgz`;
      await fs.mkdir(path.join(buildpackDir, path.dirname(rel)), { recursive: true });
      await fs.writeFile(path.join(buildpackDir, rel), tgz);
      let source = '';
      expect(await promiseOpensOf(path.join(buildpackDir, rel), async () => ({ source } = await installer().install(dep(uri, sha256(tgz), { file: rel }), target)))).to.equal(0);
      expect(source).to.equal('cached-buildpack');
      expect(await listTree(target)).to.deep.equal(['tool-1.2.3/', 'tool-1.2.3/README', 'tool-1.2.3/bin/', 'tool-1.2.3/bin/tool']);
    });

    it('an app cache .tgz that unpacks but is not the manifest\'s never reaches the target: downloaded again', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
      await fs.writeFile(appCacheFile(uri), await tampered());
      await previous();
      const result = await installer().install(dep(uri, sha256(tgz)), target);
      expect(result.source).to.equal('download');
      expect(log()).to.include('does not match its sha256; downloading it again');
      expect(await listTree(target)).to.deep.equal(['tool-1.2.3/', 'tool-1.2.3/README', 'tool-1.2.3/bin/', 'tool-1.2.3/bin/tool']);
      expect(await besideTarget()).to.deep.equal(['tool']);
    });

    it('a cached buildpack .tgz that unpacks but is not the manifest\'s fails naming both sha256s, and the target keeps what it had', async () => {
      const uri = server.url('/tool.tgz');
      const rel = `dependencies/${hex('md5', uri)}/tool.tgz`;
      const planted = await tampered();
      await fs.mkdir(path.join(buildpackDir, path.dirname(rel)), { recursive: true });
      await fs.writeFile(path.join(buildpackDir, rel), planted);
      await previous();
      const err = await expectRejection(installer().install(dep(uri, sha256(tgz), { file: rel }), target), ChecksumMismatchError);
      expect(err.message).to.include(sha256(tgz)).and.to.include(sha256(planted));
      expect(await listTree(target)).to.deep.equal(['previous']);
      expect(await besideTarget()).to.deep.equal(['tool']);
    });

    it('unpacks a downloaded .tgz as it arrives, beside the target, which appears only once the whole download matched', async () => {
      const tool = '#!/bin/sh\necho tool\n';
      const archive = await tgzBuffer([{ path: 'tool-1.2.3/bin/tool', content: tool }, { path: 'tool-1.2.3/data', content: randomBytes(2 * 1024 * 1024) }]);
      const half = Math.floor(archive.length / 2);
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      server.route('/tool.tgz', (_req, res) => {
        res.writeHead(200, { 'content-length': String(archive.length) });
        res.write(archive.subarray(0, half));
        void released.then(() => res.end(archive.subarray(half)));
      });
      const installing = installer().install(dep(server.url('/tool.tgz'), sha256(archive)), target);
      installing.catch(() => undefined);
      try {
        // with half the archive sent (and the server waiting), its first file is unpacked already
        const deadline = Date.now() + 10_000;
        let early: string | undefined;
        while (early === undefined) {
          for (const name of await besideTarget()) {
            const file = path.join(path.dirname(target), name, 'tool-1.2.3', 'bin', 'tool');
            if (name.startsWith('.tool.extract-') && (await fs.readFile(file, 'utf8').catch(() => '')) === tool) early = name;
          }
          if (Date.now() > deadline) throw new Error(`nothing unpacked beside the target while the download was half sent: ${(await besideTarget()).join(', ')}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(await besideTarget()).to.deep.equal([early]);
      } finally {
        release();
      }
      expect((await installing).source).to.equal('download');
      expect(await listTree(target)).to.deep.equal(['tool-1.2.3/', 'tool-1.2.3/bin/', 'tool-1.2.3/bin/tool', 'tool-1.2.3/data']);
      expect(await besideTarget()).to.deep.equal(['tool']);
      expect(await fs.readFile(appCacheFile(server.url('/tool.tgz')))).to.deep.equal(archive);
    });

    it('a downloaded .tgz that unpacks but is not the manifest\'s fails naming both sha256s: the target keeps what it had, nothing stays', async () => {
      const planted = await tampered();
      server.route('/tool.tgz', serve.bytes(planted));
      await previous();
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), ChecksumMismatchError);
      expect(err.message).to.include(sha256(tgz)).and.to.include(sha256(planted));
      expect(await listTree(target)).to.deep.equal(['previous']);
      expect(await besideTarget()).to.deep.equal(['tool']);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });

    it('a download that is not gzip at all (an error page served as 200) is a mismatch, and nothing stays', async () => {
      const page = Buffer.from(`<html><body>${'maintenance '.repeat(20000)}</body></html>`);
      server.route('/tool.tgz', serve.bytes(page));
      await previous();
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), ChecksumMismatchError);
      expect(err.message).to.include(sha256(page));
      expect(await listTree(target)).to.deep.equal(['previous']);
      expect(await besideTarget()).to.deep.equal(['tool']);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });

    it('a downloaded .tgz that matches but is cut short inside (a corrupt gzip) is a corrupt archive, and nothing stays', async () => {
      const cut = tgz.subarray(0, tgz.length - 10);
      server.route('/tool.tgz', serve.bytes(cut));
      await previous();
      await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(cut)), target), CorruptArchiveError, /gzip/);
      expect(await listTree(target)).to.deep.equal(['previous']);
      expect(await besideTarget()).to.deep.equal(['tool']);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });

    it('an app cache .tgz cut short (a corrupt gzip) is a mismatch, downloaded again, not a corrupt archive', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
      await fs.writeFile(appCacheFile(uri), tgz.subarray(0, tgz.length - 10));
      const result = await installer().install(dep(uri, sha256(tgz)), target);
      expect(result.source).to.equal('download');
      expect(await besideTarget()).to.deep.equal(['tool']);
    });
  });

  describe('#install: the size limit', () => {
    it('refuses a download larger than the limit, keeping nothing of it', async () => {
      const big = await tgzBuffer([{ path: 'r', content: (await import('node:crypto')).randomBytes(300 * 1024) }]);
      server.route('/tool.tgz', serve.bytes(big));
      const small = new Installer({ buildpackDir, cacheDir, logger: new StagingLogger(sink), fetcher: new HttpFetcher({ attempts: 1 }), maxUnpackedBytes: 100 * 1024 });
      await expectRejection(small.install(dep(server.url('/tool.tgz'), sha256(big)), target), ArchiveTooLargeError, /tool\.tgz expands to more than 0 MiB \(102400 bytes\).*server announces/);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
      expect(await besideTarget()).to.deep.equal([]);
    });

    it('refuses a verified archive that expands past the limit', async () => {
      const bomb = await tgzBuffer([{ path: 'zeros', content: Buffer.alloc(4 * 1024 * 1024) }]);
      server.route('/tool.tgz', serve.bytes(bomb));
      const small = new Installer({ buildpackDir, cacheDir, logger: new StagingLogger(sink), fetcher: new HttpFetcher({ attempts: 1 }), maxUnpackedBytes: 1024 * 1024 });
      await expectRejection(small.install(dep(server.url('/tool.tgz'), sha256(bomb)), target), ArchiveTooLargeError, /expands to more than 1 MiB/);
      expect(await besideTarget()).to.deep.equal([]);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
    });
  });

  describe('#install: a damaged or hostile app cache', () => {
    it('never follows an entry directory that is a symlink: removes it and downloads', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      const elsewhere = await tmp();
      await fs.writeFile(path.join(elsewhere, 'tool.tgz'), tgz); // even with the right content
      await fs.mkdir(path.join(cacheDir, 'dependencies'));
      await fs.symlink(elsewhere, path.dirname(appCacheFile(uri)));
      const result = await installer().install(dep(uri, sha256(tgz)), target, { stripComponents: 1 });
      expect(result.source).to.equal('download');
      expect(log()).to.match(/\*\*WARNING\*\* The app cache entry of tool 1\.2\.3 \(.*\) is a symlink, not a directory; removing it and downloading again/);
      expect((await fs.lstat(path.dirname(appCacheFile(uri)))).isDirectory()).to.equal(true);
      expect(await fs.readdir(elsewhere)).to.deep.equal(['tool.tgz']);
      expect(await sha256File(appCacheFile(uri))).to.equal(sha256(tgz));
    });

    it('removes a directory where the cache file should be, and downloads', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      await fs.mkdir(path.join(appCacheFile(uri), 'junk'), { recursive: true });
      const result = await installer().install(dep(uri, sha256(tgz)), target, { stripComponents: 1 });
      expect(result.source).to.equal('download');
      expect(log()).to.match(/is a directory, not a file; removing it and downloading again/);
      expect(await sha256File(appCacheFile(uri))).to.equal(sha256(tgz));
    });

    it('fails with a FileSystemError naming cache/dependencies when it is a file', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      await fs.writeFile(path.join(cacheDir, 'dependencies'), 'not a dir');
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), FileSystemError);
      expect(err.message).to.include(path.join(cacheDir, 'dependencies'));
      expect(err.message).to.match(/a file is in the way/);
      expect(await besideTarget()).to.deep.equal([]);
    });

    it('never follows cache/dependencies when it is a symlink', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const elsewhere = await tmp();
      await fs.symlink(elsewhere, path.join(cacheDir, 'dependencies'));
      await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), FileSystemError, `the app cache directory ${path.join(cacheDir, 'dependencies')} is a symlink, which is never followed`);
      expect(await fs.readdir(elsewhere)).to.deep.equal([]);
      expect(server.count('/tool.tgz')).to.equal(0);
    });

    it('reports an app cache file it may not read as such, not as a mismatch', async function () {
      if (!canMount()) this.skip(); // needs root to drop to another user and back
      server.route('/tool.tgz', serve.bytes(tgz));
      const uri = server.url('/tool.tgz');
      await fs.mkdir(path.dirname(appCacheFile(uri)), { recursive: true });
      await fs.writeFile(appCacheFile(uri), tgz, { mode: 0o600 });
      await fs.chmod(cacheDir, 0o755); // a temp dir is 0700: let the other user reach the file
      process.seteuid!(65534);
      let err: unknown;
      try {
        await installer().install(dep(uri, sha256(tgz)), target, { stripComponents: 1 });
      } catch (e) {
        err = e;
      } finally {
        process.seteuid!(0);
      }
      expect(err).to.be.instanceOf(FileSystemError);
      expect((err as Error).message).to.equal(`could not read the app cache file ${appCacheFile(uri)}: permission denied (EACCES)`);
      expect(log()).to.not.include('does not match');
      expect(server.count('/tool.tgz')).to.equal(0);
    });

    it('fails at once with a FileSystemError when the cache file cannot be put in place', async () => {
      const uri = server.url('/tool.tgz');
      // the place is taken (by a concurrent writer, say) while the download runs
      server.route('/tool.tgz', (req, res, n) => {
        void fs.mkdir(path.join(appCacheFile(uri), 'taken'), { recursive: true }).then(() => serve.bytes(tgz)(req, res, n));
      });
      const err = await expectRejection(installer().install(dep(uri, sha256(tgz)), target), FileSystemError, /could not store the download in the app cache at .*: a (non-empty )?directory is in the way/);
      expect(err.code).to.equal('FILE_SYSTEM');
      expect(server.count('/tool.tgz')).to.equal(1);
      expect((await cacheTree()).filter((p) => p.includes('.download-'))).to.deep.equal([]);
      expect(await besideTarget()).to.deep.equal([]);
    });
  });

  describe('#install: the file system refuses', () => {
    const mount = useTmpfs();
    beforeEach(function () {
      if (!canMount()) this.skip(); // mounting a small tmpfs needs root
    });

    it('reports a full deps dir as disk full, naming it (not as a corrupt archive)', async () => {
      const blob = path.join(buildpackDir, 'blob');
      await randomFile(blob, 3 * 1024 * 1024);
      const big = await fs.readFile(await writeTgz(path.join(buildpackDir, 'b.tgz'), [{ path: 'blob', content: { file: blob } }]));
      server.route('/tool.tgz', serve.bytes(big));
      await mount(path.join(depsDir, '0'), 1024);
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(big)), target), FileSystemError);
      expect(err.code).to.equal('DISK_FULL');
      expect(err.message).to.equal(`could not write the files of tool.tgz into ${target}: no space left on the device (disk full) (ENOSPC)`);
      expect(await besideTarget()).to.deep.equal([]);
    });

    it('reports a full app cache as disk full, naming it, and leaves no partial file', async () => {
      const blob = path.join(buildpackDir, 'blob');
      await randomFile(blob, 2 * 1024 * 1024);
      const big = await fs.readFile(await writeTgz(path.join(buildpackDir, 'b.tgz'), [{ path: 'blob', content: { file: blob } }]));
      server.route('/tool.tgz', serve.bytes(big));
      await mount(cacheDir, 1024);
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(big)), target), FileSystemError);
      expect(err.code).to.equal('DISK_FULL');
      expect(err.message).to.equal(`could not write the download of tool.tgz into the app cache ${path.join(cacheDir, 'dependencies')}: no space left on the device (disk full) (ENOSPC)`);
      expect(await cacheTree()).to.deep.equal(['dependencies/']);
      expect(await besideTarget()).to.deep.equal([]);
    });

    it('a download that is not the manifest\'s and fills the disk it shares with the app cache as it unpacks is still a mismatch', async () => {
      // 8 MiB of zeros first (a few KB compressed: it fills the disk at once), then 1 MiB of random
      // data: the app-cache file still has most of the download to write when the disk is full
      const noise = randomBytes(1024 * 1024);
      const planted = await tgzBuffer([{ path: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) }, { path: 'noise', content: noise }]);
      server.route('/tool.tgz', serve.bytes(planted));
      const shared = await tmp();
      await mount(shared, 4096);
      const cache = path.join(shared, 'cache');
      const deps = path.join(shared, 'deps');
      const fetcher = new HttpFetcher({ sleep: async () => undefined, idleTimeoutMs: 1000, connectTimeoutMs: 1000, attempts: 1 });
      const inst = new Installer({ buildpackDir, cacheDir: cache, logger: new StagingLogger(sink), fetcher });
      const err = await expectRejection(inst.install(dep(server.url('/tool.tgz'), sha256(tgz)), path.join(deps, '0', 'tool')), ChecksumMismatchError);
      expect(err.message).to.include(sha256(planted));
      expect(await listTree(cache)).to.deep.equal(['dependencies/']);
      expect(await fs.readdir(path.join(deps, '0'))).to.deep.equal([]);
    });

    it('reports a read-only cache dir, naming it', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      await mount(cacheDir, 64, { readOnly: true });
      const err = await expectRejection(installer().install(dep(server.url('/tool.tgz'), sha256(tgz)), target), FileSystemError);
      expect(err.message).to.equal(`could not create the app cache directory ${path.join(cacheDir, 'dependencies')}: read-only file system (EROFS)`);
    });
  });

  describe('#install with large content', () => {
    // Regression: the tee once cut off the tail of inputs larger than its buffers after finishing.
    it('installs every byte from each source (download, app cache, cached buildpack)', async () => {
      const blob = path.join(buildpackDir, 'blob');
      const blobDigest = await randomFile(blob, 6 * 1024 * 1024 + 123);
      const big = await fs.readFile(await writeTgz(path.join(buildpackDir, 'big.tgz'), [{ path: 'pkg/blob', content: { file: blob } }, { path: 'pkg/last', content: 'tail' }]));
      server.route('/big.tgz', serve.bytes(big));
      const uri = server.url('/big.tgz');
      const rel = `dependencies/${hex('md5', uri)}/big.tgz`;
      const sources: string[] = [];
      for (const [i, file] of [[0, undefined], [1, undefined], [2, rel]] as const) {
        if (file) {
          await fs.mkdir(path.join(buildpackDir, path.dirname(file)), { recursive: true });
          await fs.writeFile(path.join(buildpackDir, file), big);
        }
        const t = path.join(depsDir, `big${i}`);
        sources.push((await installer().install(dep(uri, sha256(big), { file }), t, { stripComponents: 1 })).source);
        expect(await sha256File(path.join(t, 'blob'))).to.equal(blobDigest);
        expect(await fs.readFile(path.join(t, 'last'), 'utf8')).to.equal('tail');
      }
      expect(sources).to.deep.equal(['download', 'app-cache', 'cached-buildpack']);
    });
  });

  describe('#cleanupAppCache', () => {
    it('removes entries not used by this installer and stale temp files, keeping fresh temp files', async () => {
      server.route('/tool.tgz', serve.bytes(tgz));
      const root = path.join(cacheDir, 'dependencies');
      await fs.mkdir(path.join(root, 'f'.repeat(64)), { recursive: true });
      await fs.writeFile(path.join(root, 'f'.repeat(64), 'old.tgz'), 'x');
      await fs.writeFile(path.join(root, '.stale.download-1-aa'), 'x');
      const old = new Date(Date.now() - 2 * 3600 * 1000);
      await fs.utimes(path.join(root, '.stale.download-1-aa'), old, old);
      await fs.writeFile(path.join(root, '.fresh.download-2-bb'), 'x');
      const inst = installer();
      const uri = server.url('/tool.tgz');
      await inst.install(dep(uri, sha256(tgz)), target);
      await inst.cleanupAppCache();
      expect(await fs.readdir(root)).to.have.members([hex('sha256', uri), '.fresh.download-2-bb']);
    });

    context('failure cases', () => {
      it('does nothing when there is no app cache yet', async () => {
        await installer().cleanupAppCache();
        expect(await fs.readdir(cacheDir)).to.deep.equal([]);
      });
    });
  });

  describe('when killed', () => {
    it('leaves no target and no cache file after SIGKILL mid-download, and the next install succeeds', async () => {
      const blob = path.join(buildpackDir, 'blob');
      await randomFile(blob, 2 * 1024 * 1024);
      const big = await fs.readFile(await writeTgz(path.join(buildpackDir, 'k.tgz'), [{ path: 'pkg/blob', content: { file: blob } }]));
      server.route('/k.tgz', serve.drip(big, { chunkSize: 16 * 1024, intervalMs: 10 }));
      const uri = server.url('/k.tgz');
      const d = dep(uri, sha256(big));
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'install-child.ts'), JSON.stringify({ buildpackDir, cacheDir, target, dep: d, stripComponents: 1 })], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise((resolve) => child.on('close', resolve));
      // Kill once the download is under way (the Download line printed and bytes flowing).
      const partials = async (): Promise<string[]> => (await cacheTree()).filter((p) => p.includes('.download-'));
      const partialBytes = async (): Promise<number> => {
        const [p] = await partials();
        return p === undefined ? 0 : (await fs.stat(path.join(cacheDir, p)).catch(() => ({ size: 0 }))).size;
      };
      while (child.exitCode === null && (!out.includes('Download [') || (await partialBytes()) === 0)) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      await exited;
      expect(out).to.not.include('installed');
      expect(await besideTarget()).to.satisfy((names: string[]) => names.every((n) => n.startsWith('.tool.extract-')));
      expect(await isFile(appCacheFile(uri))).to.equal(false);
      expect(await partials(), 'the killed download left its partial file').to.have.length(1);

      server.route('/k.tgz', serve.bytes(big));
      const result = await installer().install(d, target, { stripComponents: 1 });
      expect(result.source).to.equal('download');
      expect(await sha256File(path.join(target, 'blob'))).to.equal(await sha256File(blob));
      // The killed process's partial download is gone, and no extraction dir is left.
      expect(await partials()).to.deep.equal([]);
      expect(await besideTarget()).to.deep.equal(['tool']);
    });
  });

  describe('concurrency', () => {
    it('lets several installers share one app cache at once', async () => {
      server.route('/tool.tgz', serve.drip(tgz, { chunkSize: 64, intervalMs: 1 }));
      const uri = server.url('/tool.tgz');
      const targets = [0, 1, 2, 3, 4, 5].map((i) => path.join(depsDir, `t${i}`));
      await Promise.all(targets.map(async (t) => {
        const inst = installer();
        await inst.install(dep(uri, sha256(tgz)), t, { stripComponents: 1 });
        await inst.cleanupAppCache();
      }));
      for (const t of targets) expect(await listTree(t)).to.deep.equal(['README', 'bin/', 'bin/tool']);
      expect(await sha256File(appCacheFile(uri))).to.equal(sha256(tgz));
      expect((await cacheTree()).filter((p) => p.includes('.download-'))).to.deep.equal([]);
    });
  });
});
