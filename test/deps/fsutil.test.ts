// fsutil: the removal and mkdir the installer relies on, on real files.
import { expect } from 'chai';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDir, removeQuietly } from '../../src/deps/fsutil.js';
import { FileSystemError } from '../../src/errors.js';

describe('fsutil', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fsutil-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('removeQuietly removes a whole tree and a file, and takes a missing path as done', async () => {
    await fs.mkdir(path.join(tmp, 'tree', 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'tree', 'a', 'b', 'f'), 'x');
    await fs.writeFile(path.join(tmp, 'file'), 'x');
    await removeQuietly(path.join(tmp, 'tree'));
    await removeQuietly(path.join(tmp, 'file'));
    await removeQuietly(path.join(tmp, 'never-there'));
    expect(await fs.readdir(tmp)).to.deep.equal([]);
  });

  it('removeQuietly removes a symlink, never what it points to (a dangling one too)', async () => {
    await fs.mkdir(path.join(tmp, 'kept'));
    await fs.writeFile(path.join(tmp, 'kept', 'f'), 'x');
    await fs.symlink(path.join(tmp, 'kept'), path.join(tmp, 'link'));
    await fs.symlink(path.join(tmp, 'gone'), path.join(tmp, 'dangling'));
    await removeQuietly(path.join(tmp, 'link'));
    await removeQuietly(path.join(tmp, 'dangling'));
    expect(existsSync(path.join(tmp, 'kept', 'f'))).to.equal(true);
    expect((await fs.readdir(tmp)).sort()).to.deep.equal(['kept']);
  });

  it('ensureDir makes missing parents, accepts an existing folder, and names a file in the way', async () => {
    const deep = path.join(tmp, 'x', 'y', 'z');
    await ensureDir(deep, 'the deps directory');
    await ensureDir(deep, 'the deps directory');
    expect((await fs.stat(deep)).isDirectory()).to.equal(true);
    await fs.writeFile(path.join(tmp, 'plain'), 'x');
    const err = await ensureDir(path.join(tmp, 'plain', 'sub'), 'the deps directory').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(FileSystemError);
    expect((err as Error).message).to.include(path.join(tmp, 'plain', 'sub'));
  });
});
