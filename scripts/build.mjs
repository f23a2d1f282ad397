// Bundles the entry points into single CommonJS files under dist/ (committed: a buildpack used
// from a git URL stages with no build step and no node_modules). `--check` rebuilds in memory
// and fails when a committed bundle differs from what the sources give (CI's staleness check).
// It also writes dist/runtime.tsv, the staging-runtime table bin/supply reads instead of parsing
// manifest.yml (src/packager/runtime-table.ts), checked for staleness the same way.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

// The packages staging loads only on its slower paths (a download, a zip, YAML to parse, a tree to
// remove): they go into dist/supply-lazy.cjs, beside dist/supply.cjs, which requires that file the
// first time one of them is imported. Node parses every byte of a script it runs, used or not:
// with these (275 KB) in it, dist/supply.cjs took about 25 ms longer to start (bench/README.md).
// In that file each package is its own bundle, kept as text and compiled only when it is first
// asked for (lazyFileText below): a download needs node-fetch, not YAML.
const LAZY_PACKAGES = ['yaml', 'node-fetch', 'yauzl', 'fs-extra', 'http-proxy-agent', 'https-proxy-agent'];
const LAZY_FILE = 'supply-lazy.cjs';
const errorsModule = path.join(root, 'src/errors.ts');
const lazyPlugin = {
  name: 'supply-lazy',
  setup(b) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'supply-lazy' }));
    b.onResolve({ filter: new RegExp(`^\\./${LAZY_FILE.replace('.', '\\.')}$`) }, (args) => ({ path: args.path, external: true }));
    // each lazy package: one line asking the loader; the loader: the one require of the file
    b.onResolve({ filter: /^supply-lazy:loader$/ }, () => ({ path: 'loader', namespace: 'supply-lazy-loader' }));
    // an ES module with the package's own exports (names read from the package here), so every
    // import of it reads as it would from the package itself, ESM (node-fetch) or CommonJS
    b.onLoad({ filter: /.*/, namespace: 'supply-lazy' }, async (args) => {
      const { esm, names } = await exportNames(args.path);
      return {
        resolveDir: root,
        loader: 'js',
        contents: [
          "import { load } from 'supply-lazy:loader';",
          `const m = load(${JSON.stringify(args.path)});`,
          // (pure: esbuild drops the names nobody imports)
          'const get = (k) => m[k];',
          `export default ${esm ? 'm.default' : 'm'};`,
          ...names.map((n) => `export const ${n} = /* @__PURE__ */ get(${JSON.stringify(n)});`),
        ].join('\n'),
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'supply-lazy-loader' }, () => ({
      resolveDir: root,
      loader: 'js',
      contents: [
        `const { BuildpackError } = require(${JSON.stringify(errorsModule)});`,
        'let lazy;',
        'exports.load = (name) => {',
        `  try { lazy ??= require('./${LAZY_FILE}'); } catch (e) {`,
        `    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('${LAZY_FILE}')) throw new BuildpackError('BUILDPACK_INCOMPLETE', 'the buildpack has dist/supply.cjs without dist/${LAZY_FILE} beside it (package it again, or copy both from the toolkit)');`,
        '    throw e;',
        '  }',
        '  return lazy.load(name);',
        '};',
      ].join('\n'),
    }));
  },
};

/** Whether a package is an ES module, and its named exports. */
async function exportNames(pkg) {
  const req = createRequire(path.join(root, 'package.json'));
  let mod;
  try {
    mod = req(pkg); // an ES module's namespace where node requires ES modules (20.19 and later)
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    mod = await import(pathToFileURL(req.resolve(pkg)).href);
  }
  const esm = Object.prototype.toString.call(mod) === '[object Module]';
  const names = Object.keys(mod);
  return { esm, names: names.filter((n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n)).sort() };
}

