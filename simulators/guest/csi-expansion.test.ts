import { expect } from 'chai';
import { finishedStatus, nodeResizeStep, type Claim } from './csi-expansion.js';

const MiB = 1024 * 1024;
const claim = (status: Claim['status']): Claim => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, status });

describe('simulators/guest/csi-expansion', () => {
  const cases: { name: string; status: Claim['status']; pv: number; mounted: number; want: ReturnType<typeof nodeResizeStep> }[] = [
    { name: 'does nothing while the PV is no bigger than what is mounted', status: { capacity: { storage: '64Mi' } }, pv: 64 * MiB, mounted: 64 * MiB, want: undefined },
    {
      name: 'expands at the allocated size when the resizer left NodeResizePending',
      status: { capacity: { storage: '64Mi' }, allocatedResources: { storage: '128Mi' }, allocatedResourceStatuses: { storage: 'NodeResizePending' } },
      pv: 128 * MiB,
      mounted: 64 * MiB,
      want: { size: 128 * MiB, updateClaim: true },
    },
    {
      name: 'retries a node resize it started (NodeResizeInProgress)',
      status: { capacity: { storage: '64Mi' }, allocatedResources: { storage: '128Mi' }, allocatedResourceStatuses: { storage: 'NodeResizeInProgress' } },
      pv: 128 * MiB,
      mounted: 64 * MiB,
      want: { size: 128 * MiB, updateClaim: true },
    },
    {
      name: 'waits while the controller side is still resizing',
      status: { capacity: { storage: '64Mi' }, allocatedResources: { storage: '128Mi' }, allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' } },
      pv: 128 * MiB,
      mounted: 64 * MiB,
      want: undefined,
    },
    { name: 'grows its own mount without touching a claim another node already finished', status: { capacity: { storage: '128Mi' } }, pv: 128 * MiB, mounted: 64 * MiB, want: { size: 128 * MiB, updateClaim: false } },
  ];
  for (const tc of cases) it(tc.name, () => expect(nodeResizeStep(claim(tc.status), tc.pv, tc.mounted)).to.deep.equal(tc.want));

  it('finishes with the new capacity, no storage resize status and none of the resize conditions', () => {
    const c = claim({
      capacity: { storage: '64Mi' },
      allocatedResourceStatuses: { storage: 'NodeResizeInProgress' },
      conditions: [
        { type: 'FileSystemResizePending', status: 'True' },
        { type: 'ModifyingVolume', status: 'True' },
      ],
    });
    expect(finishedStatus(c, 128 * MiB)).to.deep.equal({ capacity: { storage: String(128 * MiB) }, allocatedResourceStatuses: { storage: null }, conditions: [{ type: 'ModifyingVolume', status: 'True' }] });
  });
});
