// The core storage kinds CDI's simulator creates (PersistentVolumeClaim, PersistentVolume): plain JSON with
// upstream names, only the fields it touches.
import type { PersistentVolumeClaimSpec } from '../../lib/apis/cdi.js';
import type { Quantity } from '../../lib/apis/core.js';
import type { KubevirtCondition } from '../../lib/apis/kubevirt.js';
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';

export const PERSISTENT_VOLUME_CLAIM: TypeMeta = { apiVersion: 'v1', kind: 'PersistentVolumeClaim' };
export const PERSISTENT_VOLUME: TypeMeta = { apiVersion: 'v1', kind: 'PersistentVolume' };

export interface PersistentVolumeClaim extends KubeObject {
  spec: PersistentVolumeClaimSpec;
  status?: {
    phase?: 'Pending' | 'Bound' | 'Lost';
    accessModes?: string[];
    capacity?: Record<string, Quantity>;
    /** A resize under way: the size being resized to, and by whom (ControllerResizeInProgress, NodeResizePending, ...). */
    allocatedResources?: Record<string, Quantity>;
    allocatedResourceStatuses?: Record<string, string>;
    conditions?: KubevirtCondition[];
  };
}

export interface PersistentVolume extends KubeObject {
  spec: {
    capacity: Record<string, Quantity>;
    accessModes: string[];
    volumeMode?: string;
    storageClassName?: string;
    persistentVolumeReclaimPolicy: 'Delete' | 'Retain';
    claimRef?: { apiVersion?: string; kind?: string; namespace: string; name: string; uid?: string };
    hostPath?: { path: string; type?: string };
  };
  status?: { phase?: 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed' };
}
