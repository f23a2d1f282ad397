// The compat corpus's installDependency cases that need a real installer (the log line of each
// source, a mismatching download): run through Installer with a real 127.0.0.1 server. The
// corpus's sha256s are of libbuildpack fixture files not copied here, so each entry is pointed at
// an archive made by the test (the corpus convention: any download that passes the checksum).
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { Installer } from '../../src/deps/installer.js';
import { ChecksumMismatchError } from '../../src/errors.js';
import { MemorySink, StagingLogger, stripAnsi } from '../../src/log/logger.js';
import { getEntry, parseManifest } from '../../src/manifest/index.js';
import { sha256File, writeArchive } from '../helpers/archives.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { COMPAT_URL } from '../helpers/shared.js';

const compat = COMPAT_URL;

interface Case {
  manifest: string;
  stack: string;
  query: string;
  dependency: { name: string; version: string };
  setup?: { download?: string; cachedFile?: string };
  error?: unknown;
  logContains?: string;
  source: string;
}

const corpus = JSON.parse(await fs.readFile(new URL('manifest-cases.json', compat), 'utf8')) as { cases: Case[] };
const cases = corpus.cases.filter(
  (c) => c.query === 'installDependency' && (c.setup?.download || c.error || c.setup?.cachedFile || c.logContains?.startsWith('----->')),
);

describe('Installer against the compat corpus', () => {
  const tmpDir = useTmpDirs('installer-corpus-');
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(() => server.close());

  it('has the three installer cases', () => expect(cases).to.have.length(3));

  for (const c of cases) {
    it(c.source, async () => {
      const root = await tmpDir();
      const manifest = parseManifest(await fs.readFile(new URL(c.manifest, compat), 'utf8'), c.manifest);
      const entry = { ...getEntry(manifest, c.dependency.name, c.dependency.version, c.stack) };
      const artifact = await writeArchive(path.join(root, path.basename(new URL(entry.uri).pathname)), { 'bin/thing': '#!/bin/sh\necho thing\n' });
      entry.sha256 = await sha256File(artifact);
      if (c.setup?.cachedFile) {
        // a cached buildpack: the entry's file: is used, the uri never fetched
        await fs.mkdir(path.dirname(path.join(root, c.setup.cachedFile)), { recursive: true });
        await fs.copyFile(artifact, path.join(root, c.setup.cachedFile));
        expect(entry.file).to.equal(c.setup.cachedFile);
        entry.uri = server.url(`/never-fetched/${path.basename(artifact)}`); // the suffix still picks the extractor
      } else {
        const body = await fs.readFile(artifact);
        entry.uri = server.url(`/${path.basename(artifact)}`);
        server.route(new URL(entry.uri).pathname, serve.bytes(c.setup?.download ? Buffer.concat([body, Buffer.from('tampered')]) : body));
      }
      const sink = new MemorySink();
      const installer = new Installer({ buildpackDir: root, cacheDir: path.join(root, 'cache'), logger: new StagingLogger(sink), fetcher: new HttpFetcher({ attempts: 1 }) });
      const target = path.join(root, 'deps', '0', entry.name);
      let error: unknown;
      await installer.install(entry, target).catch((e) => (error = e));
      if (c.error) {
        expect(error).to.be.instanceOf(ChecksumMismatchError);
        expect(await fs.stat(target).then(() => true, () => false)).to.equal(false);
      } else {
        expect(error).to.equal(undefined);
        expect(await fs.readFile(path.join(target, 'bin/thing'), 'utf8')).to.contain('echo thing');
      }
      expect(stripAnsi(sink.text())).to.contain(c.logContains!);
      expect(server.requests.filter((r) => r.path.startsWith('/never-fetched'))).to.deep.equal([]);
    });
  }
});
