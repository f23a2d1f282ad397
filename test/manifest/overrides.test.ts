// Unit tests of per-app sidecar overrides from the staging env (NAME_VERSION, NAME_MEMORY,
// NAME_DISABLED, NAME_READINESS, NAME_READINESS_TIMEOUT), including hostile values.

import { expect } from 'chai';
import { OverrideError } from '../../src/errors.js';
import { applyOverrides, overrideVariableName, overrideVariables } from '../../src/manifest/overrides.js';
import type { SidecarSpec } from '../../src/manifest/types.js';
import { sidecarSpec } from '../helpers/sidecar-spec.js';
import { expectThrow } from '../helpers/assert.js';

/** The plain spec with a memory limit and a readiness check, which the overrides act on. */
function spec(extra: Partial<SidecarSpec> = {}): SidecarSpec {
  return sidecarSpec({
    memory: 64,
    readiness: { tcp: { port: 8082 }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 30, failure_threshold: 3, on_timeout: 'fail' },
    ...extra,
  });
}

function refusal(env: Record<string, string>, s = spec()): OverrideError {
  return expectThrow(() => applyOverrides(s, env), OverrideError);
}

describe('overrides', () => {
  describe('#overrideVariableName', () => {
    it('upper-cases the sidecar name and turns - into _', () => {
      expect(overrideVariableName('config-server', 'VERSION')).to.equal('CONFIG_SERVER_VERSION');
      expect(overrideVariableName('apm2', 'READINESS_TIMEOUT')).to.equal('APM2_READINESS_TIMEOUT');
    });
    it('lists every variable of a sidecar', () => {
      expect(overrideVariables('a-b')).to.deep.equal(['A_B_VERSION', 'A_B_MEMORY', 'A_B_DISABLED', 'A_B_READINESS', 'A_B_READINESS_TIMEOUT']);
    });
  });

  describe('#applyOverrides', () => {
    context('when no variable is set', () => {
      it('returns an equal copy, not disabled, no constraint', () => {
        const s = spec();
        const r = applyOverrides(s, { OTHER_VERSION: '9.x' });
        expect(r.spec).to.deep.equal(s);
        expect(r.spec).not.to.equal(s);
        expect(r.disabled).to.equal(false);
        expect(r.versionConstraint).to.equal(undefined);
        expect(r.applied).to.deep.equal([]);
      });
      it('treats empty values as unset', () => {
        const r = applyOverrides(spec(), { CONFIG_SERVER_VERSION: '', CONFIG_SERVER_MEMORY: '  ' });
        expect(r.versionConstraint).to.equal(undefined);
        expect(r.spec.memory).to.equal(64);
      });
    });

    context('when NAME_VERSION is set', () => {
      it('returns the constraint', () => {
        expect(applyOverrides(spec(), { CONFIG_SERVER_VERSION: '0.x' }).versionConstraint).to.equal('0.x');
        expect(applyOverrides(spec(), { CONFIG_SERVER_VERSION: '>=1.2.0 <1.3.0' }).versionConstraint).to.equal('>=1.2.0 <1.3.0');
        expect(applyOverrides(spec(), { CONFIG_SERVER_VERSION: ' 1.2.3 ' }).versionConstraint).to.equal('1.2.3');
      });
    });

    context('when NAME_MEMORY is set', () => {
      it('replaces the memory and leaves the input spec alone', () => {
        const s = spec();
        const r = applyOverrides(s, { CONFIG_SERVER_MEMORY: '128' });
        expect(r.spec.memory).to.equal(128);
        expect(s.memory).to.equal(64);
        expect(r.applied).to.deep.equal(['CONFIG_SERVER_MEMORY=128']);
      });
    });

    context('when NAME_DISABLED is set', () => {
      it('disables on true (any case) and not on false', () => {
        expect(applyOverrides(spec(), { CONFIG_SERVER_DISABLED: 'true' }).disabled).to.equal(true);
        expect(applyOverrides(spec(), { CONFIG_SERVER_DISABLED: 'TRUE' }).disabled).to.equal(true);
        expect(applyOverrides(spec(), { CONFIG_SERVER_DISABLED: 'false' }).disabled).to.equal(false);
      });
    });

    context('when NAME_READINESS / NAME_READINESS_TIMEOUT are set', () => {
      it('drops the readiness check on off', () => {
        const r = applyOverrides(spec(), { CONFIG_SERVER_READINESS: 'off' });
        expect(r.spec.readiness).to.equal(undefined);
        expect(r.spec.memory).to.equal(64);
      });
      it('keeps it on on', () => {
        expect(applyOverrides(spec(), { CONFIG_SERVER_READINESS: 'on' }).spec.readiness?.timeout_seconds).to.equal(30);
      });
      it('replaces the timeout only', () => {
        const r = applyOverrides(spec(), { CONFIG_SERVER_READINESS_TIMEOUT: '90' });
        expect(r.spec.readiness).to.deep.include({ timeout_seconds: 90, period_seconds: 1, on_timeout: 'fail' });
      });
      it('lets off win over a timeout', () => {
        const r = applyOverrides(spec(), { CONFIG_SERVER_READINESS: 'off', CONFIG_SERVER_READINESS_TIMEOUT: '90' });
        expect(r.spec.readiness).to.equal(undefined);
      });
      it('accepts off for a sidecar without readiness', () => {
        expect(applyOverrides(spec({ readiness: undefined }), { CONFIG_SERVER_READINESS: 'off' }).spec.readiness).to.equal(undefined);
      });
    });

    context('failure cases', () => {
      const cases: [string, Record<string, string>, string][] = [
        ['a version that is not a constraint', { CONFIG_SERVER_VERSION: 'latest' }, 'CONFIG_SERVER_VERSION'],
        ['a version with a command substitution', { CONFIG_SERVER_VERSION: '1.x$(reboot)' }, 'CONFIG_SERVER_VERSION'],
        ['a version with a semicolon', { CONFIG_SERVER_VERSION: '1.2.3; rm -rf /' }, 'CONFIG_SERVER_VERSION'],
        ['a version with a backtick', { CONFIG_SERVER_VERSION: '`id`' }, 'CONFIG_SERVER_VERSION'],
        ['a version with a newline', { CONFIG_SERVER_VERSION: '1.x\nEVIL=1' }, 'CONFIG_SERVER_VERSION'],
        ['memory with a unit', { CONFIG_SERVER_MEMORY: '64M' }, 'CONFIG_SERVER_MEMORY'],
        ['zero memory', { CONFIG_SERVER_MEMORY: '0' }, 'CONFIG_SERVER_MEMORY'],
        ['negative memory', { CONFIG_SERVER_MEMORY: '-5' }, 'CONFIG_SERVER_MEMORY'],
        ['memory with metacharacters', { CONFIG_SERVER_MEMORY: '64;reboot' }, 'CONFIG_SERVER_MEMORY'],
        ['disabled not a boolean', { CONFIG_SERVER_DISABLED: 'yes' }, 'CONFIG_SERVER_DISABLED'],
        ['disabled with a newline', { CONFIG_SERVER_DISABLED: 'true\nfalse' }, 'CONFIG_SERVER_DISABLED'],
        ['readiness not off', { CONFIG_SERVER_READINESS: 'disabled' }, 'CONFIG_SERVER_READINESS'],
        ['a timeout of 0', { CONFIG_SERVER_READINESS_TIMEOUT: '0' }, 'CONFIG_SERVER_READINESS_TIMEOUT'],
        ['a fractional timeout', { CONFIG_SERVER_READINESS_TIMEOUT: '1.5' }, 'CONFIG_SERVER_READINESS_TIMEOUT'],
      ];
      for (const [what, env, variable] of cases) {
        it(`refuses ${what}, naming ${variable}`, () => {
          const e = refusal(env);
          expect(e.variable).to.equal(variable);
          expect(e.code).to.equal('OVERRIDE_INVALID');
          expect(e.message.startsWith(`${variable}: `)).to.equal(true, e.message);
          expect(e.message).not.to.contain('\n');
        });
      }
      it('refuses a readiness timeout for a sidecar without readiness', () => {
        const e = refusal({ CONFIG_SERVER_READINESS_TIMEOUT: '60' }, spec({ readiness: undefined }));
        expect(e.message).to.equal('CONFIG_SERVER_READINESS_TIMEOUT: sidecar config-server declares no readiness check to time out');
      });
      it('shortens a long rejected value', () => {
        const e = refusal({ CONFIG_SERVER_MEMORY: 'x'.repeat(1000) });
        expect(e.message.length).to.be.lessThan(200);
      });
    });
  });
});
