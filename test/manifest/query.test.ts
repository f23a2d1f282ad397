// Unit tests of manifest queries and warnings beyond the corpus cases: stack filtering with no
// stack, resolveEntry, warning texts and the 30-day end-of-life boundary.

import { expect } from 'chai';
import { DependencyNotFoundError, ResolveError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { allDependencyVersions, checkStackSupport, defaultVersion, getEntry, onlyVersion, resolveEntry } from '../../src/manifest/query.js';
import { endOfLifeWarnings, installWarnings, newerVersionWarning, preReleaseWarning, stackDeprecationWarning, stackWarnings } from '../../src/manifest/warnings.js';

const SHA = 'c'.repeat(64);
function entry(name: string, version: string, stacks: string[]): string {
  return `- {name: ${name}, version: "${version}", uri: "https://example.org/${name}-${version}.tgz", sha256: ${SHA}, cf_stacks: [${stacks.join(', ')}]}\n`;
}
const m = parseManifest(
  'language: test\n' +
    'default_versions:\n- {name: agent, version: 1.2.x}\n- {name: beta, version: 2.x}\n' +
    'dependency_deprecation_dates:\n- {name: agent, version_line: 1.2.x, date: 2030-03-31, link: https://example.org/eol}\n- {name: agent, version_line: 1.x, date: not-a-date}\n' +
    'dependencies:\n' +
    entry('agent', '1.2.3', ['cflinuxfs4']) +
    entry('agent', '1.2.9', ['cflinuxfs4']) +
    entry('agent', '1.3.0', ['cflinuxfs3']) +
    entry('beta', '2.0.0-rc.1', ['cflinuxfs4']),
  'manifest.yml',
);

describe('manifest queries', () => {
  describe('#allDependencyVersions', () => {
    it('filters by stack, or not at all when the stack is undefined', () => {
      expect(allDependencyVersions(m, 'agent', 'cflinuxfs4')).to.deep.equal(['1.2.3', '1.2.9']);
      expect(allDependencyVersions(m, 'agent', undefined)).to.deep.equal(['1.2.3', '1.2.9', '1.3.0']);
      expect(allDependencyVersions(m, 'agent', '')).to.deep.equal([]);
    });
  });

  describe('#resolveEntry', () => {
    it('uses the default version without a constraint', () => {
      expect(resolveEntry(m, 'agent', 'cflinuxfs4').version).to.equal('1.2.9');
    });
    it('uses the constraint when given', () => {
      expect(resolveEntry(m, 'agent', 'cflinuxfs4', '1.2.3').version).to.equal('1.2.3');
      expect(resolveEntry(m, 'agent', 'cflinuxfs3', '1.x').uri).to.equal('https://example.org/agent-1.3.0.tgz');
    });
    context('failure cases', () => {
      it('says which versions there are', () => {
        expect(() => resolveEntry(m, 'agent', 'cflinuxfs4', '2.x')).to.throw(DependencyNotFoundError, 'no match found for 2.x in [1.2.3 1.2.9]');
      });
    });
  });

  describe('#getEntry / #defaultVersion / #onlyVersion / #checkStackSupport', () => {
    it('answers', () => {
      expect(getEntry(m, 'agent', '1.2.3', 'cflinuxfs4').sha256).to.equal(SHA);
      expect(defaultVersion(m, 'beta', 'cflinuxfs4')).to.equal('2.0.0-rc.1');
      expect(onlyVersion(m, 'beta', 'cflinuxfs4')).to.equal('2.0.0-rc.1');
      expect(() => checkStackSupport(m, 'cflinuxfs3')).not.to.throw();
    });
    context('failure cases', () => {
      it('throws typed errors with libbuildpack texts', () => {
        expect(() => getEntry(m, 'agent', '1.3.0', 'cflinuxfs4')).to.throw(DependencyNotFoundError, /^dependency agent 1\.3\.0 not found$/);
        expect(() => defaultVersion(m, 'nope', 'cflinuxfs4')).to.throw(ResolveError, /^no default version for nope$/);
        expect(() => onlyVersion(m, 'agent', 'cflinuxfs4')).to.throw(ResolveError, /^more than one version of agent found$/);
        expect(() => checkStackSupport(m, 'cflinuxfs2')).to.throw(ResolveError, /^required stack cflinuxfs2 was not found$/).with.property('code', 'STACK_UNSUPPORTED');
      });
    });
  });
});

describe('manifest warnings', () => {
  describe('#stackDeprecationWarning', () => {
    it('gives libbuildpack\'s whole texts for cflinuxfs2 and windows2016 only', () => {
      expect(stackDeprecationWarning('cflinuxfs2')).to.equal(
        '\n!! !!\nThis application is being deployed on cflinuxfs2 which is being deprecated in April, 2019.\nPlease migrate this application to cflinuxfs3.\nFor more information about changing the stack, see https://docs.cloudfoundry.org/devguide/deploy-apps/stacks.html\n!! !!',
      );
      expect(stackDeprecationWarning('windows2016')).to.match(/^\n!! !!\nThis application is being deployed on the 'windows2016' stack which is deprecated\.\n/);
      expect(stackWarnings('cflinuxfs4')).to.deep.equal([]);
    });
  });

  describe('#endOfLifeWarnings', () => {
    const dep = { name: 'agent', version: '1.2.3' };
    it('warns less than 30 days before the date, with the link', () => {
      expect(endOfLifeWarnings(m, dep, new Date('2030-03-02T00:00:01Z'))).to.deep.equal([
        'agent 1.2.x will no longer be available in new buildpacks released after 2030-03-31.\nSee: https://example.org/eol',
      ]);
    });
    it('does not warn exactly 30 days before', () => {
      expect(endOfLifeWarnings(m, dep, new Date('2030-03-01T00:00:00Z'))).to.deep.equal([]);
    });
    it('warns after the date', () => {
      expect(endOfLifeWarnings(m, dep, new Date('2031-01-01T00:00:00Z'))).to.have.length(1);
    });
    it('ignores entries whose date is malformed and other lines', () => {
      expect(endOfLifeWarnings(m, { name: 'agent', version: '1.3.0' }, new Date('2031-01-01T00:00:00Z'))).to.deep.equal([]);
    });
  });

  describe('#newerVersionWarning / #preReleaseWarning / #installWarnings', () => {
    it('names the newer version in the line for the stack', () => {
      expect(newerVersionWarning(m, { name: 'agent', version: '1.2.3' }, 'cflinuxfs4')).to.contain('use version 1.2.9 instead of version 1.2.3');
      expect(newerVersionWarning(m, { name: 'agent', version: '1.2.9' }, 'cflinuxfs4')).to.equal(undefined);
      expect(newerVersionWarning(m, { name: 'agent', version: '1.2.9' }, undefined, 'minor')).to.contain('use version 1.3.0');
    });
    it('flags pre-releases', () => {
      expect(preReleaseWarning({ name: 'beta', version: '2.0.0-rc.1' })).to.equal(
        'beta 2.0.0-rc.1 is a pre-release version: it may change or break without notice; do not rely on it in production.',
      );
      expect(preReleaseWarning({ name: 'agent', version: '1.2.3' })).to.equal(undefined);
    });
    it('collects all of them', () => {
      const w = installWarnings(m, { name: 'agent', version: '1.2.3' }, 'cflinuxfs4', new Date('2030-03-30T00:00:00Z'));
      expect(w).to.have.length(2);
      expect(w[0]).to.match(/will no longer be available/);
      expect(w[1]).to.match(/^A newer version of agent/);
    });
    context('failure cases', () => {
      it('gives no newer-version warning when the version is not in the manifest for the stack', () => {
        expect(newerVersionWarning(m, { name: 'agent', version: '7.0.0' }, 'cflinuxfs4')).to.equal(undefined);
      });
    });
  });
});
