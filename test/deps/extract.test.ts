import { expect } from 'chai';
import { promises as fs, createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ArchiveTooLargeError, CorruptArchiveError, UnsafeArchiveError } from '../../src/errors.js';
import { archiveKind, extract, uriBasename } from '../../src/deps/extract.js';
import { listTree, overlappingZip, randomFile, sha256File, tarBuffer, tarHeader, tgzBuffer, writeArchive, writeTgz, writeZip, type EntrySpec } from '../helpers/archives.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { expectRejection } from '../helpers/assert.js';

describe('extract', () => {
  const tmp = useTmpDirs();
  let work: string;
  let target: string;
  let outside: string;

  beforeEach(async () => {
    work = await tmp();
    target = path.join(work, 'deps', 'tool');
    outside = path.join(work, 'outside');
    await fs.mkdir(outside);
  });

  /** Entries of the target's parent: nothing but the target may remain (no temp dirs). */
  async function parentEntries(): Promise<string[]> {
    return fs.readdir(path.dirname(target)).catch(() => []);
  }

  describe('#archiveKind', () => {
    const table: Array<[string, string]> = [
      ['https://h/x/tool-1.2.3.tgz', 'tgz'],
      ['https://h/x/tool.tar.gz?sig=1', 'tgz'],
      ['https://h/x/TOOL.TAR.XZ', 'txz'],
      ['file:///x/tool.zip', 'zip'],
      ['https://h/install.sh', 'sh'],
      ['https://h/tool-linux-amd64', 'file'],
      ['https://h/tool.jar', 'file'],
    ];
    for (const [uri, kind] of table) it(`${uri} → ${kind}`, () => expect(archiveKind(uri)).to.equal(kind));
    it('takes the basename without query', () => expect(uriBasename('https://u:p@h/a/b.tgz?x=1#y')).to.equal('b.tgz'));
  });

  for (const suffix of ['tgz', 'tar.xz', 'zip']) {
    describe(`#extract .${suffix}`, () => {
      context('when the archive is well formed', () => {
        it('extracts files, directories, modes and symlinks', async () => {
          const file = await writeArchive(path.join(work, `a.${suffix}`), [
            { path: 'bin/', type: 'dir' },
            { path: 'bin/tool', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
            { path: 'lib/data.txt', content: 'data', mode: 0o640 },
            { path: 'bin/alias', type: 'symlink', target: 'tool' },
          ]);
          await extract(file, target);
          expect(await fs.readFile(path.join(target, 'bin/tool'), 'utf8')).to.equal('#!/bin/sh\necho hi\n');
          expect((await fs.stat(path.join(target, 'bin/tool'))).mode & 0o7777).to.equal(0o755);
          expect((await fs.stat(path.join(target, 'lib/data.txt'))).mode & 0o7777).to.equal(0o640);
          expect(await fs.readlink(path.join(target, 'bin/alias'))).to.equal('tool');
          expect(await parentEntries()).to.deep.equal(['tool']);
        });

        it('strips leading components', async () => {
          const file = await writeArchive(path.join(work, `a.${suffix}`), { 'tool-1.0/bin/tool': 'x', 'tool-1.0/README': 'r' });
          await extract(file, target, { stripComponents: 1 });
          expect(await listTree(target)).to.deep.equal(['README', 'bin/', 'bin/tool']);
        });

        it('drops setuid, setgid and sticky bits', async () => {
          const file = await writeArchive(path.join(work, `a.${suffix}`), [{ path: 'suid', content: 'x', mode: 0o6755 }, { path: 'd/', type: 'dir', mode: 0o1777 }]);
          await extract(file, target);
          expect((await fs.stat(path.join(target, 'suid'))).mode & 0o7777).to.equal(0o755);
          expect((await fs.stat(path.join(target, 'd'))).mode & 0o7777).to.equal(0o777);
        });

        it('replaces an existing target completely', async () => {
          await fs.mkdir(target, { recursive: true });
          await fs.writeFile(path.join(target, 'stale'), 'old');
          const file = await writeArchive(path.join(work, `a.${suffix}`), { fresh: 'new' });
          await extract(file, target);
          expect(await listTree(target)).to.deep.equal(['fresh']);
          expect(await parentEntries()).to.deep.equal(['tool']);
        });
      });

      context('failure cases', () => {
        const malicious: Array<[string, EntrySpec[]]> = [
          ['a ../ entry', [{ path: 'ok', content: 'x' }, { path: '../outside/evil', content: 'pwned' }]],
          ['an absolute path', [{ path: `/tmp/evil-${process.pid}`, content: 'pwned' }]],
          ['a symlink out, then a file through it', [{ path: 'link', type: 'symlink', target: '../outside' }, { path: 'link/evil', content: 'pwned' }]],
          ['an absolute symlink, then a file through it', [{ path: 'link', type: 'symlink', target: '/tmp' }, { path: 'link/evil', content: 'pwned' }]],
          ['an inside symlink, then a file through it', [{ path: 'sub/', type: 'dir' }, { path: 'link', type: 'symlink', target: 'sub' }, { path: 'link/evil', content: 'x' }]],
        ];
        for (const [label, entries] of malicious) {
          it(`rejects ${label} and writes nothing`, async () => {
            const file = await writeArchive(path.join(work, `m.${suffix}`), entries);
            const err = await extract(file, target).then(() => null, (e: unknown) => e);
            expect(err).to.be.instanceOf(UnsafeArchiveError);
            expect(await fs.readdir(outside)).to.deep.equal([]);
            expect(await fs.stat(`/tmp/evil-${process.pid}`).then(() => true, () => false)).to.equal(false);
            expect(await parentEntries()).to.deep.equal([]);
          });
        }

        it('rejects a truncated archive as corrupt and leaves no target', async () => {
          await randomFile(path.join(work, 'blob'), 200_000);
          const file = await writeArchive(path.join(work, `t.${suffix}`), [{ path: 'big', content: { file: path.join(work, 'blob') } }]);
          const bytes = await fs.readFile(file);
          await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
          const err = await extract(file, target).then(() => null, (e: unknown) => e);
          expect(err).to.be.instanceOf(CorruptArchiveError);
          expect(await parentEntries()).to.deep.equal([]);
        });

        it('rejects input of another format as corrupt', async () => {
          const file = path.join(work, `x.${suffix}`);
          await fs.writeFile(file, 'this is not an archive at all, just some text\n'.repeat(40));
          const err = await extract(file, target).then(() => null, (e: unknown) => e);
          expect(err).to.be.instanceOf(CorruptArchiveError);
        });

        it('rejects an empty archive as corrupt', async () => {
          const file = await writeArchive(path.join(work, `e.${suffix}`), []);
          const err = await extract(file, target).then(() => null, (e: unknown) => e);
          expect(err).to.be.instanceOf(CorruptArchiveError);
          expect((err as Error).message).to.match(/no entries/);
        });

        it('keeps an existing target when extraction fails', async () => {
          await fs.mkdir(target, { recursive: true });
          await fs.writeFile(path.join(target, 'previous'), 'kept');
          const file = await writeArchive(path.join(work, `m.${suffix}`), [{ path: 'a', content: 'x' }, { path: '../outside/evil', content: 'x' }]);
          await expectRejection(extract(file, target), UnsafeArchiveError);
          expect(await listTree(target)).to.deep.equal(['previous']);
        });
      });
    });
  }

  for (const suffix of ['tgz', 'zip']) {
    describe(`#extract .${suffix}: symlinks are contained by what they resolve to`, () => {
      const escapes: Array<[string, EntrySpec[]]> = [
        ['`a/l -> ..` then `w -> a/l/..`', [{ path: 'a/', type: 'dir' }, { path: 'a/l', type: 'symlink', target: '..' }, { path: 'w', type: 'symlink', target: 'a/l/..' }]],
        ['`w -> a/l/..` first, `a/l -> ..` after it', [{ path: 'a/', type: 'dir' }, { path: 'w', type: 'symlink', target: 'a/l/..' }, { path: 'a/l', type: 'symlink', target: '..' }]],
        ['a deeper chain (`a/b/l1 -> ..`, `a/b/l2 -> l1/..`, `w -> a/b/l2/..`)', [
          { path: 'a/b/', type: 'dir' },
          { path: 'a/b/l1', type: 'symlink', target: '..' },
          { path: 'a/b/l2', type: 'symlink', target: 'l1/..' },
          { path: 'w', type: 'symlink', target: 'a/b/l2/..' },
        ]],
        ['the same chain in reverse order', [
          { path: 'a/b/', type: 'dir' },
          { path: 'w', type: 'symlink', target: 'a/b/l2/..' },
          { path: 'a/b/l2', type: 'symlink', target: 'l1/..' },
          { path: 'a/b/l1', type: 'symlink', target: '..' },
        ]],
        ['a link through a sibling link (`s -> a/b`, `t -> s/../../..`)', [{ path: 'a/b/', type: 'dir' }, { path: 's', type: 'symlink', target: 'a/b' }, { path: 't', type: 'symlink', target: 's/../../..' }]],
      ];
      for (const [label, entries] of escapes) {
        it(`refuses ${label} and leaves nothing`, async () => {
          const file = await writeArchive(path.join(work, `c.${suffix}`), [{ path: 'ok', content: 'x' }, ...entries]);
          await expectRejection(extract(file, target), UnsafeArchiveError, /resolves outside the target directory/);
          expect(await parentEntries()).to.deep.equal([]);
          expect(await fs.readdir(outside)).to.deep.equal([]);
        });
      }

      it('refuses a symlink loop', async () => {
        const file = await writeArchive(path.join(work, `loop.${suffix}`), [{ path: 'x', type: 'symlink', target: 'y' }, { path: 'y', type: 'symlink', target: 'x/z' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError, /symlinks to follow/);
      });

      it('keeps chains that resolve inside (`a/l -> ..`, `w -> a/l/a/f`)', async () => {
        const file = await writeArchive(path.join(work, `in.${suffix}`), [
          { path: 'a/f', content: 'inside' },
          { path: 'a/l', type: 'symlink', target: '..' },
          { path: 'w', type: 'symlink', target: 'a/l/a/f' },
        ]);
        await extract(file, target);
        expect(await fs.readFile(path.join(target, 'w'), 'utf8')).to.equal('inside');
      });
    });
  }

  describe('#extract: names that are not UTF-8', () => {
    const raw = (...bytes: number[]): Buffer => Buffer.from([0x6e, ...bytes]); // "n" + bytes
    async function rawNames(): Promise<string[]> {
      return (await fs.readdir(target, { encoding: 'buffer' })).map((b) => b.toString('hex')).sort();
    }

    it('keeps two different non-UTF-8 tar names apart, byte for byte (short and long names)', async () => {
      const long = Buffer.concat([Buffer.from('d'.repeat(120)), Buffer.from([0xe9])]);
      const entry = (name: Buffer, content: string): Buffer[] => {
        const h = tarHeader({ name: 'placeholder', type: '0', size: content.length });
        h.fill(0, 0, 100);
        name.subarray(0, 100).copy(h, 0);
        rechecksum(h);
        return [h, Buffer.from(content), Buffer.alloc(512 - content.length)];
      };
      const longEntry = (name: Buffer, content: string): Buffer[] => {
        const body = Buffer.concat([name, Buffer.alloc(1)]);
        const lh = tarHeader({ name: '././@LongLink', type: 'L', size: body.length });
        return [lh, body, Buffer.alloc((512 - (body.length % 512)) % 512), ...entry(name.subarray(0, 100), content)];
      };
      const bytes = Buffer.concat([...entry(raw(0xff), 'ff'), ...entry(raw(0xfe), 'fe'), ...longEntry(long, 'long'), Buffer.alloc(1024)]);
      const file = path.join(work, 'raw.tgz');
      await fs.writeFile(file, (await import('node:zlib')).gzipSync(bytes));
      await extract(file, target);
      expect(await rawNames()).to.deep.equal([long.toString('hex'), raw(0xfe).toString('hex'), raw(0xff).toString('hex')].sort());
      expect(await fs.readFile(Buffer.concat([Buffer.from(`${target}/`), raw(0xff)]), 'utf8')).to.equal('ff');
      expect(await fs.readFile(Buffer.concat([Buffer.from(`${target}/`), raw(0xfe)]), 'utf8')).to.equal('fe');
    });

    it('keeps two different non-UTF-8 zip names apart, byte for byte', async () => {
      const file = await writeZip(path.join(work, 'raw.zip'), [{ path: 'nQ1', content: 'ff' }, { path: 'nQ2', content: 'fe' }]);
      let zip = await fs.readFile(file);
      // yazl writes ASCII names without the UTF-8 flag: swap in raw bytes of the same length
      for (const [from, to] of [['nQ1', raw(0xff, 0x31)], ['nQ2', raw(0xfe, 0x32)]] as const) {
        for (let at = zip.indexOf(from); at !== -1; at = zip.indexOf(from, at + 1)) to.copy(zip, at);
      }
      await fs.writeFile(file, zip);
      zip = Buffer.alloc(0);
      await extract(file, target);
      expect(await rawNames()).to.deep.equal([raw(0xfe, 0x32).toString('hex'), raw(0xff, 0x31).toString('hex')]);
    });
  });

  describe('#extract from a stream that fails at once', () => {
    for (const kind of ['zip', 'file'] as const) {
      it(`leaves nothing beside the target for a ${kind} (50 times: the write may still be opening)`, async () => {
        for (let i = 0; i < 50; i++) {
          const failing = new Readable({ read() { this.destroy(new Error('socket hang up')); } });
          await expectRejection(extract(failing, target, { kind, name: 'tool' }), Error, 'socket hang up');
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await parentEntries()).to.deep.equal([]);
      });
    }
  });

  describe('#extract: what an archive may expand to', () => {
    it('refuses a .tgz whose entries expand past the limit, naming the limit and the archive', async () => {
      const file = await writeTgz(path.join(work, 'big.tgz'), [{ path: 'a', content: Buffer.alloc(3 * 1024 * 1024) }, { path: 'b', content: Buffer.alloc(3 * 1024 * 1024) }]);
      const err = await expectRejection(extract(file, target, { maxBytes: 5 * 1024 * 1024 }), ArchiveTooLargeError, /big\.tgz expands to more than 5 MiB \(5242880 bytes\).*SIDECAR_BUILDPACK_MAX_UNPACKED_MB/);
      expect(err.code).to.equal('ARCHIVE_TOO_LARGE');
      expect(await parentEntries()).to.deep.equal([]);
    });

    it('refuses a zip whose entries declare more than the limit before writing any', async () => {
      const file = await writeZip(path.join(work, 'big.zip'), [{ path: 'a', content: Buffer.alloc(3 * 1024 * 1024) }, { path: 'b', content: Buffer.alloc(3 * 1024 * 1024) }]);
      await expectRejection(extract(file, target, { maxBytes: 5 * 1024 * 1024 }), ArchiveTooLargeError, /big\.zip expands to more than 5 MiB/);
      expect(await parentEntries()).to.deep.equal([]);
    });

    it('refuses a single file past the limit', async () => {
      const src = path.join(work, 'tool-linux-amd64');
      await fs.writeFile(src, Buffer.alloc(2 * 1024 * 1024));
      await expectRejection(extract(src, target, { maxBytes: 1024 * 1024 }), ArchiveTooLargeError, /tool-linux-amd64/);
      expect(await parentEntries()).to.deep.equal([]);
    });

    it('installs what fits exactly', async () => {
      const file = await writeTgz(path.join(work, 'fit.tgz'), [{ path: 'a', content: Buffer.alloc(1024 * 1024) }]);
      await extract(file, target, { maxBytes: 1024 * 1024 });
      expect((await fs.stat(path.join(target, 'a'))).size).to.equal(1024 * 1024);
    });

    it('refuses a zip whose entries overlap (a zip bomb) without writing anything', async () => {
      const file = path.join(work, 'bomb.zip');
      await fs.writeFile(file, overlappingZip(Buffer.alloc(1024 * 1024), 50));
      await expectRejection(extract(file, target), UnsafeArchiveError, /overlaps another entry/);
      expect(await parentEntries()).to.deep.equal([]);
    });
  });

  describe('#extract tar specifics', () => {
    it('handles pax and GNU long names (longer than 100 bytes)', async () => {
      const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file-${'f'.repeat(40)}`;
      for (const longNames of ['pax', 'gnu'] as const) {
        const file = await writeTgz(path.join(work, `${longNames}.tgz`), [{ path: long, content: 'deep' }, { path: 'l', type: 'symlink', target: long }], { longNames });
        await extract(file, target);
        expect(await fs.readFile(path.join(target, long), 'utf8')).to.equal('deep');
        expect(await fs.readFile(path.join(target, 'l'), 'utf8')).to.equal('deep');
      }
    });

    it('extracts hardlinks inside the archive', async () => {
      const file = await writeTgz(path.join(work, 'h.tgz'), [{ path: 'a', content: 'same' }, { path: 'b', type: 'hardlink', target: 'a' }]);
      await extract(file, target);
      const [a, b] = await Promise.all([fs.stat(path.join(target, 'a')), fs.stat(path.join(target, 'b'))]);
      expect(a.ino).to.equal(b.ino);
    });

    it('lets a later entry replace an earlier file or link of the same name, as tar does', async () => {
      const file = await writeTgz(path.join(work, 'dup.tgz'), [
        { path: 'a', content: 'first' },
        { path: 'b', content: 'keep' },
        { path: 'h', type: 'hardlink', target: 'a' },
        { path: 'a', content: 'second' },
        { path: 'l', type: 'symlink', target: 'b' },
        { path: 'l', type: 'symlink', target: 'a' },
      ]);
      // a symlink named twice is refused by the guard (nothing is written through or over a link)
      await expectRejection(extract(file, target), UnsafeArchiveError, /symlink "l"/);
      const ok = await writeTgz(path.join(work, 'dup2.tgz'), [
        { path: 'a', content: 'first' },
        { path: 'h', type: 'hardlink', target: 'a' },
        { path: 'a', content: 'second' },
        { path: 'b', type: 'symlink', target: 'a' },
      ]);
      await extract(ok, target);
      expect(await fs.readFile(path.join(target, 'a'), 'utf8')).to.equal('second');
      expect(await fs.readFile(path.join(target, 'h'), 'utf8')).to.equal('first');
      expect(await fs.readlink(path.join(target, 'b'))).to.equal('a');
    });

    it('restores file mtimes', async () => {
      const file = await writeTgz(path.join(work, 'mt.tgz'), [{ path: 'a', content: 'x' }]);
      await extract(file, target);
      expect((await fs.stat(path.join(target, 'a'))).mtimeMs).to.equal(1700000000 * 1000);
    });

    context('when names clash', () => {
      const cases: Array<[string, EntrySpec[], RegExp]> = [
        ['a file, then a directory of the same name', [{ path: 'x', content: 'f' }, { path: 'x/', type: 'dir' }], /"x" is both a file and a directory/],
        ['a file, then an entry below it', [{ path: 'x', content: 'f' }, { path: 'x/y', content: 'below' }], /"x" is both a file and a directory/],
        ['a directory, then a file of the same name', [{ path: 'x/y', content: 'below' }, { path: 'x', content: 'f' }], /"x" is both a file and a directory/],
        ['a hardlink to a file that comes later', [{ path: 'h', type: 'hardlink', target: 'later' }, { path: 'later', content: 'x' }], /hardlink "h" to "later", which is not in the archive before it/],
        ['a hardlink to a directory', [{ path: 'd/', type: 'dir' }, { path: 'h', type: 'hardlink', target: 'd' }], /hardlink "h" to "d", a directory/],
      ];
      for (const [label, entries, pattern] of cases) {
        it(`refuses ${label} as corrupt`, async () => {
          const file = await writeTgz(path.join(work, 'clash.tgz'), entries);
          await expectRejection(extract(file, target), CorruptArchiveError, pattern);
          expect(await parentEntries()).to.deep.equal([]);
        });
      }
    });

    it('skips device nodes and fifos', async () => {
      const file = await writeTgz(path.join(work, 'dev.tgz'), [
        { path: 'null', type: 'chardev' },
        { path: 'disk', type: 'blockdev' },
        { path: 'pipe', type: 'fifo' },
        { path: 'real', content: 'x' },
      ]);
      await extract(file, target);
      expect(await listTree(target)).to.deep.equal(['real']);
    });

    it('accepts an archive without end-of-archive blocks', async () => {
      const file = await writeTgz(path.join(work, 'ne.tgz'), { a: 'x' }, { noEndBlocks: true });
      await extract(file, target);
      expect(await listTree(target)).to.deep.equal(['a']);
    });

    it('extracts an archive of 10 000 entries', async () => {
      const entries: EntrySpec[] = [];
      for (let i = 0; i < 10_000; i++) entries.push({ path: `d${i % 50}/f${i}`, content: String(i) });
      const file = await writeTgz(path.join(work, 'many.tgz'), entries);
      await extract(file, target);
      expect(await listTree(target)).to.have.length(10_050);
      expect(await fs.readFile(path.join(target, 'd49/f9999'), 'utf8')).to.equal('9999');
    });

    it('extracts from a stream and verifies large content byte for byte', async () => {
      const blob = path.join(work, 'blob');
      const digest = await randomFile(blob, 3 * 1024 * 1024 + 7);
      const file = await writeTgz(path.join(work, 'big.tgz'), [{ path: 'pkg/blob', content: { file: blob } }]);
      await extract(createReadStream(file), target, { name: 'big.tgz', stripComponents: 1 });
      expect(await sha256File(path.join(target, 'blob'))).to.equal(digest);
    });

    context('failure cases', () => {
      it('rejects a hardlink to a file outside', async () => {
        const file = await writeTgz(path.join(work, 'hl.tgz'), [{ path: 'x', type: 'hardlink', target: '../outside/secret' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError, /\.\./);
      });

      it('rejects a hardlink to an absolute path', async () => {
        const file = await writeTgz(path.join(work, 'hl.tgz'), [{ path: 'x', type: 'hardlink', target: '/etc/passwd' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError, /absolute/);
        expect(await parentEntries()).to.deep.equal([]);
      });

      it('rejects a hardlink through a symlink of the archive', async () => {
        const file = await writeTgz(path.join(work, 'hl.tgz'), [{ path: 'd/', type: 'dir' }, { path: 's', type: 'symlink', target: 'd' }, { path: 'x', type: 'hardlink', target: 's/f' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError, /through/);
      });

      it('rejects a ../ name hidden in a pax record', async () => {
        const long = `${'a'.repeat(120)}/../../../outside/evil`;
        const file = await writeTgz(path.join(work, 'p.tgz'), [{ path: long, content: 'x' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError);
        expect(await fs.readdir(outside)).to.deep.equal([]);
      });

      it('rejects a header with a bad checksum', async () => {
        const tar = await tarBuffer({ a: 'x' });
        tar[0] = 'b'.charCodeAt(0);
        const file = path.join(work, 'c.tgz');
        await fs.writeFile(file, (await import('node:zlib')).gzipSync(tar));
        await expectRejection(extract(file, target), CorruptArchiveError, /checksum/);
      });

      it('rejects unsupported entry types (sparse files)', async () => {
        const tar = Buffer.concat([tarHeader({ name: 'sparse', type: 'S' }), Buffer.alloc(1024)]);
        const file = path.join(work, 's.tgz');
        await fs.writeFile(file, (await import('node:zlib')).gzipSync(tar));
        await expectRejection(extract(file, target), CorruptArchiveError, /unsupported entry type/);
      });

      it('rejects an archive whose entries are all stripped away', async () => {
        const file = await writeTgz(path.join(work, 'st.tgz'), { top: 'x' });
        await expectRejection(extract(file, target, { stripComponents: 1 }), CorruptArchiveError, /no entries/);
      });

      it('rejects a truncated gzip stream', async () => {
        const gz = await tgzBuffer({ a: 'x'.repeat(10000) });
        const file = path.join(work, 'tr.tgz');
        await fs.writeFile(file, gz.subarray(0, gz.length - 10));
        await expectRejection(extract(file, target), CorruptArchiveError);
      });
    });
  });

  describe('#extract: the tar filter\'s guards', () => {
    const gz = async (...parts: Buffer[]): Promise<string> => {
      const file = path.join(work, `g${Math.random().toString(36).slice(2)}.tgz`);
      await fs.writeFile(file, (await import('node:zlib')).gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)])));
      return file;
    };
    const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const pax = (body: Buffer): Buffer[] => [tarHeader({ name: 'PaxHeader', type: 'x', size: body.length }), padded(body)];
    const file = (name: string, content: string, header: { size?: number } = {}): Buffer[] => [tarHeader({ name, type: '0', size: header.size ?? content.length }), padded(Buffer.from(content))];

    it('accepts a metadata record of exactly 1 MiB and refuses one byte more', async () => {
      const record = (total: number): Buffer => {
        const head = `${total} comment=`;
        return Buffer.from(`${head}${'c'.repeat(total - head.length - 1)}\n`);
      };
      const ok = record(1024 * 1024);
      expect(ok.length).to.equal(1024 * 1024);
      await extract(await gz(...pax(ok), ...file('a', 'x')), target);
      expect(await listTree(target)).to.deep.equal(['a']);
      const tooBig = await gz(tarHeader({ name: 'PaxHeader', type: 'x', size: 1024 * 1024 + 1 }), Buffer.alloc(1024 * 1024 + 512));
      await expectRejection(extract(tooBig, target), CorruptArchiveError, 'metadata record of 1048577 bytes');
    });

    it('refuses a zero-length pax record (instead of looping on it)', async () => {
      await expectRejection(extract(await gz(...pax(Buffer.from('0 path=x\n')), ...file('a', 'x')), target), CorruptArchiveError, 'bad pax record');
    });

    it('takes an entry\'s size from its pax `size` record', async () => {
      await extract(await gz(...pax(Buffer.from('11 size=11\n')), tarHeader({ name: 'a', type: '0', size: 0 }), padded(Buffer.from('hello world')), ...file('b', 'next')), target);
      expect(await fs.readFile(path.join(target, 'a'), 'utf8')).to.equal('hello world');
      expect(await fs.readFile(path.join(target, 'b'), 'utf8')).to.equal('next');
    });

    it('refuses a pax `size` record that is not a number', async () => {
      await expectRejection(extract(await gz(...pax(Buffer.from('11 size=1x\n')), ...file('a', 'x')), target), CorruptArchiveError, 'bad pax size');
    });

    it('reads a base-256 size, and refuses a negative one', async () => {
      const h = tarHeader({ name: 'a', type: '0', size: 0 });
      h.fill(0, 124, 136);
      h[124] = 0x80;
      h[135] = 5;
      rechecksum(h);
      await extract(await gz(h, padded(Buffer.from('12345'))), target);
      expect(await fs.readFile(path.join(target, 'a'), 'utf8')).to.equal('12345');
      const neg = Buffer.from(h);
      neg[124] = 0xff;
      rechecksum(neg);
      await expectRejection(extract(await gz(neg, padded(Buffer.from('12345'))), target), CorruptArchiveError, 'bad size in header of "a"');
    });

    it('refuses a hardlink whose target is stripped away', async () => {
      const archive = await gz(...file('top', 'x'), tarHeader({ name: 'pkg/h', type: '1', link: 'top' }));
      await expectRejection(extract(archive, target, { stripComponents: 1 }), UnsafeArchiveError, 'hardlink target "top" is stripped away');
      expect(await parentEntries()).to.deep.equal([]);
    });
  });

  describe('#extract zip specifics', () => {
    context('failure cases', () => {
      for (const [label, entries] of [
        ['a file, then a directory of the same name', [{ path: 'x', content: 'file' }, { path: 'x/', type: 'dir' }]],
        ['a file, then an entry below it', [{ path: 'x', content: 'file' }, { path: 'x/y', content: 'below' }]],
        ['a directory, then a file of the same name', [{ path: 'x/y', content: 'below' }, { path: 'x', content: 'file' }]],
      ] as Array<[string, EntrySpec[]]>) {
        it(`refuses ${label} as corrupt, naming it`, async () => {
          const file = await writeZip(path.join(work, 'fd.zip'), entries);
          await expectRejection(extract(file, target), CorruptArchiveError, 'corrupt archive fd.zip: "x" is both a file and a directory');
          expect(await parentEntries()).to.deep.equal([]);
        });
      }

      it('rejects a zip symlink pointing outside', async () => {
        const file = await writeZip(path.join(work, 'l.zip'), [{ path: 'l', type: 'symlink', target: '../../etc' }]);
        await expectRejection(extract(file, target), UnsafeArchiveError, /outside/);
        expect(await parentEntries()).to.deep.equal([]);
      });
    });
  });

  describe('#extract single files', () => {
    it('installs a .sh file as an executable script', async () => {
      const src = path.join(work, 'install.sh');
      await fs.writeFile(src, '#!/bin/sh\n', { mode: 0o600 });
      await extract(src, target);
      expect((await fs.stat(path.join(target, 'install.sh'))).mode & 0o777).to.equal(0o755);
    });

    it('installs any other file as an executable named by its basename', async () => {
      const src = path.join(work, 'tool-linux-amd64');
      await fs.writeFile(src, 'ELF...');
      await extract(createReadStream(src), target, { name: 'tool-linux-amd64' });
      expect(await listTree(target)).to.deep.equal(['tool-linux-amd64']);
      expect((await fs.stat(path.join(target, 'tool-linux-amd64'))).mode & 0o777).to.equal(0o755);
    });

    context('failure cases', () => {
      it('refuses a name that is not a plain file name', async () => {
        const src = path.join(work, 'x');
        await fs.writeFile(src, 'x');
        await expectRejection(extract(src, target, { name: '..' }), UnsafeArchiveError);
      });
    });
  });
});

/** Fix a ustar header's checksum after editing it. */
function rechecksum(h: Buffer): void {
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
