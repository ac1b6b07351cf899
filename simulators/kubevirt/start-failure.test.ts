import { expect } from 'chai';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { startBackoffLeftMs, startBackoffSeconds, syncStartFailure } from './start-failure.js';

const vm = (): VirtualMachine => ({ metadata: { name: 'vm' }, spec: { runStrategy: 'Always', template: {} } });
const failed = (uid: string, ran = false): VirtualMachineInstance => ({
  metadata: { name: 'vm', uid },
  status: {
    phase: 'Failed',
    phaseTransitionTimestamps: [
      { phase: 'Pending', phaseTransitionTimestamp: '2026-01-01T00:00:00Z' },
      ...(ran ? [{ phase: 'Running' as const, phaseTransitionTimestamp: '2026-01-01T00:00:05Z' }] : []),
      { phase: 'Failed', phaseTransitionTimestamp: '2026-01-01T00:00:09Z' },
    ],
  },
});
const now = new Date('2026-01-01T00:01:00Z');

describe('VM start failure backoff', () => {
  it('grows quadratically from ten seconds and stops at five minutes', () => {
    expect([1, 2, 3, 5, 6, 20].map(startBackoffSeconds)).to.deep.equal([10, 40, 90, 250, 300, 300]);
  });

  it('counts each VMI that failed before it ran once, and says how long to wait', () => {
    const subject = vm();
    syncStartFailure(subject, failed('a'), 'Always', now);
    syncStartFailure(subject, failed('a'), 'Always', now);
    expect(subject.status?.startFailure).to.deep.equal({ consecutiveFailCount: 1, lastFailedVMIUID: 'a', retryAfterTimestamp: '2026-01-01T00:01:10Z' });
    expect(startBackoffLeftMs(subject, now)).to.equal(10_000);
    syncStartFailure(subject, failed('b'), 'Always', now);
    expect(subject.status?.startFailure?.consecutiveFailCount).to.equal(2);
    expect(startBackoffLeftMs(subject, new Date('2026-01-01T00:02:00Z'))).to.equal(0);
  });

  it('forgets the failures once a VMI ran, or when nothing would restart it', () => {
    const subject = vm();
    syncStartFailure(subject, failed('a'), 'Always', now);
    syncStartFailure(subject, failed('b', true), 'Always', now);
    expect(subject.status?.startFailure).to.equal(undefined);
    syncStartFailure(subject, failed('c'), 'Manual', now);
    expect(subject.status?.startFailure).to.equal(undefined);
  });
});
