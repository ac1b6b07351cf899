// The simulated infra storage's StorageClass: the volumes this simulator provisions, expandable, as an infra
// cluster's storage for KubeVirt disks usually is. Not the default class: DataVolumes that name no class keep
// binding as before, and those that name this one (CSI StorageClass parameter infraStorageClassName) can grow,
// which the apiserver allows only for a claim whose StorageClass sets allowVolumeExpansion.
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';
import { PROVISIONER } from './persistent-volume.js';

export const EXPANDABLE_STORAGE_CLASS = 'kubevirt-simulator-expandable';
const STORAGE_CLASS: TypeMeta = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' };

export function expandableStorageClass(): KubeObject & Record<string, unknown> {
  return {
    ...STORAGE_CLASS,
    metadata: { name: EXPANDABLE_STORAGE_CLASS },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  };
}

/** Installs the StorageClass when the cluster does not have it yet (a cluster shared by several suites keeps it). */
export async function ensureStorageClass(client: Client): Promise<void> {
  const wanted = expandableStorageClass();
  if (!(await client.get(STORAGE_CLASS, { name: EXPANDABLE_STORAGE_CLASS }, { direct: true }))) await client.apply(wanted);
}
