// The storage under CDI's claims: a PersistentVolume provisioned per claim, pre-bound to it (claimRef) so
// kube-controller-manager's binder binds the pair as it binds a dynamically provisioned volume, and deleted once
// its claim is gone (Released), which is an external provisioner's job that kube-controller-manager leaves to us.
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { PERSISTENT_VOLUME, type PersistentVolume, type PersistentVolumeClaim } from './storage-api.js';
import { PROVISIONED_BY_ANNOTATION } from './labels.js';
import { backingFileOf, removeBackingFile } from './loop-devices.js';

export const PROVISIONER = 'kvcloud.local/kubevirt-simulator';

/** Named pvc-<claim uid>, as dynamic provisioners name volumes, so a retry finds the one already made. */
export function persistentVolumeFor(claim: PersistentVolumeClaim): PersistentVolume {
  const uid = claim.metadata.uid ?? '';
  const name = `pvc-${uid}`;
  return {
    ...PERSISTENT_VOLUME,
    metadata: { name, annotations: { [PROVISIONED_BY_ANNOTATION]: PROVISIONER } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      ...(claim.spec.storageClassName ? { storageClassName: claim.spec.storageClassName } : {}),
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace ?? '', name: claim.metadata.name ?? '', uid },
      // Nothing mounts it (launcher pods do not mount disks here); a volume source is required all the same.
      hostPath: { path: `/var/lib/kvcloud-simulator/volumes/${name}` },
    },
  };
}

export const provisionedByUs = (pv: PersistentVolume): boolean => pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] === PROVISIONER;

export class ReleasedVolumeReconciler implements Reconciler<PersistentVolume> {
  /** `volumesDir` holds the volumes' backing files (made when a volume is first hot-plugged). */
  constructor(private readonly volumesDir: string) {}

  async reconcile(pv: PersistentVolume, ctx: ReconcileContext): Promise<Result> {
    if (!provisionedByUs(pv) || pv.metadata.deletionTimestamp || pv.status?.phase !== 'Released') return done();
    // The data goes with the volume, as a dynamic provisioner's Delete reclaim policy deletes the disk.
    await removeBackingFile(backingFileOf(this.volumesDir, pv.metadata.name ?? ''));
    await ctx.client.delete(PERSISTENT_VOLUME, { name: pv.metadata.name ?? '' }, { preconditions: { uid: pv.metadata.uid ?? '' } });
    ctx.log.debug({ volume: pv.metadata.name }, 'deleted released volume');
    return done();
  }
}
