// `((var))` interpolation as cf push --var / --vars-file does it.

import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { interpolate, mergeVars, parseVarPairs, readVarsFile } from '../../src/platform/vars.js';
import { ManifestError, UsageError } from '../../src/errors.js';
import { tempDir } from './helpers.js';

describe('vars', () => {
  describe('#interpolate', () => {
    it('keeps the type of a whole-value variable and splices text into longer strings', () => {
      const doc = { applications: [{ name: '((app))', instances: '((n))', env: { URL: 'https://((host)):((port))/x' } }] };
      expect(interpolate(doc, { app: 'a', n: 2, host: 'h', port: 8080 }, 'm.yml')).to.deep.equal({ applications: [{ name: 'a', instances: 2, env: { URL: 'https://h:8080/x' } }] });
    });
  });
  describe('#mergeVars', () => {
    it('lets the first source win (--var over --vars-file)', () => {
      expect(mergeVars({ a: 'flag' }, { a: 'file', b: 'file' })).to.deep.equal({ a: 'flag', b: 'file' });
    });
  });
  describe('#readVarsFile', () => {
    it('reads a YAML map', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await writeFile(path.join(dir, 'v.yml'), 'mem: 256M\nn: 3\n');
        expect(await readVarsFile(path.join(dir, 'v.yml'))).to.deep.equal({ mem: '256M', n: 3 });
      } finally {
        await cleanup();
      }
    });
  });
  context('failure cases', () => {
    it('names every missing variable, sorted, as the cf CLI does', () => {
      expect(() => interpolate({ a: '((zeta))', b: 'x-((alpha))' }, {}, 'm.yml')).to.throw(ManifestError, 'm.yml: Expected to find variables: alpha, zeta');
    });
    it('refuses a --var without =', () => {
      expect(() => parseVarPairs(['novalue'])).to.throw(UsageError, '--var "novalue": use NAME=VALUE');
    });
    it('refuses a map spliced into a string', () => {
      expect(() => interpolate({ a: 'x((m))' }, { m: { k: 1 } }, 'm.yml')).to.throw(ManifestError, 'is a map');
    });
  });
});
