// Where a DataVolume's data comes from before its claim is bound: CDI's snapshot source (an infra VolumeSnapshot
// of this namespace, once ReadyToUse), a claim source (CDI's clone) or the claim's dataSourceRef to another claim
// (a CSI clone by the storage, what kubevirt/csi-driver asks for). Blank and import sources have nothing to copy.
import type { DataVolume } from '../../lib/apis/cdi.js';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../lib/apis/snapshot.js';
import type { ReconcileContext } from '../../lib/controller/reconciler.js';
import { backingFileOf } from './loop-devices.js';
import { snapshotFileOf } from './snapshot-data.js';
import { PERSISTENT_VOLUME_CLAIM, type PersistentVolumeClaim } from './storage-api.js';

/** The source a DataVolume is populated from, as a reference; undefined for one that starts blank or imports. */
export function populationSourceOf(dv: DataVolume): { kind: 'snapshot' | 'claim'; namespace: string; name: string } | undefined {
  const ns = dv.metadata.namespace ?? '';
  const source = dv.spec?.source;
  if (source?.snapshot) return { kind: 'snapshot', namespace: source.snapshot.namespace || ns, name: source.snapshot.name };
  if (source?.pvc) return { kind: 'claim', namespace: source.pvc.namespace || ns, name: source.pvc.name };
  const ref = (dv.spec?.storage ?? dv.spec?.pvc)?.dataSourceRef;
  if (ref?.kind === 'PersistentVolumeClaim' && !ref.apiGroup) return { kind: 'claim', namespace: ref.namespace ?? ns, name: ref.name };
  return undefined;
}

export type Population = { ready: true; file: string | undefined } | { ready: false; waiting: string };

/** The backing file to copy into the new volume, once its source can give one. */
export async function populationFile(dv: DataVolume, volumesDir: string, ctx: ReconcileContext): Promise<Population> {
  const source = populationSourceOf(dv);
  if (!source) return { ready: true, file: undefined };
  const ref = { namespace: source.namespace, name: source.name };
  if (source.kind === 'snapshot') {
    const vs = await ctx.cache.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, ref);
    const content = vs?.status?.boundVolumeSnapshotContentName;
    if (vs?.status?.readyToUse !== true || !content) return { ready: false, waiting: `VolumeSnapshot ${source.namespace}/${source.name} is not ready to use` };
    return { ready: true, file: snapshotFileOf(volumesDir, content) };
  }
  const claim = await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, ref);
  if (claim?.status?.phase !== 'Bound' || !claim.spec.volumeName) return { ready: false, waiting: `source PVC ${source.namespace}/${source.name} is not bound` };
  return { ready: true, file: backingFileOf(volumesDir, claim.spec.volumeName) };
}
