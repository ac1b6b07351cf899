// A hot-plugged volume's status.volumeStatus entry as virt-controller and virt-handler move it along, as pure
// functions: Pending while its claim is missing or unbound, Bound, AttachedToNode once the block device exists on
// the node (a loop device here, where KubeVirt runs an attachment pod), MountedToPod once the launcher sees it,
// Ready once the guest has it; on removal Detaching until the device is gone, then the entry goes.
import type { Disk, VirtualMachineInstance, Volume, VolumeStatus } from '../../lib/apis/kubevirt.js';
import type { PersistentVolumeClaim } from './storage-api.js';

export const isHotplugVolume = (v: Volume): boolean => v.persistentVolumeClaim?.hotpluggable === true || v.dataVolume?.hotpluggable === true;
export const claimNameOf = (v: Volume): string | undefined => v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;

/** What the node-side step observed for one volume; each reconcile moves a volume one step. */
export type HotplugObservation =
  | { kind: 'claim'; claim: PersistentVolumeClaim | undefined; claimName: string }
  | { kind: 'attached'; device: string }
  | { kind: 'mounted' }
  | { kind: 'ready'; target: string };

/** virt-controller's getVolumePhaseMessageReason, for a claim that is not yet usable (undefined once it is Bound). */
export function claimStatus(claimName: string, claim: PersistentVolumeClaim | undefined): Pick<VolumeStatus, 'phase' | 'reason' | 'message'> {
  if (!claim) return { phase: 'Pending', reason: 'FailedPvcNotFound', message: `PVC ${claimName} not found` };
  switch (claim.status?.phase) {
    case 'Bound':
      // virt-controller reports a bound claim with this reason too: the volume is not attached yet.
      return { phase: 'Bound', reason: 'PVCNotReady', message: 'PVC is in phase Bound' };
    case 'Lost':
      return { phase: 'Pending', reason: 'PVCNotReady', message: 'PVC is in phase Lost' };
    default:
      return { phase: 'Pending', reason: 'PVCNotReady', message: 'PVC is in phase ClaimPending' };
  }
}

/** The next status of a volume still in the spec, given what was observed. */
export function nextVolumeStatus(current: VolumeStatus, observed: HotplugObservation): VolumeStatus {
  const name = current.name;
  switch (observed.kind) {
    case 'claim':
      return { ...current, ...claimStatus(observed.claimName, observed.claim), hotplugVolume: {} };
    case 'attached':
      return { ...current, phase: 'AttachedToNode', reason: 'SuccessfulCreate', message: `Attached block device ${observed.device} for volume ${name}`, hotplugVolume: {} };
    case 'mounted':
      return { ...current, phase: 'MountedToPod', reason: 'VolumeMountedToPod', message: `Volume ${name} has been mounted in virt-launcher pod` };
    case 'ready':
      return { ...current, phase: 'Ready', target: observed.target, reason: 'VolumeReady', message: `Successfully attach hotplugged volume ${name} to VM` };
  }
}

/** A volume gone from the spec whose device is still being taken away. */
export function detachingStatus(current: VolumeStatus): VolumeStatus {
  return { ...current, phase: 'Detaching', reason: 'SuccessfulDelete', message: `Detaching block device for volume ${current.name}` };
}

/** The disk a hot-plugged volume is attached as: its bus (KubeVirt hot-plugs on SCSI unless told virtio) and serial. */
export function diskOf(vmi: VirtualMachineInstance, volume: string): { bus: 'scsi' | 'virtio'; serial: string | undefined } {
  const disk: Disk | undefined = vmi.spec?.domain.devices.disks?.find((d) => d.name === volume);
  const bus = disk?.disk?.bus ?? disk?.lun?.bus;
  return { bus: bus === 'virtio' ? 'virtio' : 'scsi', serial: disk?.serial };
}
