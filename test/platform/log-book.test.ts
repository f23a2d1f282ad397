// The deployment log (issue 13 item 10): bounded memory whatever a process prints, a line
// splitter linear in its input, lines split as the platform splits them.

import { expect } from 'chai';
import { LogBook, MAX_LINE } from '../../src/platform/local/log-book.js';

describe('LogBook', function () {
  this.timeout(30000);
  describe('#writer', () => {
    it('tags each line, joins lines split across chunks and keeps multi-byte characters whole', () => {
      const log = new LogBook();
      const w = log.writer('APP/PROC/WEB/0', 'OUT');
      const snow = Buffer.from('☃');
      w.write('hel');
      w.write(Buffer.concat([Buffer.from('lo '), snow.subarray(0, 1)]));
      w.write(Buffer.concat([snow.subarray(1), Buffer.from('\r\nsecond\nthird')]));
      w.end();
      expect(log.text()).to.equal('[APP/PROC/WEB/0] OUT hello ☃\n[APP/PROC/WEB/0] OUT second\n[APP/PROC/WEB/0] OUT third\n');
    });

    it(`cuts a line without newline every ${MAX_LINE} characters, so 50 MiB in one line is bounded and linear`, () => {
      const log = new LogBook();
      const seen: number[] = [];
      log.onLine((l) => seen.push(l.length));
      const w = log.writer('T', 'OUT');
      const chunk = Buffer.alloc(64 * 1024, 'a');
      // 50 MiB through the splitter: quadratic re-scanning (the old `pending += chunk; split`) takes minutes
      for (let i = 0; i < 800; i++) w.write(chunk);
      w.end();
      const prefix = '[T] OUT '.length;
      expect(seen.length).to.equal(Math.ceil((800 * 64 * 1024) / MAX_LINE));
      expect(Math.max(...seen)).to.equal(MAX_LINE + prefix);
      expect(seen.reduce((a, b) => a + b - prefix, 0)).to.equal(800 * 64 * 1024);
    });
  });

  describe('retention', () => {
    it('keeps only the most recent characters, says how many lines were dropped, and gives listeners every line', () => {
      const log = new LogBook(10_000);
      let heard = 0;
      log.onLine(() => heard++);
      const w = log.writer('S', 'OUT');
      // 100 MiB of 100-byte lines
      const block = Buffer.from(`${'x'.repeat(99)}\n`.repeat(10_000));
      for (let i = 0; i < 105; i++) w.write(block);
      expect(heard).to.equal(1_050_000);
      expect(log.length).to.equal(1_050_000);
      const text = log.text();
      expect(text.length).to.be.lessThan(10_200);
      const [first, ...rest] = text.trimEnd().split('\n');
      expect(first).to.match(/^\[CELL\/0\] ERR \.\.\. (\d+) earlier log line\(s\) dropped/);
      expect(Number(/(\d+) earlier/.exec(first)?.[1]) + rest.length).to.equal(1_050_000);
      expect(rest.every((l) => l === `[S] OUT ${'x'.repeat(99)}`)).to.equal(true);
    });

    it('answers since(n) with the lines from n on, marking those already dropped', () => {
      const log = new LogBook(50);
      for (let i = 0; i < 10; i++) log.add('A', 'OUT', `line ${i}`);
      expect(log.since(8)).to.equal('[A] OUT line 8\n[A] OUT line 9\n');
      expect(log.since(0)).to.match(/^\[CELL\/0\] ERR \.\.\. 7 earlier log line\(s\) dropped .*\n\[A\] OUT line 7\n/);
    });
  });
});