// node-fetch's fetch-blob requires web-streams-polyfill only where node has no ReadableStream, which
// every node this bundle runs on (>= 18) has: the lazy bundle carries a stub instead (59 KB less
// for a download to parse). Its streams.cjs, which does that check, goes too: reading
// globalThis.ReadableStream makes node load its web streams (about 1.2 ms of every download), and
// the Blob.prototype.stream it would add is node's own from 18 on.
const noStreamsPolyfill = {
  name: 'no-web-streams-polyfill',
  setup(b) {
    b.onResolve({ filter: /^web-streams-polyfill(\/|$)/ }, (args) => ({ path: args.path, namespace: 'no-polyfill' }));
    b.onLoad({ filter: /.*/, namespace: 'no-polyfill' }, () => ({
      loader: 'js',
      contents: "throw new Error('web streams are built into node 18 and later: no polyfill is bundled');",
    }));
    b.onLoad({ filter: /[\\/]fetch-blob[\\/]streams\.cjs$/ }, () => ({
      loader: 'js',
      contents: '// fetch-blob/streams.cjs: nothing to add on node 18 and later (scripts/build.mjs)\n',
    }));
  },
};

/**
 * dist/supply-lazy.cjs from the text of each package's own bundle: a map of sources, compiled one at
 * a time on first use (vm.compileFunction, named `<file>#<package>` in stack traces). V8 scans a
 * string literal far faster than it parses code: a download's start parses node-fetch's 34 KB, not
 * the 240 KB of all of them. `source(name)` gives a package's text (the package's tests read it).
 */
function lazyFileText(header, sections) {
  return [
    header,
    '"use strict";',
    'const sources = {',
    ...sections.map(([name, text]) => `${JSON.stringify(name)}: ${JSON.stringify(text)},`),
    '};',
    'const loaded = new Map();',
    'exports.names = () => Object.keys(sources);',
    'exports.source = (name) => sources[name];',
    'exports.load = (name) => {',
    '  let m = loaded.get(name);',
    '  if (m) return m.exports;',
    "  if (!Object.prototype.hasOwnProperty.call(sources, name)) throw new Error(`dist/supply-lazy.cjs has no package ${name}`);",
    '  m = { exports: {} };',
    "  const run = require('node:vm').compileFunction(sources[name], ['exports', 'require', 'module', '__filename', '__dirname'], { filename: `${__filename}#${name}` });",
    '  run(m.exports, require, m, __filename, __dirname);',
    '  loaded.set(name, m);',
    '  return m.exports;',
    '};',
    '',
  ].join('\n');
}

const entries = [
  // noDynamicImport: the supply bundle runs from a V8 code cache (below)
  { src: 'src/bin/supply.ts', out: 'dist/supply.cjs', shebang: false, noDynamicImport: true, plugins: [lazyPlugin] },
  // what dist/supply.cjs loads on first use (above); loaded by require, so never from the code cache
  {
    sections: LAZY_PACKAGES.map((p) => [p, `module.exports = require(${JSON.stringify(p)});\n`]),
    src: 'the packages of LAZY_PACKAGES',
    out: `dist/${LAZY_FILE}`,
    shebang: false,
    plugins: [noStreamsPolyfill],
  },
  { src: 'src/bin/cli.ts', out: 'dist/cli.cjs', shebang: true },
  { src: 'src/index.ts', out: 'dist/index.cjs', shebang: false },
  // run by whatever node bin/supply found on PATH, before the version is known: it must parse on
  // old nodes to tell them apart (src/bin/run.ts)
  { src: 'src/bin/run.ts', out: 'dist/run.cjs', shebang: false, target: 'node12' },
];

