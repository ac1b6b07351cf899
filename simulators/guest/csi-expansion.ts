// The guest kubelet's online volume expansion, as the kubelet's volume manager does it for a mounted CSI volume:
// when the PersistentVolume's capacity outgrows the size the volume was mounted at (external-resizer grew the
// volume and the PV), and the claim says the node's part is due (allocatedResourceStatuses NodeResizePending, the
// RecoverVolumeExpansionFailure protocol), it marks the claim NodeResizeInProgress, calls NodeExpandVolume with the
// pod's mount and the staging path, then records the new size in the claim's status.capacity and clears the
// resize markers and the FileSystemResizePending condition. A failed call leaves NodeResizeError on the claim and
// is retried on the next pass.
import type { Logger } from 'pino';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { VolumeCapability } from '../../csi/csi-types.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';
import { unary, type CsiDriver } from './csi-plugins.js';

const PVC = { apiVersion: 'v1', kind: 'PersistentVolumeClaim' } as const;
const PV = { apiVersion: 'v1', kind: 'PersistentVolume' } as const;

export const NODE_RESIZE_PENDING = 'NodeResizePending';
export const NODE_RESIZE_IN_PROGRESS = 'NodeResizeInProgress';
/** Conditions a finished node resize leaves behind on the claim: all of them go. */
const RESIZE_CONDITIONS = new Set(['FileSystemResizePending', 'Resizing', 'NodeResizeError']);

interface ClaimCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface Claim extends KubeObject {
  status?: {
    capacity?: { storage?: string };
    allocatedResources?: { storage?: string };
    allocatedResourceStatuses?: Record<string, string>;
    conditions?: ClaimCondition[];
  };
}

interface Volume extends KubeObject {
  spec: { capacity?: { storage?: string } };
}

/** A volume staged on this node, as the volume manager's actual state of the world holds it. */
export interface MountedVolume {
  pvName: string;
  volumeHandle: string;
  claim: { namespace: string; name: string };
  driver: CsiDriver;
  capability: VolumeCapability;
  stagingPath: string | undefined;
  /** A pod's publish path: the path NodeExpandVolume grows the volume at. */
  volumePath: string;
  /** The claim's capacity when the volume was mounted, raised by each node expansion. */
  sizeBytes: number;
}

export type NodeResizeStep = { size: number; updateClaim: boolean } | undefined;

/**
 * Whether to expand the node's side of a volume whose PV has `pvBytes` now, mounted at `mountedBytes`: the kubelet's
 * precheck. A claim that already has the size and no resize status (another node finished it) needs only the call;
 * NodeResizePending or NodeResizeInProgress (a retry) ask for it at the allocated size; anything else (the
 * controller side still running) waits.
 */
export function nodeResizeStep(claim: Claim, pvBytes: number, mountedBytes: number): NodeResizeStep {
  if (pvBytes <= mountedBytes) return undefined;
  const status = claim.status ?? {};
  const resizeStatus = status.allocatedResourceStatuses?.storage;
  const capacity = status.capacity?.storage ? parseQuantity(status.capacity.storage) : 0;
  if (resizeStatus === undefined && capacity >= pvBytes) return { size: pvBytes, updateClaim: false };
  if (resizeStatus === NODE_RESIZE_PENDING || resizeStatus === NODE_RESIZE_IN_PROGRESS) {
    const allocated = status.allocatedResources?.storage;
    return { size: allocated ? parseQuantity(allocated) : pvBytes, updateClaim: true };
  }
  return undefined;
}

/** The claim's status once the node finished: the new capacity, no resize status, no resize conditions. */
export function finishedStatus(claim: Claim, size: number): object {
  const { storage: _done, ...others } = claim.status?.allocatedResourceStatuses ?? {};
  return {
    capacity: { storage: String(size) },
    // null removes the key in a merge patch; the list of conditions is replaced whole.
    allocatedResourceStatuses: { ...others, storage: null },
    conditions: (claim.status?.conditions ?? []).filter((c) => !RESIZE_CONDITIONS.has(c.type)),
  };
}

function errorCondition(claim: Claim, message: string): ClaimCondition[] {
  const others = (claim.status?.conditions ?? []).filter((c) => c.type !== 'NodeResizeError');
  return [...others, { type: 'NodeResizeError', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), message }];
}

/**
 * One volume manager pass for a mounted volume; returns the size the volume is mounted at afterwards. Status
 * patches carry the claim's resourceVersion, so one racing the resizer fails and the next pass reads again.
 */
export async function expandIfGrown(volume: MountedVolume, client: Client, log: Logger): Promise<number> {
  const pv = await client.get<Volume>(PV, { name: volume.pvName }, { direct: true });
  const pvBytes = pv?.spec.capacity?.storage ? parseQuantity(pv.spec.capacity.storage) : 0;
  if (pvBytes <= volume.sizeBytes || !volume.driver.expands) return volume.sizeBytes;
  let claim = await client.get<Claim>(PVC, volume.claim, { direct: true });
  const step = claim ? nodeResizeStep(claim, pvBytes, volume.sizeBytes) : undefined;
  if (!claim || !step) return volume.sizeBytes;
  const patchStatus = (c: Claim, status: object) => client.mergePatch<Claim>(PVC, volume.claim, { metadata: { resourceVersion: c.metadata.resourceVersion }, status }, { subresource: 'status' });
  if (step.updateClaim) claim = await patchStatus(claim, { allocatedResourceStatuses: { storage: NODE_RESIZE_IN_PROGRESS } });
  try {
    await unary(volume.driver.node, 'NodeExpandVolume', {
      volume_id: volume.volumeHandle,
      volume_path: volume.volumePath,
      ...(volume.stagingPath ? { staging_target_path: volume.stagingPath } : {}),
      capacity_range: { required_bytes: step.size },
      volume_capability: volume.capability,
    });
  } catch (err) {
    const message = `NodeExpandVolume of ${volume.pvName}: ${(err as Error).message}`;
    if (step.updateClaim) await patchStatus(claim, { conditions: errorCondition(claim, message) });
    throw new Error(message, { cause: err });
  }
  if (step.updateClaim) await patchStatus(claim, finishedStatus(claim, step.size));
  log.info({ volume: volume.pvName, bytes: step.size }, 'expanded volume on the node');
  return step.size;
}
