// dist/run.cjs is what a node found on PATH runs before its version is known (src/bin/run.ts): an
// old node must parse it to tell bin/supply it is too old. esbuild lowers syntax a target lacks,
// so the file, transformed for node 12 and for the newest JavaScript, reads the same only when
// it holds no syntax newer than node 12 has.

import { expect } from 'chai';
import { transform } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('dist/run.cjs (run by any node on PATH)', () => {
  it('holds no syntax newer than node 12 parses', async () => {
    const source = await readFile(path.join(repo, 'dist', 'run.cjs'), 'utf8');
    const as = async (target: string) => (await transform(source, { target, format: 'cjs', loader: 'js' })).code;
    expect(await as('node12')).to.equal(await as('esnext'));
  });

  it('would be told apart from a file with newer syntax (the check itself)', async () => {
    const as = async (target: string, code: string) => (await transform(code, { target, format: 'cjs', loader: 'js' })).code;
    const newer = 'const a = globalThis.x ?? 1; let b = {}; b.c ||= a; module.exports = b?.c;\n';
    expect(await as('node12', newer)).to.not.equal(await as('esnext', newer));
  });
});
