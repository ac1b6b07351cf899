// How the userdata reaches the guest: a cloud-init disk backed by the userdata Secret. ConfigDrive is CAPK's
// (hard-coded) choice and our default; Ignition-based images read it too. A template that carries a
// cloudInitNoCloud volume asks for NoCloud instead, the source whose network data cloud-init reads in its own
// (netplan v2) format: we deliver NoCloud then, keeping that volume's network data, so the template's intent
// survives instead of colliding with a second cloud-init volume (CAPK issue #200).
import type { Disk, Volume, VirtualMachineInstanceSpec } from '../../../lib/apis/kubevirt.js';

/** CAPK's volume and disk name. */
export const CLOUD_INIT_VOLUME = 'cloudinitvolume';

export type CloudInitSourceKind = 'configDrive' | 'noCloud';

/** What the template asks for. */
export interface CloudInitRequest {
  source: CloudInitSourceKind;
  /** Inline network data from the template (networkData, or networkDataBase64 decoded). */
  networkData?: string;
  /** A Secret of the user's, in the VM namespace, holding network data. */
  networkDataSecretName?: string;
}

export interface CloudInitDelivery {
  source: CloudInitSourceKind;
  /** Secret holding `userdata`, and `networkdata` when the template had inline network data. */
  secretName: string;
  /** Where the network data is read from, if there is any. */
  networkDataSecretName?: string | undefined;
}

function isCloudInit(v: Volume): boolean {
  return v.cloudInitConfigDrive !== undefined || v.cloudInitNoCloud !== undefined;
}

export function cloudInitRequest(spec: VirtualMachineInstanceSpec | undefined): CloudInitRequest {
  const noCloud = spec?.volumes?.find((v) => v.cloudInitNoCloud !== undefined)?.cloudInitNoCloud;
  if (!noCloud) return { source: 'configDrive' };
  const inline = noCloud.networkData ?? (noCloud.networkDataBase64 ? Buffer.from(noCloud.networkDataBase64, 'base64').toString('utf8') : undefined);
  return {
    source: 'noCloud',
    ...(inline !== undefined ? { networkData: inline } : {}),
    ...(noCloud.networkDataSecretRef ? { networkDataSecretName: noCloud.networkDataSecretRef.name } : {}),
  };
}

export function cloudInitVolume(delivery: CloudInitDelivery): Volume {
  const source = {
    secretRef: { name: delivery.secretName },
    ...(delivery.networkDataSecretName ? { networkDataSecretRef: { name: delivery.networkDataSecretName } } : {}),
  };
  return delivery.source === 'noCloud'
    ? { name: CLOUD_INIT_VOLUME, cloudInitNoCloud: source }
    : { name: CLOUD_INIT_VOLUME, cloudInitConfigDrive: source };
}

/**
 * Adds the cloud-init volume and its disk in place of any cloud-init volume the template carries (a VMI accepts
 * only one), so the guest always boots with the machine's own bootstrap data.
 */
export function withCloudInit(spec: VirtualMachineInstanceSpec, delivery: CloudInitDelivery): VirtualMachineInstanceSpec {
  const replaced = new Set((spec.volumes ?? []).filter((v) => v.name === CLOUD_INIT_VOLUME || isCloudInit(v)).map((v) => v.name));
  replaced.add(CLOUD_INIT_VOLUME);
  const volumes = [...(spec.volumes ?? []).filter((v) => !replaced.has(v.name)), cloudInitVolume(delivery)];
  const disk: Disk = { name: CLOUD_INIT_VOLUME, disk: { bus: 'virtio' } };
  const disks = [...(spec.domain.devices.disks ?? []).filter((d) => !replaced.has(d.name)), disk];
  return { ...spec, volumes, domain: { ...spec.domain, devices: { ...spec.domain.devices, disks } } };
}
