// CDI's DataVolume (cdi.kubevirt.io/v1beta1) with upstream JSON names: what KubeVirt VMs embed as
// dataVolumeTemplates and what the CSI driver creates. Only the fields kvcloud touches are typed.
import type { KubeObject, TypeMeta } from '../kube/object.js';
import type { LabelSelector } from './cluster-api.js';
import type { Quantity } from './core.js';

export const CDI_GROUP = 'cdi.kubevirt.io';
export const CDI_VERSION = 'v1beta1';
export const CDI_API_VERSION = `${CDI_GROUP}/${CDI_VERSION}`;

export const DATA_VOLUME_TYPE: TypeMeta = { apiVersion: CDI_API_VERSION, kind: 'DataVolume' };

export interface DataVolumeSource {
  http?: { url: string; secretRef?: string; certConfigMap?: string; extraHeaders?: string[] };
  registry?: { url?: string; imageStream?: string; pullMethod?: 'pod' | 'node'; secretRef?: string; certConfigMap?: string };
  pvc?: { namespace: string; name: string };
  snapshot?: { namespace: string; name: string };
  blank?: Record<string, never>;
  upload?: Record<string, never>;
  s3?: { url: string; secretRef?: string; certConfigMap?: string };
  gcs?: { url: string; secretRef?: string };
}

/** Core PersistentVolumeClaimSpec subset: `pvc` takes it verbatim. */
export interface PersistentVolumeClaimSpec {
  accessModes?: string[];
  resources?: { requests?: Record<string, Quantity>; limits?: Record<string, Quantity> };
  storageClassName?: string;
  volumeMode?: 'Filesystem' | 'Block';
  volumeName?: string;
  selector?: LabelSelector;
  dataSource?: { apiGroup?: string; kind: string; name: string };
  /** A populated claim: its data comes from this object (a PersistentVolumeClaim: a CSI clone by the storage). */
  dataSourceRef?: { apiGroup?: string; kind: string; name: string; namespace?: string };
}

/** Like a PVC spec, but CDI fills access and volume modes from the StorageProfile when omitted. */
export type StorageSpec = PersistentVolumeClaimSpec;

export interface DataVolumeSpec {
  source?: DataVolumeSource;
  sourceRef?: { kind: 'DataSource'; namespace?: string; name: string };
  pvc?: PersistentVolumeClaimSpec;
  storage?: StorageSpec;
  priorityClassName?: string;
  contentType?: 'kubevirt' | 'archive';
  preallocation?: boolean;
}

export type DataVolumePhase =
  | 'Unknown'
  | 'Pending'
  | 'PVCBound'
  | 'ImportScheduled'
  | 'ImportInProgress'
  | 'CloneScheduled'
  | 'CloneInProgress'
  | 'CloneFromSnapshotSourceInProgress'
  | 'SnapshotForSmartCloneInProgress'
  | 'CSICloneInProgress'
  | 'ExpansionInProgress'
  | 'NamespaceTransferInProgress'
  | 'UploadScheduled'
  | 'UploadReady'
  | 'WaitForFirstConsumer'
  | 'PendingPopulation'
  | 'Succeeded'
  | 'Failed'
  | 'Paused';

export interface DataVolumeCondition {
  type: 'Ready' | 'Bound' | 'Running';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastHeartbeatTime?: string;
}

export interface DataVolume extends KubeObject {
  spec?: DataVolumeSpec;
  status?: {
    phase?: DataVolumePhase;
    progress?: string;
    restartCount?: number;
    claimName?: string;
    conditions?: DataVolumeCondition[];
  };
}
