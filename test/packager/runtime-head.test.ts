import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { runtimeHead } from '../../src/packager/runtime-head.js';
import { cleanup, tmpDir } from './helpers.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('runtimeHead: the bytes of a node archive through its bin/node', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tmpDir();
  });
  afterEach(cleanup);

  /** A `.tgz` made by GNU tar of `files` (relative path → content), in that order. */
  async function archive(files: Array<[string, Buffer]>): Promise<string> {
    const src = path.join(dir, 'src');
    for (const [rel, data] of files) {
      await fs.mkdir(path.dirname(path.join(src, rel)), { recursive: true });
      await fs.writeFile(path.join(src, rel), data, { mode: 0o755 });
    }
    const out = path.join(dir, 'node.tgz');
    const r = spawnSync('tar', ['-czf', out, '-C', src, '--no-recursion', ...files.map(([rel]) => rel)]);
    expect(r.status, String(r.stderr)).to.equal(0);
    return out;
  }

  for (const folder of ['', 'node-v22.1.0-linux-x64/']) {
    it(`gives a head from which the stack's gzip and tar unpack all of ${folder}bin/node (${folder ? 'nodejs.org layout' : 'CF layout'})`, async () => {
      const node = randomBytes(300 * 1024);
      const file = await archive([
        [`${folder}README.md`, Buffer.from('read me\n')],
        [`${folder}bin/node`, node],
        [`${folder}lib/node_modules/npm/index.js`, randomBytes(400 * 1024)],
      ]);
      const whole = await fs.readFile(file);
      const head = (await runtimeHead(file))!;
      expect(head.member).to.equal(`${folder}bin/node`);
      expect(head.bytes).to.be.below(whole.length);
      expect(head.sha256).to.equal(sha(whole.subarray(0, head.bytes)));
      const cut = path.join(dir, 'runtime.head');
      await fs.writeFile(cut, whole.subarray(0, head.bytes));
      const out = path.join(dir, 'out');
      await fs.mkdir(out);
      const r = spawnSync('sh', ['-c', 'gzip -dc <"$1" 2>/dev/null | tar -xf - -C "$2" --occurrence=1 "$3"', 'sh', cut, out, `${folder}bin/node`]);
      expect(r.status, String(r.stderr)).to.equal(0);
      expect(await fs.readFile(path.join(out, `${folder}bin/node`))).to.deep.equal(node);
    });
  }

  it('cuts to the byte: a compressible bin/node, unpacked whole by gzip and by zlib (the stack\'s perl), and not from a byte less than the head less its slack', async () => {
    // text-like data: dynamic Huffman blocks, whose last codes need lookahead to decode
    const words = Array.from({ length: 4000 }, (_, i) => `sym_${(i * 7919) % 3001}_${i % 17}`);
    const node = Buffer.from(Array.from({ length: 60_000 }, (_, i) => words[(i * 31) % words.length]).join(' '));
    const file = await archive([
      ['bin/node', node],
      ['lib/node_modules/npm/index.js', Buffer.from(words.join('\n').repeat(20))],
    ]);
    const whole = await fs.readFile(file);
    const head = (await runtimeHead(file))!;
    expect(head.bytes).to.be.below(whole.length);
    const cut = path.join(dir, 'runtime.head');
    await fs.writeFile(cut, whole.subarray(0, head.bytes));
    for (const inflater of ['gzip -dc', `perl -MCompress::Raw::Zlib -e 'binmode STDIN; binmode STDOUT; my ($z) = Compress::Raw::Zlib::Inflate->new(-WindowBits => WANT_GZIP); while (sysread(STDIN, my $in, 65536)) { $z->inflate($in, my $out); print $out }'`]) {
      const out = await fs.mkdtemp(path.join(dir, 'out-'));
      const r = spawnSync('sh', ['-c', `${inflater} <"$1" 2>/dev/null | tar -xf - -C "$2" --occurrence=1 bin/node`, 'sh', cut, out]);
      expect(r.status, `${inflater}: ${String(r.stderr)}`).to.equal(0);
      expect(await fs.readFile(path.join(out, 'bin', 'node')), inflater).to.deep.equal(node);
    }
    // one byte short of the shortest cut zlib needs, bin/node's last block is not all there
    const short = whole.subarray(0, head.bytes - 64 - 1);
    const got: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const g = zlib.createGunzip();
      g.on('data', (c: Buffer) => got.push(c));
      g.on('error', () => resolve());
      g.on('end', resolve);
      g.end(short);
    });
    const end = 512 + Math.ceil(node.length / 512) * 512; // bin/node's header, then its data in whole blocks
    expect(Buffer.concat(got).length).to.be.below(end);
  });

  it('has no head for an archive without bin/node, nor for one where bin/node comes last', async () => {
    expect(await runtimeHead(await archive([['lib/x.js', randomBytes(200 * 1024)]]))).to.equal(undefined);
    await fs.rm(path.join(dir, 'src'), { recursive: true });
    expect(await runtimeHead(await archive([['lib/x.js', randomBytes(200 * 1024)], ['bin/node', randomBytes(100 * 1024)]]))).to.equal(undefined);
  });

  it('rejects what is not gzip', async () => {
    const file = path.join(dir, 'junk.tgz');
    await fs.writeFile(file, randomBytes(10000));
    let err: unknown;
    await runtimeHead(file).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(Error);
  });
});
