// Issue 12 §4: the staging refusal of sidecars that leave web no memory names every number.

import { expect } from 'chai';
import { SidecarMemoryError } from '../../src/errors.js';
import { checkSidecarMemory, memorySource, parseMemoryLimit } from '../../src/sidecar/memory.js';
import { expectThrow } from '../helpers/assert.js';
import { sidecarSpec } from '../helpers/sidecar-spec.js';

describe('sidecar memory at staging', () => {
  describe('#parseMemoryLimit', () => {
    const cases: [string | undefined, number | undefined][] = [['1024m', 1024], ['2G', 2048], ['512', 512], ['1024MB', 1024], ['', undefined], [undefined, undefined], ['lots', undefined]];
    for (const [text, mb] of cases) it(`reads ${JSON.stringify(text)} as ${mb}`, () => expect(parseMemoryLimit(text)).to.equal(mb));
  });

  describe('#memorySource', () => {
    it('names the override variable when the app set it, else the manifest key', () => {
      const s = sidecarSpec({ memory: 64 });
      expect(memorySource(s, { CONFIG_SERVER_MEMORY: '5000' }, 'manifest.yml sidecars[0]')).to.equal('CONFIG_SERVER_MEMORY');
      expect(memorySource(s, { CONFIG_SERVER_MEMORY: ' ' }, 'manifest.yml sidecars[0]')).to.equal('manifest.yml sidecars[0].memory');
    });
  });

  describe('#checkSidecarMemory', () => {
    it('accepts sidecars below web\'s memory, no limit, and sidecars not for web', () => {
      checkSidecarMemory([{ spec: sidecarSpec({ memory: 1023 }), source: 'x' }], '1024m');
      checkSidecarMemory([{ spec: sidecarSpec({ memory: 5000 }), source: 'x' }], undefined);
      checkSidecarMemory([{ spec: sidecarSpec({ memory: 5000, process_types: ['worker'] }), source: 'x' }], '1024m');
      checkSidecarMemory([{ spec: sidecarSpec(), source: 'x' }], '1m');
    });

    context('failure cases', () => {
      it('shows the numbers and where they came from', () => {
        const e = expectThrow(() => checkSidecarMemory([{ spec: sidecarSpec({ memory: 5000 }), source: 'CONFIG_SERVER_MEMORY' }], '2048m'), SidecarMemoryError);
        expect(e.message).to.equal("config-server 5000 MB (CONFIG_SERVER_MEMORY) is not below web's 2048 MB: lower CONFIG_SERVER_MEMORY or give web more memory");
      });
      it('says the figure is an upper bound at the minimum staging memory (web may have less)', () => {
        const e = expectThrow(() => checkSidecarMemory([{ spec: sidecarSpec({ memory: 5000 }), source: 'CONFIG_SERVER_MEMORY' }], '1024m'), SidecarMemoryError);
        expect(e.message).to.equal(
          "config-server 5000 MB (CONFIG_SERVER_MEMORY) is not below web's 1024 MB (the staging memory: web has at most 1024 MB): lower CONFIG_SERVER_MEMORY or give web more memory",
        );
      });
      it('adds up the sidecars of web', () => {
        const e = expectThrow(
          () =>
            checkSidecarMemory(
              [
                { spec: sidecarSpec({ memory: 600 }), source: 'manifest.yml sidecars[0].memory' },
                { spec: sidecarSpec({ name: 'agent', memory: 424 }), source: 'AGENT_MEMORY' },
              ],
              '1024m',
            ),
          SidecarMemoryError,
        );
        expect(e.message).to.equal(
          "the sidecars of web, config-server 600 MB (manifest.yml sidecars[0].memory) + agent 424 MB (AGENT_MEMORY) = 1024 MB, are not below web's 1024 MB (the staging memory: web has at most 1024 MB): lower manifest.yml sidecars[0].memory or AGENT_MEMORY or give web more memory",
        );
      });
    });
  });
});
