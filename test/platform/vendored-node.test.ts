// withVendoredNode: a local buildpack dir with a `vendor-node` file is staged from a copy that
// holds this machine's node at vendor/node/bin/node (the fixture final buildpack installs it).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VENDORED_NODE, withVendoredNode } from '../../src/platform/local/vendored-node.js';

describe('withVendoredNode (local buildpacks that carry a node)', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'vendored-node-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function bp(marker: boolean): Promise<string> {
    const dir = path.join(tmp, 'final');
    await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
    await fs.writeFile(path.join(dir, 'bin', 'supply'), '#!/bin/sh\necho supply\n', { mode: 0o755 });
    if (marker) await fs.writeFile(path.join(dir, 'vendor-node'), 'please\n');
    return dir;
  }

  it('leaves a buildpack without the vendor-node file as it is', async () => {
    const dir = await bp(false);
    expect(await withVendoredNode(dir, path.join(tmp, 'scratch'))).to.equal(dir);
    expect(await fs.readdir(tmp)).to.deep.equal(['final']);
  });

  it('stages a copy holding a runnable node at vendor/node/bin/node, made once, without touching the original', async () => {
    const dir = await bp(true);
    const modeBefore = (await fs.stat(process.execPath)).mode;
    const copy = await withVendoredNode(dir, path.join(tmp, 'scratch'));
    expect(copy).to.not.equal(dir);
    expect(path.dirname(copy)).to.equal(path.join(tmp, 'scratch'));
    expect(await fs.readFile(path.join(copy, 'bin', 'supply'), 'utf8')).to.equal('#!/bin/sh\necho supply\n');
    const r = spawnSync(path.join(copy, VENDORED_NODE), ['-p', 'process.version'], { encoding: 'utf8' });
    expect(r.stdout.trim()).to.equal(process.version);
    expect(await fs.readdir(dir)).to.deep.equal(['bin', 'vendor-node']);
    expect((await fs.stat(process.execPath)).mode).to.equal(modeBefore);
    // the same buildpack again: the same copy; a changed script: a new one
    expect(await withVendoredNode(dir, path.join(tmp, 'scratch'))).to.equal(copy);
    await fs.writeFile(path.join(dir, 'bin', 'supply'), '#!/bin/sh\necho changed supply\n', { mode: 0o755 });
    const again = await withVendoredNode(dir, path.join(tmp, 'scratch'));
    expect(again).to.not.equal(copy);
    expect(await fs.readFile(path.join(again, 'bin', 'supply'), 'utf8')).to.include('changed supply');
    expect((await fs.readdir(path.join(tmp, 'scratch'))).filter((n) => n.includes('.tmp-'))).to.deep.equal([]);
  });

  it('copies a node it cannot hard-link and makes the copy executable', async () => {
    const dir = await bp(true);
    // a node on another file system (a tmpfs under /dev/shm when there is one) cannot be linked
    const shm = await fs.mkdtemp(path.join(await fs.stat('/dev/shm').then(() => '/dev/shm', () => os.tmpdir()), 'node-src-'));
    try {
      const node = path.join(shm, 'node');
      await fs.copyFile(process.execPath, node);
      await fs.chmod(node, 0o700);
      const copy = await withVendoredNode(dir, path.join(tmp, 'scratch'), node);
      const st = await fs.stat(path.join(copy, VENDORED_NODE));
      expect(st.mode & 0o111).to.not.equal(0);
      expect(spawnSync(path.join(copy, VENDORED_NODE), ['-e', '0']).status).to.equal(0);
    } finally {
      await fs.rm(shm, { recursive: true, force: true });
    }
  });
});
