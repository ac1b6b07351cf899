// The requests virt-api leaves on a VM's status for virt-controller, as pure functions: which start / stop
// request is first in line, when a request has been carried out and leaves the queue, and the hot-plug volume
// requests applied to the VM's template (and dropped once the template shows them).
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { applyVolumeRequest } from './vm-actions.js';

const isFinal = (vmi: VirtualMachineInstance): boolean => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

export const hasStartRequest = (vm: VirtualMachine): boolean => vm.status?.stateChangeRequests?.[0]?.action === 'Start';

/** A Stop first in line for this VMI; one without a UID (written by hand, not by virt-api) stops whichever runs. */
export function hasStopRequestForVMI(vm: VirtualMachine, vmi: VirtualMachineInstance): boolean {
  const first = vm.status?.stateChangeRequests?.[0];
  return first?.action === 'Stop' && (first.uid === undefined || first.uid === vmi.metadata.uid);
}

/**
 * Drops the first request once it is done: a Stop when its VMI is gone (or another VMI runs), a Start when a live
 * VMI exists. One request at a time: the next one has not been acted upon yet.
 */
export function trimStateChangeRequests(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): void {
  const requests = vm.status?.stateChangeRequests;
  const first = requests?.[0];
  if (!requests || !first) return;
  const done =
    first.action === 'Stop'
      ? vmi === undefined || (first.uid !== undefined && first.uid !== vmi.metadata.uid)
      : vmi !== undefined && vmi.metadata.deletionTimestamp === undefined && !isFinal(vmi);
  if (done) requests.shift();
}

/** Applies the pending hot-plug requests to the VM's template (the VMI gets them separately). */
export function applyVolumeRequestsToTemplate(vm: VirtualMachine): void {
  const template = vm.spec?.template.spec;
  if (!template || !vm.spec) return;
  let spec = template;
  for (const request of vm.status?.volumeRequests ?? []) spec = applyVolumeRequest(spec, request);
  vm.spec.template.spec = spec;
}

/** trimDoneVolumeRequests: an add is done when the template has its volume and disk, a remove when it has neither. */
export function trimDoneVolumeRequests(vm: VirtualMachine): void {
  const status = vm.status;
  if (!status?.volumeRequests?.length) return;
  const spec = vm.spec?.template.spec;
  const volumes = new Set(spec?.volumes?.map((v) => v.name));
  const disks = new Set(spec?.domain.devices.disks?.map((d) => d.name));
  status.volumeRequests = status.volumeRequests.filter((r) => {
    const name = r.addVolumeOptions?.name ?? r.removeVolumeOptions?.name ?? '';
    return r.addVolumeOptions ? !(volumes.has(name) && disks.has(name)) : volumes.has(name) || disks.has(name);
  });
  if (status.volumeRequests.length === 0) delete status.volumeRequests;
}
