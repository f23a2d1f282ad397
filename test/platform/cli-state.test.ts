// The per-user app state, the build-cache lease, and `-b NAME=DIR_OR_ZIP`.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveBuildpacks } from '../../src/cli/commands/push.js';
import { UsageError } from '../../src/errors.js';
import { leaseCache } from '../../src/platform/cache-lock.js';
import { AppStore, stateRoot } from '../../src/platform/state.js';
import { expectRejection } from '../helpers/assert.js';
import { FINAL_BP, tempDir } from './helpers.js';

/** A pid that is certainly not running: a child that has exited. */
const deadPid = (): number => spawnSync('true').pid as number;

describe('app state and caches', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir('state-')));
  afterEach(() => cleanup());

  describe('#stateRoot', () => {
    it('is per user: XDG_STATE_HOME, else ~/.local/state', () => {
      expect(stateRoot({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).to.equal('/x/state/sidecar-buildpack');
      expect(stateRoot({ HOME: '/home/u' })).to.equal('/home/u/.local/state/sidecar-buildpack');
      expect(stateRoot({ XDG_STATE_HOME: 'relative', HOME: '/home/u' })).to.equal('/home/u/.local/state/sidecar-buildpack');
    });
  });

  describe('AppStore', () => {
    it('refuses a second claim of a live app, naming its owner, and clears a dead owner', async () => {
      const store = new AppStore(root);
      await store.claim('demo', { pid: process.pid, state: 'running', detached: true, url: 'http://127.0.0.1:1' });
      await expectRejection(store.claim('demo', { pid: process.ppid, state: 'staging', detached: true }), UsageError, `app demo is already pushed (pid ${process.pid}, running at http://127.0.0.1:1)`);
      expect((await store.list()).map((a) => a.name)).to.deep.equal(['demo']);
      await store.update('demo', { pid: deadPid() });
      expect(await store.list()).to.deep.equal([]);
      expect(existsSync(store.dir('demo'))).to.equal(false);
      await store.claim('demo', { pid: process.pid, state: 'staging', detached: true });
      await expectRejection(store.get('other'), UsageError, 'app other not found (apps: demo)');
    });
  });

  describe('#leaseCache', () => {
    it('gives the cache to one staging at a time; the second gets a private one, removed on release', async () => {
      const cache = path.join(root, 'cache', 'demo');
      const first = await leaseCache(cache, process.pid);
      const second = await leaseCache(cache, process.pid);
      expect(first).to.deep.include({ dir: cache, shared: true });
      expect(second.shared).to.equal(false);
      expect(second.dir).to.not.equal(cache);
      await second.release();
      expect(existsSync(second.dir)).to.equal(false);
      await first.release();
      expect((await leaseCache(cache, process.pid)).shared).to.equal(true);
    });
    it('takes over the lock of a staging whose process is gone', async () => {
      const cache = path.join(root, 'cache', 'demo');
      await mkdir(path.dirname(cache), { recursive: true });
      await writeFile(`${cache}.lock`, String(deadPid()));
      expect((await leaseCache(cache, process.pid)).shared).to.equal(true);
    });
  });

  describe('-b NAME=DIR_OR_ZIP', () => {
    const base = { manifestDir: '/m', platform: 'local' as const, toolkitRoot: () => path.resolve(FINAL_BP, '../../..') };
    it('binds a manifest entry (a name or a URL) to a local buildpack, keeping the order, with a note naming both', () => {
      const r = resolveBuildpacks({ ...base, cwd: path.dirname(FINAL_BP), given: ['https://github.com/x/sidecar-buildpack.git=./final'], manifestBuildpacks: ['https://github.com/x/sidecar-buildpack.git', 'ruby_buildpack'] });
      expect(r.buildpacks).to.deep.equal([FINAL_BP, FINAL_BP]);
      expect(r.notes).to.deep.equal([
        `buildpack https://github.com/x/sidecar-buildpack.git is ${FINAL_BP} (-b https://github.com/x/sidecar-buildpack.git=...)`,
        `buildpack ruby_buildpack stands for the fixture final buildpack ${FINAL_BP} on the local platform`,
      ]);
    });
    context('failure cases', () => {
      it('refuses a NAME the manifest does not list, and a path that does not exist', () => {
        expect(() => resolveBuildpacks({ ...base, cwd: root, given: ['go_buildpack=./x'], manifestBuildpacks: ['ruby_buildpack'] })).to.throw(UsageError, "-b go_buildpack=./x: go_buildpack is not in the manifest's buildpacks: (ruby_buildpack)");
        expect(() => resolveBuildpacks({ ...base, cwd: root, given: ['ruby_buildpack=./nope'], manifestBuildpacks: ['ruby_buildpack'] })).to.throw(UsageError, 'does not exist');
      });
    });
  });
});
