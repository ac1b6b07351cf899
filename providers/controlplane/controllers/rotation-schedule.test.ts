import { expect } from 'chai';
import { untilRenewal } from './rotation-schedule.js';

describe('controlplane/controllers untilRenewal', () => {
  const now = 1_000_000;
  const cases: { name: string; result: { requeueAfter?: number }; renewAt: number | undefined; want: { requeueAfter?: number } }[] = [
    { name: 'keeps the result when nothing is due', result: { requeueAfter: 5000 }, renewAt: undefined, want: { requeueAfter: 5000 } },
    { name: 'comes back at the renewal when the step would not', result: {}, renewAt: now + 60_000, want: { requeueAfter: 60_000 } },
    { name: 'keeps a sooner requeue', result: { requeueAfter: 2000 }, renewAt: now + 60_000, want: { requeueAfter: 2000 } },
    { name: 'shortens a later requeue to the renewal', result: { requeueAfter: 300_000 }, renewAt: now + 60_000, want: { requeueAfter: 60_000 } },
    { name: 'waits a second for a renewal already due, so a failing write does not spin', result: {}, renewAt: now - 5000, want: { requeueAfter: 1000 } },
    { name: 'caps a renewal months away at the timer ceiling', result: {}, renewAt: now + 200 * 86_400_000, want: { requeueAfter: 2_147_483_647 } },
  ];
  for (const tc of cases) it(tc.name, () => expect(untilRenewal(tc.result, tc.renewAt, now)).to.deep.equal(tc.want));
});
