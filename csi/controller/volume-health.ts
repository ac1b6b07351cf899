// What the controller knows about a tenant volume beyond its DataVolume's spec, read from the infra cluster alone:
// the nodes it is published on (ControllerGetVolume, ListVolumes) and its health (ControllerGetVolumeHealth,
// ControllerListVolumeHealth, CSI 1.13's successor of the removed VOLUME_CONDITION). Pure functions over the
// DataVolume, its claim and the tenant's VMs and VMIs, so a table test covers every case.
import type { DataVolume } from '../../lib/apis/cdi.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { VolumeHealthEntry } from '../csi-types.js';
import { oneEntryPerReason } from '../health.js';
import type { InfraClaim } from './expand.js';
import { holds, plugOf } from './hotplug.js';

/**
 * The node IDs of the tenant's VMs holding volume `id` (hot-plugged, or being hot-plugged), under both forms a node ID
 * takes (`<namespace>/<vm>` and `<vm>`, as vmNameOf accepts them): the CO compares them with the node ID its node
 * plugin reported, which may be either, and the spec lets the list name nodes the volume is not published to.
 * `vms` and `vmis` are the tenant's own (vm-ownership.ts): another tenant's VM is never named.
 */
export function publishedNodeIds(namespace: string, id: string, vms: readonly VirtualMachine[], vmis: readonly VirtualMachineInstance[]): string[] {
  const names = new Set<string>();
  for (const vm of vms) if (plugOf(vm.spec?.template.spec?.volumes, id) === 'ours') names.add(vm.metadata.name ?? '');
  for (const vmi of vmis) if (holds(vmi, id, true)) names.add(vmi.metadata.name ?? '');
  return [...names]
    .filter((n) => n !== '')
    .sort()
    .flatMap((n) => [`${namespace}/${n}`, n]);
}

export interface VolumeFacts {
  dv: DataVolume;
  /** The infra claim CDI made for the DataVolume (same name); undefined when there is none. */
  claim: InfraClaim | undefined;
  /** The tenant's VMIs (vm-ownership.ts). */
  vmis: readonly VirtualMachineInstance[];
  now: number;
  /** How long a claim may stay unbound (or missing) before that is a condition rather than provisioning under way. */
  graceMs: number;
}

/** CDI's phases in which an unbound claim is expected: it waits for its first consumer, the VM a hot-plug names. */
const WAITING_FOR_CONSUMER = new Set(['WaitForFirstConsumer', 'PendingPopulation']);

const ageMs = (created: string | undefined, now: number): number => (created ? now - Date.parse(created) : 0);
const conditionText = (dv: DataVolume): string =>
  (dv.status?.conditions ?? [])
    .filter((c) => c.status !== 'True' && c.message)
    .map((c) => `${c.type}: ${c.message ?? ''}`)
    .join('; ');

/** The volume's adverse conditions, as the infra cluster shows them; empty when none is known. */
export function volumeHealth(f: VolumeFacts): VolumeHealthEntry[] {
  const { dv, claim } = f;
  const ns = dv.metadata.namespace ?? '';
  const name = dv.metadata.name ?? '';
  const entries: VolumeHealthEntry[] = [];
  const why = conditionText(dv);
  if (dv.status?.phase === 'Failed') {
    entries.push({ status: 'INACCESSIBLE', reason: 'DataVolumeFailed', message: `infra DataVolume ${ns}/${name} failed${why ? `: ${why}` : ''}` });
  }
  const phase = claim?.status?.phase ?? 'Pending';
  if (claim && phase === 'Lost') {
    entries.push({ status: 'DATA_LOSS', reason: 'InfraClaimLost', message: `infra claim ${ns}/${name} is Lost: the PersistentVolume behind it is gone` });
  } else if (claim && phase !== 'Bound' && !WAITING_FOR_CONSUMER.has(dv.status?.phase ?? '') && ageMs(claim.metadata.creationTimestamp, f.now) > f.graceMs) {
    entries.push({ status: 'INACCESSIBLE', reason: 'InfraClaimNotBound', message: `infra claim ${ns}/${name} is ${phase}, not Bound, ${String(Math.round(ageMs(claim.metadata.creationTimestamp, f.now) / 1000))} s after its creation${why ? ` (${why})` : ''}` });
  } else if (!claim && dv.status?.phase !== 'Failed' && ageMs(dv.metadata.creationTimestamp, f.now) > f.graceMs) {
    // CDI could not create it: an exhausted ResourceQuota of the namespace, typically, which the DataVolume's conditions name.
    entries.push({ status: 'INACCESSIBLE', reason: 'InfraClaimMissing', message: `infra DataVolume ${ns}/${name} has no claim ${String(Math.round(ageMs(dv.metadata.creationTimestamp, f.now) / 1000))} s after its creation${why ? ` (${why})` : ''}` });
  }
  for (const vmi of f.vmis) {
    if (!holds(vmi, name, true)) continue;
    const status = vmi.status?.volumeStatus?.find((s) => s.name === name);
    if (status && status.phase !== 'Ready' && /^Failed|Error/.test(status.reason ?? '')) {
      entries.push({ status: 'INACCESSIBLE', reason: 'HotplugFailing', message: `hot-plug into VM ${vmi.metadata.name ?? ''}: ${status.phase ?? 'no phase'}, ${status.reason ?? ''}${status.message ? `: ${status.message}` : ''}` });
    }
  }
  return oneEntryPerReason(entries);
}
