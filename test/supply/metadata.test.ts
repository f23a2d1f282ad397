import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { MemorySink, StagingLogger, stripAnsi } from '../../src/log/logger.js';
import { parseManifest } from '../../src/manifest/index.js';
import { checkBuildpackVersion, storeBuildpackMetadata } from '../../src/supply/metadata.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { COMPAT_URL } from '../helpers/shared.js';

const compat = COMPAT_URL;

interface Case {
  manifest: string;
  versionFile?: string;
  query: string;
  setup: { cacheDir?: Record<string, { language: string; version: string }>; cacheDirExists?: boolean; versionFileExists?: boolean };
  logEquals?: string;
  logContains?: string;
  expectFile?: Record<string, unknown>;
  expectCacheDirCreated?: boolean;
  source: string;
}

const corpus = JSON.parse(await fs.readFile(new URL('manifest-cases.json', compat), 'utf8')) as { cases: Case[] };
const cases = corpus.cases.filter((c) => c.query === 'checkBuildpackVersion' || c.query === 'storeBuildpackMetadata');

describe('BUILDPACK_METADATA (libbuildpack CheckBuildpackVersion / StoreBuildpackMetadata)', () => {
  const tmpDir = useTmpDirs('metadata-');

  describe('the compat corpus cases', () => {
    it('has the seven cases', () => expect(cases).to.have.length(7));

    for (const c of cases) {
      it(c.source, async () => {
        const language = parseManifest(await fs.readFile(new URL(c.manifest, compat), 'utf8'), c.manifest).language;
        const version = c.versionFile ? (await fs.readFile(new URL(c.versionFile, compat), 'utf8')).trim() : '';
        const cacheDir = path.join(await tmpDir(), 'cache');
        if (c.setup.cacheDir || c.setup.cacheDirExists !== false) await fs.mkdir(cacheDir);
        for (const [file, doc] of Object.entries(c.setup.cacheDir ?? {})) await fs.writeFile(path.join(cacheDir, file), stringify(doc));

        const sink = new MemorySink();
        const logger = new StagingLogger(sink);
        if (c.query === 'checkBuildpackVersion') {
          const warning = await checkBuildpackVersion(cacheDir, language, version);
          if (warning) logger.warning(warning);
        } else {
          await storeBuildpackMetadata(cacheDir, language, version);
        }
        const log = stripAnsi(sink.text());
        if (c.logEquals !== undefined) expect(log).to.equal(c.logEquals);
        if (c.logContains !== undefined) expect(log).to.contain(c.logContains);
        for (const [file, doc] of Object.entries(c.expectFile ?? {})) {
          expect(parse(await fs.readFile(path.join(cacheDir, file), 'utf8'))).to.deep.equal(doc);
        }
        if (c.expectCacheDirCreated === false) {
          expect(await fs.stat(cacheDir).then(() => true, () => false)).to.equal(false);
        }
      });
    }
  });

  context('the file this toolkit writes', () => {
    it('is JSON (a YAML document too), read back without a YAML parser; the YAML block style of older files is still read', async () => {
      const cacheDir = await tmpDir();
      await storeBuildpackMetadata(cacheDir, 'x', '1.0.0');
      const text = await fs.readFile(path.join(cacheDir, 'BUILDPACK_METADATA'), 'utf8');
      expect(text).to.equal('{"language":"x","version":"1.0.0"}\n');
      expect(parse(text)).to.deep.equal({ language: 'x', version: '1.0.0' });
      expect(await checkBuildpackVersion(cacheDir, 'x', '1.0.1')).to.equal('buildpack version changed from 1.0.0 to 1.0.1');
      await fs.writeFile(path.join(cacheDir, 'BUILDPACK_METADATA'), 'language: x\nversion: 0.9.0\n');
      expect(await checkBuildpackVersion(cacheDir, 'x', '1.0.1')).to.equal('buildpack version changed from 0.9.0 to 1.0.1');
    });
  });

  context('failure cases', () => {
    it('ignores a damaged metadata file (it is rewritten at the end of staging)', async () => {
      const cacheDir = await tmpDir();
      await fs.writeFile(path.join(cacheDir, 'BUILDPACK_METADATA'), 'language: [unclosed');
      expect(await checkBuildpackVersion(cacheDir, 'x', '1.0.0')).to.equal(undefined);
      await storeBuildpackMetadata(cacheDir, 'x', '1.0.0');
      expect(parse(await fs.readFile(path.join(cacheDir, 'BUILDPACK_METADATA'), 'utf8'))).to.deep.equal({ language: 'x', version: '1.0.0' });
    });
  });
});
