// Issue 13 item 17: the tests find shared/ one way (test/helpers/shared.ts: `../shared` beside the
// repository). A machine path (`/work/shared`), a hand-made relative one or an environment
// override elsewhere would silently read another copy from a clone somewhere else.

import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPAT_DIR, REPO_ROOT, SHARED_DIR } from './helpers/shared.js';

/** The helper, and this test (its comments name the forbidden spellings). */
const EXEMPT = [path.join('test', 'helpers', 'shared.ts'), path.join('test', 'shared-dir.test.ts')];
const ROOTS = ['test', 'integration', 'test-reliability', 'bench', 'scripts'];

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|mjs|js|cjs)$/.test(e.name) ? [p] : [];
  });
}

describe('finding shared/', () => {
  it('is ../shared beside the repository', () => {
    expect(SHARED_DIR).to.equal(path.resolve(REPO_ROOT, '..', 'shared'));
    expect(existsSync(path.join(COMPAT_DIR, 'versions.json'))).to.equal(true);
  });

  it('is done by test/helpers/shared.ts alone: no other file spells a path to it', () => {
    // A string literal holding `/work/shared`, `../shared` or the old override variable.
    const spelled = new RegExp(`(['"\`])[^'"\`\\n]*(${['/work', 'shared'].join('/')}|\\.\\./${'shared'}\\b)|${['SIDECAR', 'COMPAT', 'DIR'].join('_')}`);
    const offenders = ROOTS.flatMap((r) => sources(path.join(REPO_ROOT, r)))
      .filter((f) => !EXEMPT.includes(path.relative(REPO_ROOT, f)))
      .filter((f) => spelled.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(REPO_ROOT, f));
    expect(offenders).to.deep.equal([]);
  });
});
