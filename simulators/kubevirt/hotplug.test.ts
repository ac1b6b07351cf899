import { expect } from 'chai';
import type { VirtualMachineInstance, VolumeStatus } from '../../lib/apis/kubevirt.js';
import { claimStatus, detachingStatus, diskOf, nextVolumeStatus } from './hotplug.js';
import { parseLosetupAssociations } from './loop-devices.js';
import type { PersistentVolumeClaim } from './storage-api.js';

const claim = (phase: 'Pending' | 'Bound' | 'Lost'): PersistentVolumeClaim => ({ metadata: { name: 'data' }, spec: {}, status: { phase } });

describe('hot-plug volume status', () => {
  it("reports a claim that is missing or not bound as virt-controller does", () => {
    expect(claimStatus('data', undefined)).to.deep.equal({ phase: 'Pending', reason: 'FailedPvcNotFound', message: 'PVC data not found' });
    expect(claimStatus('data', claim('Pending'))).to.deep.equal({ phase: 'Pending', reason: 'PVCNotReady', message: 'PVC is in phase ClaimPending' });
    expect(claimStatus('data', claim('Lost'))).to.deep.equal({ phase: 'Pending', reason: 'PVCNotReady', message: 'PVC is in phase Lost' });
    expect(claimStatus('data', claim('Bound'))).to.deep.equal({ phase: 'Bound', reason: 'PVCNotReady', message: 'PVC is in phase Bound' });
  });

  it('moves Bound -> AttachedToNode -> MountedToPod -> Ready, the target set once the guest has the disk', () => {
    let s: VolumeStatus = { name: 'data', target: '' };
    s = nextVolumeStatus(s, { kind: 'claim', claimName: 'data', claim: claim('Bound') });
    expect(s.phase).to.equal('Bound');
    s = nextVolumeStatus(s, { kind: 'attached', device: '/dev/loop4' });
    expect(s).to.include({ phase: 'AttachedToNode', reason: 'SuccessfulCreate' });
    s = nextVolumeStatus(s, { kind: 'mounted' });
    expect(s).to.include({ phase: 'MountedToPod', reason: 'VolumeMountedToPod', message: 'Volume data has been mounted in virt-launcher pod' });
    s = nextVolumeStatus(s, { kind: 'ready', target: 'loop4' });
    expect(s).to.include({ phase: 'Ready', target: 'loop4', reason: 'VolumeReady', message: 'Successfully attach hotplugged volume data to VM' });
    expect(detachingStatus(s)).to.include({ phase: 'Detaching', target: 'loop4' });
  });

  it('hot-plugs on SCSI unless the disk asks for virtio, with the serial of the disk', () => {
    const vmi: VirtualMachineInstance = {
      metadata: {},
      spec: { domain: { devices: { disks: [{ name: 'a', disk: { bus: 'virtio' }, serial: 'SA' }, { name: 'b', serial: 'SB' }, { name: 'c', lun: { bus: 'scsi' } }] } } },
    };
    expect(diskOf(vmi, 'a')).to.deep.equal({ bus: 'virtio', serial: 'SA' });
    expect(diskOf(vmi, 'b')).to.deep.equal({ bus: 'scsi', serial: 'SB' });
    expect(diskOf(vmi, 'c')).to.deep.equal({ bus: 'scsi', serial: undefined });
  });

  it("reads losetup -j's devices", () => {
    expect(parseLosetupAssociations('/dev/loop3: [2049]:131 (/tmp/run/pvc-1.img)\n/dev/loop12: [2049]:131 (/tmp/run/pvc-1.img)\n')).to.deep.equal(['/dev/loop3', '/dev/loop12']);
    expect(parseLosetupAssociations('')).to.deep.equal([]);
  });
});
