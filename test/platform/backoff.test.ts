// Diego's restart schedule (bbs restart_calculator.go) and the time scale.

import { expect } from 'chai';
import { goDuration, nextCrashCount, restartDelayMs, timeScale, timeScaleFrom, TIME_SCALE_ENV } from '../../src/platform/backoff.js';
import { UsageError } from '../../src/errors.js';

describe('restart back-off', () => {
  describe('#restartDelayMs', () => {
    it('follows the bbs schedule crash by crash', () => {
      const table: Array<[number, number | undefined]> = [
        [1, 0], [2, 0], [3, 30_000], [4, 60_000], [5, 120_000], [6, 240_000], [7, 480_000], [8, 960_000], [9, 960_000], [199, 960_000], [200, undefined], [201, undefined],
      ];
      for (const [crash, delay] of table) expect(restartDelayMs(crash), `crash ${crash}`).to.equal(delay);
    });
  });

  describe('#nextCrashCount', () => {
    it('counts up, and back to 1 after more than 5 minutes running', () => {
      expect(nextCrashCount(0, undefined)).to.equal(1);
      expect(nextCrashCount(4, 299_000)).to.equal(5);
      expect(nextCrashCount(4, 300_000)).to.equal(5);
      expect(nextCrashCount(4, 300_001)).to.equal(1);
    });
  });

  describe('#goDuration', () => {
    it('prints as Go does', () => {
      expect([0, 300, 1500, 5000, 30_000, 60_000, 61_500, 90_000, 960_000, 3_600_000].map(goDuration)).to.deep.equal(['0s', '300ms', '1.5s', '5s', '30s', '1m0s', '1m1.5s', '1m30s', '16m0s', '1h0m0s']);
    });
  });

  describe('#timeScaleFrom', () => {
    it('takes the flag over the env var, default 1', () => {
      expect(timeScaleFrom(undefined, {}).scale).to.equal(1);
      expect(timeScaleFrom(undefined, { [TIME_SCALE_ENV]: '0.01' }).real(30_000)).to.equal(300);
      expect(timeScaleFrom('0.5', { [TIME_SCALE_ENV]: '0.01' }).scale).to.equal(0.5);
      expect(timeScale(0.01).platform(300)).to.equal(30_000);
    });
    context('failure cases', () => {
      it('refuses a scale that is not in (0, 1], naming its source', () => {
        expect(() => timeScaleFrom('0', {})).to.throw(UsageError, '--time-scale "0"');
        expect(() => timeScaleFrom(undefined, { [TIME_SCALE_ENV]: 'fast' })).to.throw(UsageError, `${TIME_SCALE_ENV} "fast"`);
        expect(() => timeScaleFrom('2', {})).to.throw(UsageError);
      });
    });
  });
});
