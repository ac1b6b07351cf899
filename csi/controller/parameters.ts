// StorageClass parameters kubevirt/csi-driver users already have (infraStorageClassName, bus), read once per
// CreateVolume, and the volume context a volume carries from CreateVolume to ControllerPublish and the node
// (bus and serial), under upstream's keys so volumes provisioned by it keep working.
import { invalidArgument } from '../status.js';

export const PARAM_INFRA_STORAGE_CLASS = 'infraStorageClassName';
export const PARAM_BUS = 'bus';
export const CONTEXT_BUS = 'bus';
export const CONTEXT_SERIAL = 'serial';
export const DEFAULT_BUS = 'scsi';
/** On the DataVolume: the bus CreateVolume was given, so ControllerGetVolume and ListVolumes answer its volume context. */
export const BUS_ANNOTATION = 'csi.kubevirt.io/bus';

/** Hot-plug attaches disks on these buses only (KubeVirt refuses sata for hot-plugged disks). */
const BUSES: ReadonlySet<string> = new Set(['scsi', 'virtio']);

export interface VolumeParameters {
  infraStorageClassName: string | undefined;
  bus: string;
}

export function parseVolumeParameters(parameters: Record<string, string> = {}): VolumeParameters {
  const bus = parameters[PARAM_BUS] ?? DEFAULT_BUS;
  if (!BUSES.has(bus)) throw invalidArgument(`parameter ${PARAM_BUS}: "${bus}" is not a bus hot-plug supports (scsi or virtio)`);
  const sc = parameters[PARAM_INFRA_STORAGE_CLASS];
  return { infraStorageClassName: sc === '' ? undefined : sc, bus };
}

/** "k=v,k2=v2" (the --infra-cluster-labels flag) -> labels; a pair without "=" is refused. */
export function parseLabelList(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`labels: "${pair}" is not key=value (want key=value,key=value)`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