/** The bundle of `e` (its `stdin` text, or its `src` file) with `banner` on top. */
async function bundle(e, stdin, banner) {
  const result = await build({
    ...(stdin ? { stdin: { contents: stdin, resolveDir: root, loader: 'js' } } : { entryPoints: [path.join(root, e.src)] }),
    plugins: e.plugins ?? [],
    bundle: true,
    platform: 'node',
    target: e.target ?? 'node18',
    format: 'cjs',
    minify: true,
    legalComments: 'eof',
    write: false,
    logLevel: 'warning',
    // supply: modules loaded on first use (`await import('node:http')`) become require() calls: dist/run.cjs
    // runs the supply bundle from a V8 code cache, and a script V8 takes from a cache has lost the
    // loader import() needs (node 20: ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING)
    ...(e.noDynamicImport ? { supported: { 'dynamic-import': false } } : {}),
    // ESM sources may use import.meta.url; in the CommonJS bundle it is the bundle's own URL
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: `${banner}const __bundleUrl=require("url").pathToFileURL(__filename).href;` },
  });
  return result.outputFiles[0].text;
}

let stale = 0;
for (const e of entries) {
  const header = `${e.shebang ? '#!/usr/bin/env node\n' : ''}// generated by scripts/build.mjs from ${e.src}: do not edit\n`;
  const text = e.sections
    ? lazyFileText(header.trimEnd(), await Promise.all(e.sections.map(async ([name, stdin]) => [name, await bundle(e, stdin, '')])))
    : await bundle(e, undefined, header);
  const out = path.join(root, e.out);
  if (check) {
    const committed = await readFile(out, 'utf8').catch(() => null);
    if (committed !== text) {
      console.error(`stale bundle: ${e.out} differs from a fresh build of ${e.src}; run npm run build and commit it`);
      stale++;
    }
  } else {
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, text);
    await chmod(out, 0o755);
    console.log(`built ${e.out} (${Math.round(text.length / 1024)} KB)`);
  }
}

// dist/runtime.tsv and dist/manifest.json from manifest.yml, by the TypeScript parser and writers themselves
// (bundled in memory: this script runs on plain node, without a TypeScript loader)
const tableCode = await build({
  stdin: {
    contents:
      "export { parseManifest } from './src/manifest/parse.ts'; export { runtimeTableFor, RUNTIME_TABLE_PATH } from './src/packager/runtime-table.ts'; export { compiledManifestFor, COMPILED_MANIFEST_PATH } from './src/manifest/compiled.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
  // run below through new Function, with this script's require: import.meta.url is never read
  define: { 'import.meta.url': 'undefined' },
});
const tableModule = { exports: {} };
new Function('module', 'exports', 'require', tableCode.outputFiles[0].text)(tableModule, tableModule.exports, createRequire(import.meta.url));
const { parseManifest, runtimeTableFor, RUNTIME_TABLE_PATH, compiledManifestFor, COMPILED_MANIFEST_PATH } = tableModule.exports;
const manifestFile = path.join(root, 'manifest.yml');
let table;
try {
  table = runtimeTableFor(await readFile(manifestFile, 'utf8'), manifestFile, 'scripts/build.mjs', parseManifest);
} catch (err) {
  console.error(`cannot write ${RUNTIME_TABLE_PATH}: ${err.message}`);
  process.exit(1);
}
// dist/manifest.json: the manifest as staging reads it without parsing YAML (src/manifest/compiled.ts)
const compiled = compiledManifestFor(await readFile(manifestFile, 'utf8'), manifestFile, 'scripts/build.mjs', parseManifest);
const generated = [
  { rel: RUNTIME_TABLE_PATH, text: table, what: 'table', told: `${table.split('\n').filter((l) => l && !l.startsWith('#')).length} rows` },
  { rel: COMPILED_MANIFEST_PATH, text: compiled, what: 'compiled manifest', told: `${Math.round(compiled.length / 1024)} KB` },
];
for (const g of generated) {
  const out = path.join(root, g.rel);
  if (check) {
    const committed = await readFile(out, 'utf8').catch(() => null);
    if (committed !== g.text) {
      console.error(`stale ${g.what}: ${g.rel} differs from what manifest.yml gives; run npm run build and commit it`);
      stale++;
    }
  } else {
    await writeFile(out, g.text);
    console.log(`built ${g.rel} (${g.told})`);
  }
}
process.exitCode = stale ? 1 : 0;
