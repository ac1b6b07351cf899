// The infra VolumeSnapshot behind a tenant snapshot, as pure functions, with kubevirt/csi-driver's facts: the
// snapshot ID is the VolumeSnapshot's name (the CreateSnapshot name), it lives in the tenant's infra namespace with
// the tenant's infra labels, its source is the claim of the source volume's DataVolume (same name as the volume
// ID), and the VolumeSnapshotClass parameter infraSnapshotClassName picks its infra class (none: the infra default).
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../lib/apis/snapshot.js';
import type { Snapshot } from '../csi-types.js';
import { quantityBytes } from './datavolume.js';

export const PARAM_INFRA_SNAPSHOT_CLASS = 'infraSnapshotClassName';

export interface VolumeSnapshotRequest {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  sourceVolumeId: string;
  /** The infra VolumeSnapshotClass; undefined: the default class of the source's storage. */
  snapshotClassName: string | undefined;
}

export function buildVolumeSnapshot(req: VolumeSnapshotRequest): VolumeSnapshot {
  return {
    ...VOLUME_SNAPSHOT_TYPE,
    metadata: { name: req.name, namespace: req.namespace, labels: { ...req.labels } },
    spec: {
      source: { persistentVolumeClaimName: req.sourceVolumeId },
      ...(req.snapshotClassName !== undefined ? { volumeSnapshotClassName: req.snapshotClassName } : {}),
    },
  };
}

/** The infra class a CreateSnapshot's parameters ask for; an empty value is the infra default, as upstream. */
export function snapshotClassOf(parameters: Record<string, string> = {}): string | undefined {
  const name = parameters[PARAM_INFRA_SNAPSHOT_CLASS];
  return name === '' ? undefined : name;
}

export const sourceVolumeOf = (vs: VolumeSnapshot): string | undefined => vs.spec.source.persistentVolumeClaimName;

/** RFC 3339 -> google.protobuf.Timestamp. */
function timestamp(rfc3339: string | undefined): Snapshot['creation_time'] {
  const ms = rfc3339 ? Date.parse(rfc3339) : NaN;
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/**
 * The CSI view of an infra VolumeSnapshot. Its size is the restore size once the infra storage reports it; until
 * then the source volume's size (`sourceBytes`), which is what a restore needs at least.
 */
export function csiSnapshotOf(vs: VolumeSnapshot, sourceBytes = 0): Snapshot {
  return {
    snapshot_id: vs.metadata.name ?? '',
    source_volume_id: sourceVolumeOf(vs) ?? '',
    size_bytes: quantityBytes(vs.status?.restoreSize) ?? sourceBytes,
    creation_time: timestamp(vs.status?.creationTime ?? vs.metadata.creationTimestamp),
    ready_to_use: vs.status?.readyToUse === true,
  };
}
