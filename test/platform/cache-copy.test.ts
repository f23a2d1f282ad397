// linkTree / writtenInPlace: a staging's app cache is a copy whose large files are hard links.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LINK_MIN_BYTES, linkTree, writtenInPlace } from '../../src/platform/local/cache-copy.js';

describe('linkTree (the app cache a staging works on)', () => {
  let tmp: string;
  let src: string;
  let dest: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cache-copy-'));
    src = path.join(tmp, 'kept');
    dest = path.join(tmp, 'staging', 'cache');
    await fs.mkdir(path.join(src, 'bp', 'deps'), { recursive: true });
    await fs.mkdir(path.dirname(dest));
    await fs.writeFile(path.join(src, 'bp', 'deps', 'runtime.tgz'), Buffer.alloc(LINK_MIN_BYTES, 7), { mode: 0o640 });
    await fs.writeFile(path.join(src, 'bp', 'count'), '1\n', { mode: 0o600 });
    await fs.symlink('deps/runtime.tgz', path.join(src, 'bp', 'current'));
    await fs.chmod(path.join(src, 'bp', 'deps'), 0o700);
    await fs.utimes(path.join(src, 'bp', 'count'), 1000, 2000);
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('links large files, copies small ones with their times, keeps symlinks and folder modes', async () => {
    const linked = await linkTree(src, dest);
    const [a, b] = await Promise.all([fs.stat(path.join(src, 'bp/deps/runtime.tgz')), fs.stat(path.join(dest, 'bp/deps/runtime.tgz'))]);
    expect(b.ino, 'the large file is the same inode').to.equal(a.ino);
    expect(linked.map((f) => path.relative(src, f.path))).to.deep.equal(['bp/deps/runtime.tgz']);
    const [c, d] = await Promise.all([fs.stat(path.join(src, 'bp/count')), fs.stat(path.join(dest, 'bp/count'))]);
    expect(d.ino, 'the small file is a copy').to.not.equal(c.ino);
    expect(d.mtimeMs).to.equal(2000_000);
    expect(d.mode & 0o777).to.equal(0o600);
    expect(await fs.readlink(path.join(dest, 'bp/current'))).to.equal('deps/runtime.tgz');
    expect((await fs.stat(path.join(dest, 'bp/deps'))).mode & 0o777).to.equal(0o700);
  });

  it('keeps the kept cache as it was when the copy rewrites a small file or replaces a large one', async () => {
    const linked = await linkTree(src, dest);
    await fs.writeFile(path.join(dest, 'bp/count'), '2\n');
    await fs.rm(path.join(dest, 'bp/deps/runtime.tgz'));
    await fs.writeFile(path.join(dest, 'bp/deps/runtime.tgz'), 'new');
    expect(await fs.readFile(path.join(src, 'bp/count'), 'utf8')).to.equal('1\n');
    expect((await fs.stat(path.join(src, 'bp/deps/runtime.tgz'))).size).to.equal(LINK_MIN_BYTES);
    expect(await writtenInPlace(linked)).to.equal(undefined);
  });

  it('tells when a large file was written in place (the kept one changed with it)', async () => {
    const linked = await linkTree(src, dest);
    await fs.appendFile(path.join(dest, 'bp/deps/runtime.tgz'), 'more');
    expect(await writtenInPlace(linked)).to.equal(path.join(src, 'bp/deps/runtime.tgz'));
  });

  it('does not count a kept cache replaced meanwhile (its files gone) as written', async () => {
    const linked = await linkTree(src, dest);
    await fs.rm(src, { recursive: true });
    expect(await writtenInPlace(linked)).to.equal(undefined);
  });
});
