// Names and paths the kubelet's CSI volume plugin uses, so the guest kubelet lays out CSI volumes where a real one
// does (node plugins and tools that look under /var/lib/kubelet find them) and names what the controllers match:
// the VolumeAttachment the attach-detach controller creates, the unique volume names of node.status.volumesInUse,
// the node ID annotation and the CSINode driver entry external-attacher reads.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AccessModeName, VolumeCapability } from '../../csi/csi-types.js';

/** Where node plugins put their registration sockets, which the kubelet watches. */
export const PLUGINS_REGISTRY_DIR = 'plugins_registry';
/** Node annotation: driver name -> node ID, as JSON (external-attacher reads it when CSINode is not there yet). */
export const NODE_ID_ANNOTATION = 'csi.volume.kubernetes.io/nodeid';
/** Node annotation telling the attach-detach controller that it, not the kubelet, attaches this node's volumes. */
export const CONTROLLER_MANAGED_ATTACH_DETACH = 'volumes.kubernetes.io/controller-managed-attach-detach';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The VolumeAttachment the attach-detach controller (and the kubelet) name for a volume on a node. */
export function attachmentName(volumeHandle: string, driver: string, nodeName: string): string {
  return `csi-${sha256(`${volumeHandle}${driver}${nodeName}`)}`;
}

/** A CSI volume's name in node.status.volumesInUse/volumesAttached. */
export function uniqueVolumeName(driver: string, volumeHandle: string): string {
  return `kubernetes.io/csi/${driver}^${volumeHandle}`;
}

export interface CsiVolumeRef {
  driver: string;
  volumeHandle: string;
  pvName: string;
  block: boolean;
}

/** NodeStageVolume's target: one per volume on the node, shared by every pod using it. */
export function stagingPath(kubeletDir: string, v: CsiVolumeRef): string {
  return v.block
    ? join(kubeletDir, 'plugins/kubernetes.io/csi/volumeDevices/staging', v.pvName)
    : join(kubeletDir, 'plugins/kubernetes.io/csi', v.driver, sha256(v.volumeHandle), 'globalmount');
}

/** NodePublishVolume's target for one pod: a directory (filesystem) or the device file (block) containers bind. */
export function publishPath(kubeletDir: string, podUID: string, v: CsiVolumeRef): string {
  return v.block
    ? join(kubeletDir, 'plugins/kubernetes.io/csi/volumeDevices/publish', v.pvName, podUID)
    : join(kubeletDir, 'pods', podUID, 'volumes/kubernetes.io~csi', v.pvName, 'mount');
}

const ACCESS_MODES: Record<string, AccessModeName> = {
  ReadWriteOnce: 'SINGLE_NODE_WRITER',
  // A driver without SINGLE_NODE_MULTI_WRITER (ours) gets the single-node mode the kubelet falls back to.
  ReadWriteOncePod: 'SINGLE_NODE_WRITER',
  ReadOnlyMany: 'MULTI_NODE_READER_ONLY',
  ReadWriteMany: 'MULTI_NODE_MULTI_WRITER',
};

/** The capability the kubelet stages and publishes a PV with: its first access mode, block or its fsType and mount options. */
export function volumeCapability(pv: { accessModes?: string[]; fsType?: string; mountOptions?: string[] }, block: boolean): VolumeCapability {
  const mode = ACCESS_MODES[pv.accessModes?.[0] ?? ''] ?? 'UNKNOWN';
  return block
    ? { block: {}, access_mode: { mode } }
    : { mount: { ...(pv.fsType ? { fs_type: pv.fsType } : {}), ...(pv.mountOptions?.length ? { mount_flags: pv.mountOptions } : {}) }, access_mode: { mode } };
}

/** The node ID annotation's value with `driver` set to `nodeID` (undefined: removed); other drivers' entries kept. */
export function nodeIdAnnotation(current: string | undefined, driver: string, nodeID: string | undefined): string | undefined {
  let ids: Record<string, string> = {};
  try {
    ids = current ? (JSON.parse(current) as Record<string, string>) : {};
  } catch {
    // A garbled annotation is rewritten from what is registered now, as the kubelet does.
  }
  const entries = [...Object.entries(ids).filter(([name]) => name !== driver), ...(nodeID === undefined ? [] : [[driver, nodeID]])];
  return entries.length > 0 ? JSON.stringify(Object.fromEntries(entries)) : undefined;
}

export interface CSINodeDriver {
  name: string;
  nodeID: string;
  topologyKeys?: string[] | null;
  allocatable?: { count?: number };
}

/**
 * CSINode's drivers with `entry` in place of the same driver's old entry (undefined entry: the driver removed).
 * The apiserver hands back a CSINode created without drivers with `drivers: null`.
 */
export function withCSINodeDriver(drivers: CSINodeDriver[] | null, name: string, entry: CSINodeDriver | undefined): CSINodeDriver[] {
  const others = (drivers ?? []).filter((d) => d.name !== name);
  return entry ? [...others, entry] : others;
}
