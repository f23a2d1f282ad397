// Crash texts and the crash tracker (Diego's schedule on a compressed clock).

import { expect } from 'chai';
import { timeScale } from '../../src/platform/backoff.js';
import { CrashTracker, crashLines, exitDescription } from '../../src/platform/crash.js';

describe('crash', () => {
  describe('#exitDescription', () => {
    it('says Codependent step exited for 0, the status otherwise, and out of memory', () => {
      expect(exitDescription('APP/PROC/WEB', 0)).to.equal('Codependent step exited');
      expect(exitDescription('APP/PROC/WEB', 3)).to.equal('APP/PROC/WEB: Exited with status 3');
      expect(exitDescription('APP/PROC/WEB/SIDECAR/AGENT', 137, true)).to.equal('APP/PROC/WEB/SIDECAR/AGENT: Exited with status 137 (out of memory)');
    });
  });
  describe('#crashLines', () => {
    it('puts the process crash before the payload', () => {
      const [first, second] = crashLines({ appGuid: 'a', instanceGuid: 'i', index: 1, cellId: 'c', processType: 'web', description: 'd', crashCount: 2, version: 'v', at: 1 });
      expect(first).to.equal('Process has crashed with type: "web"');
      expect(second).to.equal('App instance exited with guid a payload: {"instance"=>"i", "index"=>1, "cell_id"=>"c", "reason"=>"CRASHED", "exit_description"=>"d", "crash_count"=>2, "crash_timestamp"=>1000000, "version"=>"v"}');
    });
  });
  describe('CrashTracker', () => {
    it('follows the schedule with the scale, and resets after 5 platform minutes running', () => {
      const t = new CrashTracker(timeScale(0.01));
      const plans = [1, 2, 3, 4].map(() => t.crash(0));
      expect(plans.map((p) => [p.crashCount, p.delayMs, p.message])).to.deep.equal([
        [1, 0, 'restarting now'],
        [2, 0, 'restarting now'],
        [3, 300, 'restarting in 30s'],
        [4, 600, 'restarting in 1m0s'],
      ]);
      t.running(0);
      expect(t.crash(2999).crashCount).to.equal(5); // 4m59.9s of platform time
      t.running(0);
      expect(t.crash(3001).crashCount).to.equal(1);
    });
    it('stops restarting at crash 200', () => {
      const t = new CrashTracker(timeScale(1));
      let last;
      for (let i = 0; i < 200; i++) last = t.crash(0);
      expect(last).to.deep.equal({ crashCount: 200, delayMs: undefined, message: 'crashed 200 times: not restarting again' });
    });
  });
});
