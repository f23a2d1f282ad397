// Cloud Controller's sidecar rules, with the platform's messages (CONTRACT §3).

import { expect } from 'chai';
import { applyUserSidecars, processMemoryMap, syncDropletSidecars } from '../../src/platform/local/sidecar-rules.js';

const mem = processMemoryMap(['web', 'worker'], 256);

describe('sidecar rules', () => {
  describe('#applyUserSidecars', () => {
    context('when the sidecars fit in the process memory', () => {
      it('returns them with origin user', () => {
        const r = applyUserSidecars([{ name: 'cs', command: './cs', process_types: ['web'], memory: 64 }], mem);
        expect(r).to.deep.equal({ ok: true, sidecars: [{ name: 'cs', command: './cs', process_types: ['web'], memory: 64, origin: 'user' }] });
      });
    });
  });

  describe('#syncDropletSidecars', () => {
    context('when the droplet declares sidecars', () => {
      it('replaces the previous buildpack sidecars and keeps the user ones', () => {
        const current = [
          { name: 'u', command: 'x', process_types: ['web'], origin: 'user' as const },
          { name: 'old', command: 'y', process_types: ['web'], origin: 'buildpack' as const },
        ];
        const r = syncDropletSidecars(current, [{ name: 'new', command: 'z', process_types: ['web'], memory: 10 }], mem);
        expect(r.ok && r.sidecars.map((s) => `${s.name}:${s.origin}`)).to.deep.equal(['u:user', 'new:buildpack']);
      });
    });
    context('when the droplet declares none', () => {
      it('leaves only the user sidecars', () => {
        const r = syncDropletSidecars([{ name: 'old', command: 'y', process_types: ['web'], origin: 'buildpack' }], null, mem);
        expect(r).to.deep.equal({ ok: true, sidecars: [] });
      });
    });
  });

  context('failure cases', () => {
    it('refuses a buildpack sidecar named like a user sidecar', () => {
      const user = applyUserSidecars([{ name: 'config-server', command: './cs', process_types: ['web'] }], mem);
      if (!user.ok) throw new Error(user.message);
      const r = syncDropletSidecars(user.sidecars, [{ name: 'config-server', command: 'x', process_types: ['web'] }], mem);
      expect(r).to.deep.equal({
        ok: false,
        message: "Buildpack defined sidecar 'config-server' conflicts with an existing user-defined sidecar. Consider renaming 'config-server'.",
      });
    });
    it('refuses sidecar memory equal to the process memory', () => {
      const r = applyUserSidecars([{ name: 'cs', command: 'x', process_types: ['web'], memory: 256 }], mem);
      expect(r).to.deep.equal({ ok: false, message: 'The memory allocation defined is too large to run with the dependent "web" process' });
    });
    it('sums the memory of all sidecars of a process type', () => {
      const user = applyUserSidecars([{ name: 'a', command: 'x', process_types: ['worker'], memory: 1000 }], mem);
      if (!user.ok) throw new Error(user.message);
      const r = syncDropletSidecars(user.sidecars, [{ name: 'b', command: 'y', process_types: ['worker'], memory: 24 }], mem);
      expect(r).to.deep.equal({ ok: false, message: 'The memory allocation defined is too large to run with the dependent "worker" process' });
    });
    it('does not check process types the app does not have', () => {
      const r = applyUserSidecars([{ name: 'a', command: 'x', process_types: ['clock'], memory: 5000 }], mem);
      expect(r.ok).to.equal(true);
    });
    it('refuses a sidecar without process types, name or command', () => {
      expect(applyUserSidecars([{ name: 'a', command: 'x', process_types: [] }], mem)).to.deep.equal({
        ok: false,
        message: 'Process types must have at least 1 process_type',
      });
      expect(applyUserSidecars([{ name: '', command: 'x', process_types: ['web'] }], mem)).to.deep.include({ ok: false });
      expect(applyUserSidecars([{ name: 'a', command: '', process_types: ['web'] }], mem)).to.deep.include({ ok: false });
    });
    it('refuses two user sidecars with one name', () => {
      const s = { name: 'a', command: 'x', process_types: ['web'] };
      expect(applyUserSidecars([s, s], mem)).to.deep.equal({ ok: false, message: "Sidecar with name 'a' already exists for given app" });
    });
  });
});
