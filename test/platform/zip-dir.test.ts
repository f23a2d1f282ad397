import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipDirectory } from '../../src/platform/cf/zip-dir.js';
import { extractZip } from '../../src/platform/local/unzip.js';
import { useTmpDirs } from '../helpers/tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NOBODY = 65534;

describe('zipDirectory (cf platform)', () => {
  const tmp = useTmpDirs();

  it('zips regular files with their modes, nested directories included', async () => {
    const dir = await tmp();
    await mkdir(path.join(dir, 'bp/bin'), { recursive: true });
    await mkdir(path.join(dir, 'bp/lib/deep'), { recursive: true });
    await writeFile(path.join(dir, 'bp/bin/supply'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(dir, 'bp/lib/deep/a.txt'), 'a');
    const zip = await zipDirectory(path.join(dir, 'bp'), path.join(dir, 'bp.zip'));
    await extractZip(zip, path.join(dir, 'out'));
    expect((await stat(path.join(dir, 'out/bin/supply'))).mode & 0o777).to.equal(0o755);
    expect(await readdir(path.join(dir, 'out/lib/deep'))).to.deep.equal(['a.txt']);
  });

  context('failure cases', () => {
    it('rejects with a FileSystemError naming the directory for a file it cannot read (no unhandled error event)', async function () {
      if (process.getuid?.() !== 0) this.skip(); // needs root to start the child as another user
      const dir = await tmp();
      await chmod(dir, 0o777);
      const bp = path.join(dir, 'bp');
      await mkdir(path.join(bp, 'bin'), { recursive: true, mode: 0o755 });
      await chmod(bp, 0o755);
      await writeFile(path.join(bp, 'bin/supply'), '#!/bin/sh\n', { mode: 0o755 });
      await writeFile(path.join(bp, 'secret'), 'unreadable');
      const out = path.join(dir, 'out');
      await mkdir(out, { mode: 0o777 });
      await chmod(out, 0o777);
      const zip = path.join(out, 'bp.zip');
      await chmod(path.join(bp, 'secret'), 0o000);
      const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'zip-dir-child.ts'), bp, zip], {
          uid: NOBODY,
          gid: NOBODY,
          env: { ...process.env, HOME: dir, TMPDIR: dir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout.trim()).to.equal(`FileSystemError: cannot zip the buildpack directory ${bp} into ${zip}: EACCES: permission denied, open '${path.join(bp, 'secret')}'`);
      expect(await readdir(out), 'no half-written zip').to.deep.equal([]);
    });
  });
});
