import { expect } from 'chai';
import { progressFor, ttyProgress } from '../../src/cli/progress.js';
import type { PackageEvent } from '../../src/packager/events.js';

const REF = { name: 'agent', version: '1.0.0', uri: 'https://h.example/agent.tgz' };
const TOTAL = 1_000_000;

/** A TTY-like stream recording each write. */
function terminal(): { stream: { write: (s: string) => void; isTTY: boolean; columns: number }; writes: string[] } {
  const writes: string[] = [];
  return { stream: { write: (s: string) => void writes.push(s), isTTY: true, columns: 80 }, writes };
}

/** A download of TOTAL bytes reported in `chunks` progress events. */
function download(chunks: number): PackageEvent[] {
  const events: PackageEvent[] = [{ type: 'download-start', ...REF }];
  for (let i = 1; i <= chunks; i++) events.push({ type: 'download-progress', ...REF, received: Math.round((TOTAL * i) / chunks), total: TOTAL });
  events.push({ type: 'dependency-ready', ...REF, source: 'download', bytes: TOTAL });
  return events;
}

describe('progress', () => {
  describe('ttyProgress', () => {
    it('redraws at most once per interval however many chunks arrive, and always draws the end', () => {
      const { stream, writes } = terminal();
      const clock = 1000;
      const render = ttyProgress(stream, { now: () => clock, redrawMs: 100 });
      for (const e of download(5000)) render(e);
      // the start, the completed transfer and the ready line: not one write per chunk
      expect(writes).to.have.length(3);
      expect(writes.at(-1)).to.include('downloaded agent 1.0.0 (976.6 KB)');
      expect(writes.some((w) => w.includes('100% 976.6 KB/976.6 KB'))).to.equal(true);
    });

    it('redraws again once the interval has passed', () => {
      const { stream, writes } = terminal();
      let clock = 0;
      const render = ttyProgress(stream, { now: () => clock, redrawMs: 100 });
      render({ type: 'download-start', ...REF });
      for (const received of [100, 200, 300]) {
        clock += 100;
        render({ type: 'download-progress', ...REF, received, total: TOTAL });
      }
      clock += 50;
      render({ type: 'download-progress', ...REF, received: 400, total: TOTAL });
      expect(writes).to.have.length(4);
      expect(writes.at(-1)).to.include('300 B/976.6 KB');
    });

    it('draws an unknown-size download throttled too', () => {
      const { stream, writes } = terminal();
      const render = ttyProgress(stream, { now: () => 0, redrawMs: 100 });
      render({ type: 'download-start', ...REF });
      for (let i = 1; i <= 1000; i++) render({ type: 'download-progress', ...REF, received: i * 10, total: undefined });
      expect(writes).to.have.length(1);
    });
  });

  describe('progressFor', () => {
    const events = download(10);
    const rendered = (env: Record<string, string | undefined>, isTTY = true): string => {
      const { stream, writes } = terminal();
      stream.isTTY = isTTY;
      const render = progressFor(stream, env);
      for (const e of events) render(e);
      return writes.join('');
    };

    it('draws bars on a terminal', () => {
      expect(rendered({})).to.include('\x1b[');
      expect(rendered({ NO_COLOR: '' }), 'an empty NO_COLOR does not count').to.include('\x1b[');
    });

    it('honours NO_COLOR and TERM=dumb: plain lines, no escape sequence', () => {
      for (const env of [{ NO_COLOR: '1' }, { NO_COLOR: 'true' }, { TERM: 'dumb' }]) {
        const text = rendered(env);
        expect(text, JSON.stringify(env)).to.not.include('\x1b');
        expect(text).to.equal('downloaded agent 1.0.0 (976.6 KB)\n');
      }
    });

    it('writes plain lines when not a terminal', () => {
      expect(rendered({}, false)).to.equal('downloaded agent 1.0.0 (976.6 KB)\n');
    });
  });

  describe('a retried download', () => {
    it('names the uri, so the entries of one version for two stacks read apart', () => {
      const { stream, writes } = terminal();
      stream.isTTY = false;
      const render = progressFor(stream, {});
      for (const stack of ['cflinuxfs4', 'cflinuxfs5']) {
        render({ type: 'download-retry', name: 'node', version: '22.1.0', uri: `https://h.example/node_22.1.0_${stack}.tgz`, attempt: 2, reason: 'getaddrinfo ENOTFOUND h.example' });
      }
      expect(writes).to.deep.equal([
        'retrying node 22.1.0 from https://h.example/node_22.1.0_cflinuxfs4.tgz (attempt 2): getaddrinfo ENOTFOUND h.example\n',
        'retrying node 22.1.0 from https://h.example/node_22.1.0_cflinuxfs5.tgz (attempt 2): getaddrinfo ENOTFOUND h.example\n',
      ]);
    });
  });

  describe('the staging runtime lines', () => {
    const plain = (e: PackageEvent): string => {
      const { stream, writes } = terminal();
      stream.isTTY = false;
      progressFor(stream, {})(e);
      return writes.join('');
    };
    it('says how much stripping saved, or why the binary is carried as archived', () => {
      expect(plain({ type: 'runtime-binary', file: 'dependencies/x/bin/node', bytes: 86_348_496, archivedBytes: 98_932_688 })).to.equal('stripped the staging runtime dependencies/x/bin/node of symbols and debug info: 94.3 MB -> 82.3 MB\n');
      expect(plain({ type: 'runtime-binary', file: 'dependencies/x/bin/node', bytes: 1024, archivedBytes: 1024, unstripped: 'there is no strip (binutils) on PATH' })).to.equal(
        'the staging runtime dependencies/x/bin/node is carried as archived, 1.0 KB (not stripped: there is no strip (binutils) on PATH)\n',
      );
    });
  });
});
