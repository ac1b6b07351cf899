import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume, type DataVolumeCondition } from '../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance, type VolumeStatus } from '../../lib/apis/kubevirt.js';
import type { InfraClaim } from './expand.js';
import type { VolumeHealthEntry } from '../csi-types.js';
import { publishedNodeIds, volumeHealth } from './volume-health.js';

const NOW = Date.parse('2026-12-08T02:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const plugged = { name: 'pvc-1', dataVolume: { name: 'pvc-1', hotpluggable: true } };

function dataVolume(phase: string | undefined, createdSecondsAgo = 600, conditions: DataVolumeCondition[] = []): DataVolume {
  return { ...DATA_VOLUME_TYPE, metadata: { name: 'pvc-1', namespace: 'ns', creationTimestamp: ago(createdSecondsAgo) }, ...(phase ? { status: { phase: phase as never, conditions } } : {}) };
}
const claim = (phase: string, createdSecondsAgo = 600): InfraClaim => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-1', namespace: 'ns', creationTimestamp: ago(createdSecondsAgo) }, spec: {}, status: { phase } });
const vmi = (name: string, statuses: Partial<VolumeStatus>[], volumes = [plugged]): VirtualMachineInstance => ({
  ...VIRTUAL_MACHINE_INSTANCE_TYPE,
  metadata: { name },
  spec: { domain: { devices: {} }, volumes },
  status: { volumeStatus: statuses.map((s) => ({ name: 'pvc-1', target: '', ...s })) },
});
const vm = (name: string, volumes = [plugged]): VirtualMachine => ({ ...VIRTUAL_MACHINE_TYPE, metadata: { name }, spec: { template: { spec: { domain: { devices: {} }, volumes } } } });

describe('csi/controller/volume-health', () => {
  const cases: { name: string; dv: DataVolume; claim?: InfraClaim; vmis?: VirtualMachineInstance[]; want: Pick<VolumeHealthEntry, 'status' | 'reason'>[]; message?: RegExp }[] = [
    { name: 'a bound volume, hot-plugged and Ready', dv: dataVolume('Succeeded'), claim: claim('Bound'), vmis: [vmi('vm-a', [{ phase: 'Ready', reason: 'VolumeReady' }])], want: [] },
    {
      name: 'a failed DataVolume, with its conditions',
      dv: dataVolume('Failed', 600, [{ type: 'Running', status: 'False', reason: 'Error', message: 'Unable to connect to http data source' }]),
      claim: claim('Bound'),
      want: [{ status: 'INACCESSIBLE', reason: 'DataVolumeFailed' }],
      message: /^infra DataVolume ns\/pvc-1 failed: Running: Unable to connect to http data source$/,
    },
    { name: 'a Lost claim', dv: dataVolume('Succeeded'), claim: claim('Lost'), want: [{ status: 'DATA_LOSS', reason: 'InfraClaimLost' }] },
    { name: 'a claim Pending past the grace period', dv: dataVolume('Pending'), claim: claim('Pending', 120), want: [{ status: 'INACCESSIBLE', reason: 'InfraClaimNotBound' }], message: /is Pending, not Bound, 120 s after/ },
    { name: 'a claim Pending within the grace period: provisioning under way', dv: dataVolume('Pending'), claim: claim('Pending', 5), want: [] },
    { name: 'a claim waiting for its first consumer', dv: dataVolume('WaitForFirstConsumer'), claim: claim('Pending', 600), want: [] },
    {
      name: 'no claim past the grace period (the quota refused it)',
      dv: dataVolume('Pending', 600, [{ type: 'Bound', status: 'False', reason: 'ErrExceededQuota', message: 'exceeded quota: storage' }]),
      want: [{ status: 'INACCESSIBLE', reason: 'InfraClaimMissing' }],
      message: /no claim 600 s after its creation \(Bound: exceeded quota: storage\)/,
    },
    { name: 'no claim yet, just created', dv: dataVolume(undefined, 1), want: [] },
    {
      name: 'a hot-plug failing in two VMs: one entry naming both',
      dv: dataVolume('Succeeded'),
      claim: claim('Bound'),
      vmis: [vmi('vm-a', [{ phase: 'Pending', reason: 'FailedPvcNotFound', message: 'PVC pvc-1 not found' }]), vmi('vm-b', [{ phase: 'Pending', reason: 'FailedPvcNotFound' }])],
      want: [{ status: 'INACCESSIBLE', reason: 'HotplugFailing' }],
      message: /VM vm-a: Pending, FailedPvcNotFound: PVC pvc-1 not found; hot-plug into VM vm-b/,
    },
    { name: 'a hot-plug under way', dv: dataVolume('Succeeded'), claim: claim('Bound'), vmis: [vmi('vm-a', [{ phase: 'AttachedToNode', reason: 'SuccessfulCreate' }])], want: [] },
    { name: 'a failing status of that name in a VMI that holds another volume under it', dv: dataVolume('Succeeded'), claim: claim('Bound'), vmis: [vmi('vm-a', [{ phase: 'Pending', reason: 'FailedPvcNotFound' }], [{ name: 'pvc-1', dataVolume: { name: 'other', hotpluggable: true } }])], want: [] },
  ];
  for (const tc of cases) {
    it(`health: ${tc.want.map((w) => w.reason).join(', ') || 'none'} for ${tc.name}`, () => {
      const got = volumeHealth({ dv: tc.dv, claim: tc.claim, vmis: tc.vmis ?? [], now: NOW, graceMs: 60_000 });
      expect(got.map((e) => ({ status: e.status, reason: e.reason }))).to.deep.equal(tc.want);
      if (tc.message) expect(got[0]?.message).to.match(tc.message);
    });
  }

  it('names each VM holding the volume under both node ID forms, and no VM holding another volume of that name', () => {
    const ids = publishedNodeIds('ns', 'pvc-1', [vm('vm-b'), vm('vm-c', [])], [vmi('vm-a', [{ phase: 'Ready' }]), vmi('vm-b', [{ phase: 'Ready' }]), vmi('vm-d', [], [{ name: 'pvc-1', dataVolume: { name: 'theirs', hotpluggable: true } }])]);
    expect(ids).to.deep.equal(['ns/vm-a', 'vm-a', 'ns/vm-b', 'vm-b']);
  });
});
