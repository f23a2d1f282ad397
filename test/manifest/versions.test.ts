// Table tests of the version resolver against shared/compat/versions.json, plus our extensions.

import { expect } from 'chai';
import fc from 'fast-check';
import semver from 'semver';
import { DependencyNotFoundError } from '../../src/errors.js';
import { findMatchingVersion, findMatchingVersions, isSemver, isValidConstraint, parseLenientSemver } from '../../src/manifest/versions.js';
import { corpusJson } from './corpus.js';

interface VersionCase {
  function: 'FindMatchingVersion' | 'FindMatchingVersions';
  constraint: string;
  versions: string[];
  expect?: string;
  expectAll?: string[];
  error?: boolean;
  errorMessage?: string;
  source: string;
}

const corpus = corpusJson<{ cases: VersionCase[] }>('versions.json');

describe('versions', () => {
  describe('compat corpus (versions.json)', () => {
    it('has every case', () => {
      expect(corpus.cases.length).to.equal(24);
    });
    corpus.cases.forEach((c, i) => {
      it(`#${i} ${c.function}(${JSON.stringify(c.constraint)}) — ${c.source}`, () => {
        const run = () =>
          c.function === 'FindMatchingVersion' ? findMatchingVersion(c.constraint, c.versions) : findMatchingVersions(c.constraint, c.versions);
        if (c.error) {
          expect(run).to.throw(DependencyNotFoundError).with.property('message', c.errorMessage);
        } else if (c.function === 'FindMatchingVersion') {
          expect(run()).to.equal(c.expect);
        } else {
          expect(run()).to.deep.equal(c.expectAll);
        }
      });
    });
  });

  describe('#findMatchingVersion', () => {
    context('when the list holds non-semver spellings', () => {
      it('reads "1" and "v79" leniently and answers with the original spelling', () => {
        expect(findMatchingVersion('79.x', ['v78', 'v79', 'abc'])).to.equal('v79');
        expect(findMatchingVersion('2.x', ['1', '2', '2.1'])).to.equal('2.1');
      });
      it('skips strings that are not versions at all instead of failing', () => {
        expect(findMatchingVersion('1.2.x', ['abc-1.2.3-def-4.5.6', '1.2.3'])).to.equal('1.2.3');
      });
      it('matches a non-range constraint by exact spelling', () => {
        expect(findMatchingVersion('abc-1.2.3-def-4.5.6', ['abc-1.2.3-def-4.5.6', '1.2.3'])).to.equal('abc-1.2.3-def-4.5.6');
      });
    });

    context('when one version of the list is not strict SemVer', () => {
      // libbuildpack's strict pass (blang) runs only when every version parses strictly; one
      // lenient spelling sends the whole list to the lenient pass, where a range skips pre-releases.
      it('uses the strict pass only when every version is strict', () => {
        expect(findMatchingVersions('1.x', ['1.0.0', '1.1.0-rc.1'])).to.deep.equal(['1.0.0', '1.1.0-rc.1']);
        expect(findMatchingVersions('1.x', ['1.0.0', '1.1.0-rc.1', 'v2'])).to.deep.equal(['1.0.0']);
        expect(findMatchingVersion('1.x', ['1.1.0-rc.1', '1.0.0', '2'])).to.equal('1.0.0');
      });
      it('does not read a version out of the middle of a longer string (the lenient pattern is anchored)', () => {
        expect(findMatchingVersion('1.x', ['1.2.0', 'release-1.9.0', 'v0'])).to.equal('1.2.0');
        expect(findMatchingVersion('1.x', ['1.2.0', '1.9.0rc', 'v0'])).to.equal('1.2.0');
        expect(() => findMatchingVersion('1.x', ['build-1.9.0', '1.9.0 final'])).to.throw(DependencyNotFoundError);
      });
    });

    context('when versions have four parts', () => {
      it('compares on the first three and orders ties by the rest', () => {
        expect(findMatchingVersion('9.4.x', ['9.4.8.0', '9.4.14.0', '9.3.1.0'])).to.equal('9.4.14.0');
        expect(findMatchingVersions('9.4.8', ['9.4.8.2', '9.4.8.0', '9.4.8.1'])).to.deep.equal(['9.4.8.0', '9.4.8.1', '9.4.8.2']);
      });
    });

    context('when versions are pre-releases', () => {
      it('matches them with an exact constraint', () => {
        expect(findMatchingVersion('1.0.0-preview2-003156', ['1.0.0-preview2-003131', '1.0.0-preview2-003156'])).to.equal('1.0.0-preview2-003156');
      });
      it('orders a pre-release before its release', () => {
        expect(findMatchingVersions('1.x', ['1.0.0', '1.0.0-rc.1'])).to.deep.equal(['1.0.0-rc.1', '1.0.0']);
      });
    });

    context('when constraints use other libbuildpack syntax', () => {
      it('handles ||, ~ and ^', () => {
        expect(findMatchingVersion('1.2.x || 2.0.x', ['1.2.3', '2.0.1', '2.1.0'])).to.equal('2.0.1');
        expect(findMatchingVersion('~1.2.3', ['1.2.9', '1.3.0'])).to.equal('1.2.9');
        expect(findMatchingVersion('^1.2.3', ['1.9.0', '2.0.0'])).to.equal('1.9.0');
      });
    });

    context('failure cases', () => {
      it('prints an empty list as []', () => {
        expect(() => findMatchingVersion('1.x', [])).to.throw(DependencyNotFoundError, /^no match found for 1\.x in \[\]$/);
      });
      it('lists the original, unsorted versions and carries them on the error', () => {
        try {
          findMatchingVersion('3.x', ['2.0.0', 'v1', 'abc']);
          expect.fail('should throw');
        } catch (e) {
          expect(e).to.be.instanceOf(DependencyNotFoundError);
          expect((e as DependencyNotFoundError).message).to.equal('no match found for 3.x in [2.0.0 v1 abc]');
          expect((e as DependencyNotFoundError).available).to.deep.equal(['2.0.0', 'v1', 'abc']);
          expect((e as DependencyNotFoundError).code).to.equal('DEPENDENCY_NOT_FOUND');
        }
      });
      it('fails for a nonsense constraint with no exact match', () => {
        expect(() => findMatchingVersion('not a version', ['1.0.0'])).to.throw('no match found for not a version in [1.0.0]');
      });
    });
  });

  describe('properties', () => {
    const version = fc.tuple(fc.nat(5), fc.nat(5), fc.nat(20)).map(([a, b, c]) => `${a}.${b}.${c}`);
    it('the answer for <major>.<minor>.x is the greatest version of that line, as spelled in the list', () => {
      fc.assert(
        fc.property(fc.array(version, { minLength: 1, maxLength: 12 }), fc.nat(11), (versions, pick) => {
          const [major, minor] = versions[pick % versions.length].split('.');
          const line = versions.filter((v) => v.startsWith(`${major}.${minor}.`));
          const best = line.reduce((a, b) => (semver.gt(b, a) ? b : a));
          expect(findMatchingVersion(`${major}.${minor}.x`, versions)).to.equal(best);
          expect(findMatchingVersions(`${major}.${minor}.x`, versions)).to.have.length(line.length);
        }),
      );
    });
  });

  describe('#isValidConstraint', () => {
    it('accepts the constraint forms of the manifests', () => {
      for (const c of ['x', '1.x', '1.2.x', '8.x.x', '1.2.3', '>=1.2.0 <1.2.4', '>=1.2.0, <1.2.4', '1.0.0-preview2-003156']) {
        expect(isValidConstraint(c), c).to.equal(true);
      }
    });
    context('failure cases', () => {
      it('refuses empty and non-version strings', () => {
        for (const c of ['', '   ', 'latest', 'abc-1.2.3-def-4.5.6', '1.2.3; rm -rf /']) expect(isValidConstraint(c), c).to.equal(false);
      });
    });
  });

  describe('#parseLenientSemver', () => {
    it('reads Masterminds spellings', () => {
      const cases: Array<[string, string]> = [['1', '1.0.0'], ['v79', '79.0.0'], ['1.2', '1.2.0'], ['v1.2.3-rc.1+b5', '1.2.3-rc.1'], ['01.2.3', '1.2.3']];
      for (const [v, expected] of cases) expect(parseLenientSemver(v)?.version, v).to.equal(expected);
    });
    context('failure cases', () => {
      it('matches the whole string only', () => {
        for (const v of ['abc-1.2.3', 'x1', '1.2.3abc', '1.2.3.', ' 1.2.3', '1.2.3 ', '1.2.3\n', 'v', '']) expect(parseLenientSemver(v), JSON.stringify(v)).to.equal(null);
      });
    });
  });

  describe('#isSemver', () => {
    it('is strict SemVer', () => {
      expect(isSemver('1.2.3')).to.equal(true);
      expect(isSemver('1.0.0-preview2-003156')).to.equal(true);
    });
    context('failure cases', () => {
      it('refuses partial, prefixed and four-part versions', () => {
        for (const v of ['1', 'v79', '1.2', '9.4.8.0', ' 1.2.3', 'abc-1.2.3-def-4.5.6']) expect(isSemver(v), v).to.equal(false);
      });
    });
  });
});
