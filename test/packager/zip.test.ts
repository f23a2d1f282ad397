import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_ZIP_EPOCH, writeReproducibleZip, zipEpoch } from '../../src/packager/zip.js';
import { cleanup, readZip, tmpDir, unzipTestsClean, zipinfoModes } from './helpers.js';

describe('writeReproducibleZip', () => {
  afterEach(cleanup);

  async function sample(dir: string): Promise<Parameters<typeof writeReproducibleZip>[0]> {
    await fs.writeFile(path.join(dir, 'big.txt'), 'x'.repeat(10000));
    return [
      { path: 'z/last.txt', contents: 'last', mode: 0o644 },
      { path: 'bin/supply', contents: '#!/bin/sh\n', mode: 0o755 },
      { path: 'big.txt', localPath: path.join(dir, 'big.txt'), mode: 0o644 },
      { path: 'a.tgz', contents: Buffer.from([1, 2, 3]), mode: 0o644 },
    ];
  }

  context('when given entries in any order', () => {
    it('writes them sorted by path with their modes, readable by unzip', async () => {
      const dir = await tmpDir();
      const dest = path.join(dir, 'out', 'x.zip');
      const r = await writeReproducibleZip(await sample(dir), dest);
      const entries = await readZip(dest);
      expect([...entries.keys()]).to.deep.equal(['a.tgz', 'big.txt', 'bin/supply', 'z/last.txt']);
      expect(entries.get('big.txt')!.data.toString()).to.equal('x'.repeat(10000));
      expect(entries.get('bin/supply')!.mode).to.equal(0o755);
      expect(entries.get('z/last.txt')!.mode).to.equal(0o644);
      const modes = zipinfoModes(dest);
      expect(modes.get('bin/supply')).to.equal('-rwxr-xr-x');
      expect(modes.get('big.txt')).to.equal('-rw-r--r--');
      expect(unzipTestsClean(dest)).to.equal(true);
      expect(r.bytes).to.equal((await fs.stat(dest)).size);
      expect(r.sha256).to.match(/^[0-9a-f]{64}$/);
    });
  });

  context('when the same entries are written twice', () => {
    it('gives byte-identical archives, even from another time zone', async () => {
      const dir = await tmpDir();
      const entries = await sample(dir);
      const a = await writeReproducibleZip(entries, path.join(dir, 'a.zip'));
      await new Promise((r) => setTimeout(r, 1100)); // let the clock move: it must not matter
      const b = await writeReproducibleZip([...entries].reverse(), path.join(dir, 'b.zip'));
      expect(b.sha256).to.equal(a.sha256);
      // a child process in a far time zone writes the same bytes
      const script = `import { writeReproducibleZip } from ${JSON.stringify(path.resolve('src/packager/zip.ts'))};
        const entries = JSON.parse(process.argv[1]);
        for (const e of entries) if (e.contents && e.path.endsWith('.tgz')) e.contents = Buffer.from([1,2,3]);
        const r = await writeReproducibleZip(entries, process.argv[2]);
        console.log(r.sha256);`;
      const json = JSON.stringify(entries.map((e) => ('contents' in e && Buffer.isBuffer(e.contents) ? { ...e, contents: 'buffer' } : e)));
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, json, path.join(dir, 'c.zip')], {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'Pacific/Kiritimati' },
      });
      expect(child.stderr).to.equal('');
      expect(child.stdout.trim()).to.equal(a.sha256);
    });
  });

  context('when SOURCE_DATE_EPOCH is given', () => {
    it('stamps every entry with that UTC time', async () => {
      const dir = await tmpDir();
      const dest = path.join(dir, 'e.zip');
      await writeReproducibleZip([{ path: 'f', contents: 'x', mode: 0o644 }], dest, zipEpoch('1700000000'));
      const r = spawnSync('unzip', ['-Z', '-T', dest], { encoding: 'utf8' });
      // 1700000000 = 2023-11-14 22:13:20 UTC; zipinfo -T prints yyyymmdd.hhmmss
      expect(r.stdout).to.include('20231114.221320');
    });
    it('falls back to 1980-01-01 when unset or not a number', () => {
      expect(zipEpoch(undefined)).to.equal(DEFAULT_ZIP_EPOCH);
      expect(zipEpoch('yesterday')).to.equal(DEFAULT_ZIP_EPOCH);
      expect(zipEpoch('5')).to.equal(DEFAULT_ZIP_EPOCH);
    });
  });

  context('failure cases', () => {
    it('leaves neither the zip nor a temp file when an input file is missing', async () => {
      const dir = await tmpDir();
      const out = path.join(dir, 'out');
      await fs.mkdir(out);
      let caught: unknown;
      try {
        await writeReproducibleZip([{ path: 'gone', localPath: path.join(dir, 'nope'), mode: 0o644 }], path.join(out, 'x.zip'));
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(Error);
      expect(await fs.readdir(out)).to.deep.equal([]);
    });
    it('refuses two entries with the same path', async () => {
      const dir = await tmpDir();
      let caught: unknown;
      try {
        await writeReproducibleZip([{ path: 'a', contents: '1', mode: 0o644 }, { path: 'a', contents: '2', mode: 0o644 }], path.join(dir, 'x.zip'));
      } catch (e) {
        caught = e;
      }
      expect(String(caught)).to.include('duplicate zip entry a');
    });
  });
});
