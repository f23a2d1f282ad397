// fdSink: staging output written straight to a descriptor (src/log/fd-sink.ts), through real
// files, FIFOs and processes.

import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fdSink } from '../../src/log/fd-sink.js';
import { useTmpDirs } from '../helpers/tmp.js';

describe('fdSink', () => {
  const tmpDir = useTmpDirs('fd-sink-');

  async function fifo(): Promise<string> {
    const file = path.join(await tmpDir(), 'fifo');
    expect(spawnSync('mkfifo', [file]).status).to.equal(0);
    return file;
  }

  it('writes each chunk whole, in order', async () => {
    const file = path.join(await tmpDir(), 'out');
    const fd = openSync(file, 'w');
    const sink = fdSink(fd);
    expect(sink.write('-----> one\n')).to.equal(true);
    sink.write(`${'é'.repeat(100_000)}\n`);
    closeSync(fd);
    expect(await fs.readFile(file, 'utf8')).to.equal(`-----> one\n${'é'.repeat(100_000)}\n`);
  });

  it('drops what is written once the reader of its pipe went away (EPIPE), and throws nothing', async () => {
    const f = await fifo();
    const reader = openSync(f, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(f, constants.O_WRONLY);
    closeSync(reader);
    const sink = fdSink(fd);
    expect(sink.write('lost\n')).to.equal(false);
    expect(sink.write('lost too\n')).to.equal(false);
    closeSync(fd);
  });

  it('drops what is written to a descriptor that is not open (EBADF)', async () => {
    const fd = openSync(path.join(await tmpDir(), 'x'), 'w');
    closeSync(fd);
    expect(fdSink(fd).write('nowhere\n')).to.equal(false);
  });

  it('waits for a full non-blocking pipe (EAGAIN) and writes all of it', async () => {
    const f = await fifo();
    const out = path.join(path.dirname(f), 'read');
    const cat = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', f, out]);
    const exited = new Promise<number | null>((resolve) => cat.on('exit', resolve));
    let fd: number | undefined;
    // a non-blocking writer opens once cat has the FIFO open for reading (ENXIO until then)
    for (let i = 0; fd === undefined; i++) {
      try {
        fd = openSync(f, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || i > 2000) throw e;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const text = `${'0123456789abcdef'.repeat(256 * 1024)}\n`; // 4 MiB: many times a pipe's buffer
    try {
      expect(fdSink(fd).write(text)).to.equal(true);
    } finally {
      closeSync(fd); // cat sees the end either way
    }
    expect(await exited).to.equal(0);
    expect(await fs.readFile(out, 'utf8')).to.equal(text);
  });

  describe('survivingStdio', () => {
    // a child that writes to process.stdout (as a library's debug output would) after its reader went away
    const child = (guard: boolean) => {
      const src = path.resolve('src/log/fd-sink.ts');
      const code = `const m = await import(${JSON.stringify(src)}); ${guard ? 'm.survivingStdio();' : ''}
        await new Promise((r) => setTimeout(r, 200));
        for (let i = 0; i < 50; i++) { process.stdout.write('x'.repeat(65536)); await new Promise((r) => setTimeout(r, 2)); }
        process.exitCode = 3;`;
      const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout.destroy();
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      return new Promise<{ code: number | null; err: string }>((resolve) => c.on('exit', (code) => resolve({ code, err })));
    };
    it("keeps a process whose stdout reader went away alive through later writes to process.stdout (EPIPE ignored)", async function () {
      this.timeout(20000);
      const guarded = await child(true);
      expect(guarded.code, guarded.err).to.equal(3);
      const bare = await child(false);
      expect(bare.code, 'without it, the EPIPE is an uncaught error').to.not.equal(3);
    });
  });
});
