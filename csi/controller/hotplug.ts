// How a tenant volume stands among a VM's or VMI's volumes. The controller hot-plugs DataVolume <id> under the
// volume name <id>, but a name alone proves nothing: in an infra namespace that several tenants (or other users)
// share, a volume of that name may come from another source. Only a hot-plugged volume whose source is the
// DataVolume (or its claim, CDI names both alike) is the tenant's volume; anything else under its name is someone
// else's, to be neither waited on, nor unplugged, nor taken as a reason to refuse the tenant.
import type { Volume, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';

/**
 * - `absent`: no volume of that name and none from that DataVolume.
 * - `ours`: the DataVolume hot-plugged under its own name.
 * - `name-taken`: a volume of that name from another source (or one that cannot be unplugged).
 * - `under-another-name`: the DataVolume in the VM under another volume name, which the driver never does.
 */
export type Plug = 'absent' | 'ours' | 'name-taken' | 'under-another-name';

const sourceOf = (v: Volume): string | undefined => v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
const hotpluggable = (v: Volume): boolean => v.dataVolume?.hotpluggable === true || v.persistentVolumeClaim?.hotpluggable === true;

/** How DataVolume `id` stands among `volumes` (a VM template's or a VMI's). */
export function plugOf(volumes: readonly Volume[] | undefined, id: string): Plug {
  const named = (volumes ?? []).find((v) => v.name === id);
  if (named) return sourceOf(named) === id && hotpluggable(named) ? 'ours' : 'name-taken';
  return (volumes ?? []).some((v) => sourceOf(v) === id) ? 'under-another-name' : 'absent';
}

/**
 * Whether a VMI holds DataVolume `id`: from its spec by source, whatever the volume's name; and, for a VMI of the
 * tenant's own Cluster, also a volume status of that name (a hot-unplug under way leaves the status after the spec).
 * Another Cluster's status of that name alone is theirs: counting it would let them block the volume by naming a
 * volume of theirs after it.
 */
export function holds(vmi: VirtualMachineInstance, id: string, tenantsOwn: boolean): boolean {
  if ((vmi.spec?.volumes ?? []).some((v) => sourceOf(v) === id)) return true;
  return tenantsOwn && plugOf(vmi.spec?.volumes, id) !== 'name-taken' && (vmi.status?.volumeStatus ?? []).some((s) => s.name === id);
}
