import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PackagerError } from '../../src/errors.js';
import { bundleNeedsLazy, SUPPLY_BUNDLE, SUPPLY_LAZY, withBundleCompanion } from '../../src/packager/bundle-files.js';
import type { IncludedFile } from '../../src/packager/include-files.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { useTmpDirs } from '../helpers/tmp.js';

describe('the supply bundle travels with its lazily loaded part', () => {
  const tmpDir = useTmpDirs('bundle-files-');
  const NEEDS = 'var x=require("./supply-lazy.cjs");\n';

  async function dir(files: Record<string, string>): Promise<{ dir: string; included: IncludedFile[] }> {
    const d = await tmpDir();
    await fs.mkdir(path.join(d, 'dist'));
    for (const [rel, text] of Object.entries(files)) await fs.writeFile(path.join(d, rel), text);
    return { dir: d, included: Object.keys(files).filter((f) => f !== SUPPLY_LAZY).map((f) => ({ path: f, localPath: path.join(d, f), mode: 0o644 })) };
  }

  it('knows the committed bundle needs it, and a one-file bundle does not', async () => {
    expect(bundleNeedsLazy(await fs.readFile(path.join(REPO_ROOT, SUPPLY_BUNDLE), 'utf8'))).to.equal(true);
    expect(bundleNeedsLazy('require("yaml");')).to.equal(false);
  });

  it('adds dist/supply-lazy.cjs where include_files names only dist/supply.cjs', async () => {
    const { dir: d, included } = await dir({ [SUPPLY_BUNDLE]: NEEDS, [SUPPLY_LAZY]: 'exports.load=()=>1;' });
    const out = await withBundleCompanion(d, included);
    expect(out.map((f) => f.path)).to.deep.equal([SUPPLY_BUNDLE, SUPPLY_LAZY]);
    expect(out[1]).to.deep.equal({ path: SUPPLY_LAZY, localPath: path.join(d, 'dist', 'supply-lazy.cjs'), mode: 0o644 });
  });

  it('leaves include_files alone when it names both, or no bundle', async () => {
    const { dir: d, included } = await dir({ [SUPPLY_BUNDLE]: NEEDS, [SUPPLY_LAZY]: 'x' });
    const both = [...included, { path: SUPPLY_LAZY, localPath: path.join(d, SUPPLY_LAZY), mode: 0o644 }];
    expect(await withBundleCompanion(d, both)).to.equal(both);
    const none = included.filter((f) => f.path !== SUPPLY_BUNDLE);
    expect(await withBundleCompanion(d, none)).to.equal(none);
  });

  it('lets a bundle built before the split go alone', async () => {
    const { dir: d, included } = await dir({ [SUPPLY_BUNDLE]: 'require("yaml");\n' });
    expect((await withBundleCompanion(d, included)).map((f) => f.path)).to.deep.equal([SUPPLY_BUNDLE]);
  });

  it('refuses a bundle that needs it when the buildpack has none, before any zip is written', async () => {
    const { dir: d, included } = await dir({ [SUPPLY_BUNDLE]: NEEDS });
    try {
      await withBundleCompanion(d, included);
      expect.fail('accepted');
    } catch (e) {
      expect(e).to.be.instanceOf(PackagerError);
      expect((e as Error).message).to.equal(`dist/supply.cjs needs dist/supply-lazy.cjs beside it, and ${d} has none: copy both from the toolkit (sidecar-buildpack init writes them)`);
    }
  });
});
