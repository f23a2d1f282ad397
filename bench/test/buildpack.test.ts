// The benchmark's buildpack copy: a manifest the toolkit's own parser accepts, the shims and
// bundle in place, and a cached dependency at the libbuildpack path.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../src/manifest/index.js';
import { parseRuntimeTable } from '../../src/packager/runtime-table.js';
import { cachedFilePath, makeBenchBuildpack } from '../lib/buildpack.js';

describe('bench buildpack', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-bp-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('#makeBenchBuildpack', () => {
    it('writes a manifest the toolkit loads, with the dependency, its sidecar and env', async () => {
      const bp = await makeBenchBuildpack(path.join(tmp, 'bp'), {
        dependencies: [{ name: 'payload', version: '1.0.0', uri: 'http://127.0.0.1:9/x/payload.tgz', sha256: 'a'.repeat(64) }],
        sidecars: [{ name: 'payload', dependency: 'payload', command: 'bin/payload', env: { PORT_X: '8082' } }],
      });
      const m = await loadManifest(bp);
      expect(m.language).to.equal('bench');
      expect(m.dependencies.map((d) => [d.name, d.version, d.uri, d.cf_stacks])).to.deep.equal([['payload', '1.0.0', 'http://127.0.0.1:9/x/payload.tgz', ['cflinuxfs4']]]);
      expect(m.sidecars.map((s) => [s.name, s.dependency, s.command, s.process_types])).to.deep.equal([['payload', 'payload', 'bin/payload', ['web']]]);
      for (const f of ['bin/supply', 'bin/detect', 'dist/supply.cjs']) expect((await fs.stat(path.join(bp, f))).mode & 0o777).to.equal(0o755);
    });

    it('writes the staging runtime table bin/supply reads without node', async () => {
      const bp = await makeBenchBuildpack(path.join(tmp, 'bp'), {
        dependencies: [{ name: 'node', version: '22.0.0', uri: 'http://127.0.0.1:9/x/node.tgz', sha256: 'c'.repeat(64) }],
        sidecars: [],
      });
      const { rows } = parseRuntimeTable(await fs.readFile(path.join(bp, 'dist', 'runtime.tsv'), 'utf8'));
      expect(rows.map((r) => [r.stack, r.uri, r.sha256])).to.deep.equal([
        ['cflinuxfs4', 'http://127.0.0.1:9/x/node.tgz', 'c'.repeat(64)],
        ['*', 'http://127.0.0.1:9/x/node.tgz', 'c'.repeat(64)],
      ]);
    });

    it('puts a cached dependency at dependencies/<md5(uri)>/<basename> and names it in file:', async () => {
      const src = path.join(tmp, 'p.tgz');
      await fs.writeFile(src, 'bytes');
      const uri = 'http://127.0.0.1:9/x/p.tgz';
      const bp = await makeBenchBuildpack(path.join(tmp, 'bp'), { dependencies: [{ name: 'p', version: '1.0.0', uri, sha256: 'b'.repeat(64), cachedFrom: src }], sidecars: [] });
      const rel = `dependencies/${createHash('md5').update(uri).digest('hex')}/p.tgz`;
      expect(cachedFilePath(uri)).to.equal(rel);
      expect(await fs.readFile(path.join(bp, rel), 'utf8')).to.equal('bytes');
      expect((await loadManifest(bp)).dependencies[0].file).to.equal(rel);
    });
  });
});
