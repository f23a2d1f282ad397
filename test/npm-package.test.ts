// What `npm install sidecar-buildpack` gets: the bundles (main, bin, the buildpack's supply) carry
// every package they use, so the package has no run-time dependencies at all; TypeScript users get
// declarations generated when the package is packed (prepack → npm run build:types → types/).

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/shared.js';
import { useTmpDirs } from './helpers/tmp.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  main: string; bin: Record<string, string>; types: string; files: string[]; dependencies?: Record<string, string>;
};
const BUNDLES = [pkg.main, ...Object.values(pkg.bin), 'dist/supply.cjs', 'dist/supply-lazy.cjs'];
/**
 * Modules loaded on first use and left out of the bundles on purpose: kerberos, for proxy
 * Negotiate auth, which the fetcher never enables (an import(); in dist/supply.cjs, which has no
 * import(), a require() in the same try).
 */
const OPTIONAL_IMPORTS = ['kerberos'];

describe('the npm package', () => {
  const tmp = useTmpDirs();
  let cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.map((c) => c()));
    cleanups = [];
  });

  it('has no run-time dependencies: the bundles require nothing but Node built-ins', async () => {
    expect(pkg.dependencies ?? {}).to.deep.equal({});
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const bundle of new Set(BUNDLES)) {
      let text = await fs.readFile(path.join(REPO_ROOT, bundle), 'utf8');
      // dist/supply-lazy.cjs keeps each package's bundle as text (scripts/build.mjs): those too
      if (bundle === 'dist/supply-lazy.cjs') {
        const lazyFile = createRequire(import.meta.url)(path.join(REPO_ROOT, bundle)) as { names(): string[]; source(name: string): string };
        expect(lazyFile.names()).to.include('node-fetch');
        text += lazyFile.names().map((n) => lazyFile.source(n)).join('\n');
      }
      // dist/supply.cjs requires its own lazily loaded part beside it (scripts/build.mjs)
      const lazy = bundle === 'dist/supply.cjs' ? [...OPTIONAL_IMPORTS, './supply-lazy.cjs'] : bundle === 'dist/supply-lazy.cjs' ? OPTIONAL_IMPORTS : [];
      const required = [...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]).filter((m) => !builtins.has(m) && !lazy.includes(m));
      const imported = [...text.matchAll(/\bimport\("([^"]+)"\)/g)].map((m) => m[1]).filter((m) => !builtins.has(m) && !OPTIONAL_IMPORTS.includes(m));
      expect([...required, ...imported], bundle).to.deep.equal([]);
    }
  });

  it('packs, installs offline with nothing else, loads, and its declarations type-check a consumer', async function () {
    this.timeout(240_000);
    const dir = await tmp();
    // packing writes types/ into the repository (prepack); leave the tree as the test found it
    const typesDir = path.join(REPO_ROOT, 'types');
    const hadTypes = await fs.stat(typesDir).then(() => true, () => false);
    if (!hadTypes) cleanups.push(() => fs.rm(typesDir, { recursive: true, force: true }));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    expect(packed.files.map((f) => f.path)).to.include.members([pkg.main, pkg.types, 'dist/supply.cjs', 'dist/supply-lazy.cjs', 'dist/manifest.json', 'bin/supply']);

    const app = path.join(dir, 'app');
    await fs.mkdir(app);
    await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }));
    await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(dir, path.basename(packed.filename))], { cwd: app });
    expect((await fs.readdir(path.join(app, 'node_modules'))).filter((n) => !n.startsWith('.'))).to.deep.equal(['sidecar-buildpack']);

    const loaded = await run(process.execPath, ['-e', 'const l = require("sidecar-buildpack"); console.log(l.findMatchingVersion("1.x", ["1.0.0", "1.2.0"]), typeof l.HttpFetcher)'], { cwd: app });
    expect(loaded.stdout).to.equal('1.2.0 function\n');

    await fs.writeFile(path.join(app, 'use.ts'), 'import { findMatchingVersion, HttpFetcher } from "sidecar-buildpack";\nconst v: string = findMatchingVersion("1.x", ["1.0.0"]);\nnew HttpFetcher({ attempts: 2 });\nexport { v };\n');
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = path.join(REPO_ROOT, 'node_modules', '@types');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', typeRoots, '--types', 'node', 'use.ts'], { cwd: app });
  });
});
