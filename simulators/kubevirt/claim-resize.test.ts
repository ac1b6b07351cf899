import { expect } from 'chai';
import { markResized, markResizing, pendingGrowth } from './claim-resize.js';
import type { PersistentVolumeClaim } from './storage-api.js';

const claim = (requested: string, capacity: string, phase: 'Bound' | 'Pending' = 'Bound'): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'pvc-1', namespace: 'acme' },
  spec: { resources: { requests: { storage: requested } }, volumeName: 'pvc-uid' },
  status: { phase, capacity: { storage: capacity } },
});

describe('simulators/kubevirt/claim-resize', () => {
  const cases = [
    { name: 'grows a bound claim whose request outgrew its capacity', c: claim('134217728', '64Mi'), want: '134217728' },
    { name: 'leaves a claim whose capacity covers its request', c: claim('64Mi', '67108864'), want: undefined },
    { name: 'leaves a claim asking for less than it has (volumes never shrink)', c: claim('32Mi', '64Mi'), want: undefined },
    { name: 'leaves an unbound claim to the binder', c: claim('128Mi', '64Mi', 'Pending'), want: undefined },
  ];
  for (const tc of cases) it(tc.name, () => expect(pendingGrowth(tc.c)).to.equal(tc.want));

  it('marks a controller resize under way, then records the new capacity and clears the markers', () => {
    const c = claim('128Mi', '64Mi');
    markResizing(c, '128Mi');
    expect(c.status?.allocatedResources).to.deep.equal({ storage: '128Mi' });
    expect(c.status?.allocatedResourceStatuses).to.deep.equal({ storage: 'ControllerResizeInProgress' });
    expect(c.status?.conditions?.map((x) => [x.type, x.status])).to.deep.equal([['Resizing', 'True']]);
    markResized(c, '128Mi');
    expect(c.status?.capacity).to.deep.equal({ storage: '128Mi' });
    // allocatedResources stays: it records the size the claim was last resized to, as Kubernetes keeps it.
    expect(c.status?.allocatedResources).to.deep.equal({ storage: '128Mi' });
    expect(c.status?.allocatedResourceStatuses).to.equal(undefined);
    expect(c.status?.conditions).to.equal(undefined);
    expect(pendingGrowth(c)).to.equal(undefined);
  });
});
