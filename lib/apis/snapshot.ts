// The snapshot.storage.k8s.io/v1 kinds of external-snapshotter (VolumeSnapshot, VolumeSnapshotContent,
// VolumeSnapshotClass) with upstream JSON names: what the CSI driver creates in the infra namespace and what the
// KubeVirt/CDI simulator's storage makes ready. Only the fields kvcloud touches are typed.
import type { KubeObject, TypeMeta } from '../kube/object.js';
import type { Quantity } from './core.js';

export const SNAPSHOT_API_VERSION = 'snapshot.storage.k8s.io/v1';
export const VOLUME_SNAPSHOT_TYPE: TypeMeta = { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshot' };
export const VOLUME_SNAPSHOT_CONTENT_TYPE: TypeMeta = { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshotContent' };
export const VOLUME_SNAPSHOT_CLASS_TYPE: TypeMeta = { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshotClass' };

/** On a VolumeSnapshotClass: the class snapshots of its driver get when they name none. */
export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
/** On a VolumeSnapshotContent: restoring it into a volume of another mode is allowed (Kubernetes 1.30 GA guard). */
export const ALLOW_VOLUME_MODE_CHANGE_ANNOTATION = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';
/** snapshot-controller's finalizers: a bound snapshot and its content go away together. */
export const SNAPSHOT_BOUND_FINALIZER = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
export const CONTENT_BOUND_FINALIZER = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';

export interface SnapshotError {
  message?: string;
  time?: string;
}

export interface VolumeSnapshot extends KubeObject {
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: Quantity;
    error?: SnapshotError;
  };
}

export interface VolumeSnapshotContent extends KubeObject {
  spec: {
    volumeSnapshotRef: { apiVersion?: string; kind?: string; namespace: string; name: string; uid?: string };
    source: { volumeHandle?: string; snapshotHandle?: string };
    driver: string;
    deletionPolicy: 'Delete' | 'Retain';
    volumeSnapshotClassName?: string;
    sourceVolumeMode?: 'Filesystem' | 'Block';
  };
  status?: {
    snapshotHandle?: string;
    /** Nanoseconds since the epoch, as csi-snapshotter records CreateSnapshot's creation_time. */
    creationTime?: number;
    readyToUse?: boolean;
    restoreSize?: number;
    error?: SnapshotError;
  };
}

export interface VolumeSnapshotClass extends KubeObject {
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}
