import { expect } from 'chai';
import { RestartBackoff } from './restart-backoff.js';

describe('container restart backoff', () => {
  it('restarts at once the first time, then doubles from the initial delay up to the cap', () => {
    const backoff = new RestartBackoff({ initialMs: 10, maxMs: 50 });
    const delays = Array.from({ length: 6 }, () => backoff.delayAfterExit('uid/app', 1));
    expect(delays).to.deep.equal([0, 10, 20, 40, 50, 50]);
  });

  it('keeps containers apart', () => {
    const backoff = new RestartBackoff({ initialMs: 10, maxMs: 50 });
    backoff.delayAfterExit('uid/a', 1);
    expect(backoff.delayAfterExit('uid/a', 1)).to.equal(10);
    expect(backoff.delayAfterExit('uid/b', 1)).to.equal(0);
  });

  it('starts over after a run longer than twice the cap, or once forgotten', () => {
    const backoff = new RestartBackoff({ initialMs: 10, maxMs: 50 });
    backoff.delayAfterExit('uid/app', 1);
    backoff.delayAfterExit('uid/app', 1);
    expect(backoff.delayAfterExit('uid/app', 101)).to.equal(0);
    expect(backoff.delayAfterExit('uid/app', 1)).to.equal(10);
    backoff.forget('uid/');
    expect(backoff.delayAfterExit('uid/app', 1)).to.equal(0);
  });
});
