// Which volume capabilities the driver serves, checked the same way by CreateVolume, ValidateVolumeCapabilities,
// ControllerPublish and the node: a hot-plugged disk is attached to one VM at a time, read-write or read-only;
// ReadWriteMany is what live migration needs and only a raw block device can be shared that way.
import type { AccessModeName, VolumeCapability } from './csi-types.js';
import { invalidArgument } from './status.js';

const SUPPORTED_MODES: ReadonlySet<AccessModeName> = new Set(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_MULTI_WRITER']);
/** Filesystems the node plugin formats (mkfs.<type>); empty means the default, ext4. */
export const SUPPORTED_FS_TYPES: ReadonlySet<string> = new Set(['', 'ext4', 'ext3', 'xfs']);
export const DEFAULT_FS_TYPE = 'ext4';

/** Malformed: missing access type or mode. Thrown as INVALID_ARGUMENT by every RPC. */
export function checkWellFormed(cap: VolumeCapability | undefined, what = 'volume_capability'): VolumeCapability {
  if (!cap) throw invalidArgument(`${what} is required`);
  if (!cap.block && !cap.mount) throw invalidArgument(`${what}: access_type (block or mount) is required`);
  if (cap.block && cap.mount) throw invalidArgument(`${what}: access_type is either block or mount, not both`);
  const mode = cap.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw invalidArgument(`${what}: access_mode is required`);
  return cap;
}

/** Why the driver cannot serve a well-formed capability; undefined when it can. */
export function unsupportedReason(cap: VolumeCapability): string | undefined {
  const mode = cap.access_mode?.mode ?? 'UNKNOWN';
  if (!SUPPORTED_MODES.has(mode)) return `access mode ${mode} is not supported: a hot-plugged disk is attached to one VM at a time (SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY), or shared as a raw block device (MULTI_NODE_MULTI_WRITER)`;
  if (mode === 'MULTI_NODE_MULTI_WRITER' && cap.mount) return 'ReadWriteMany (MULTI_NODE_MULTI_WRITER) is supported for Block volumes only: a filesystem mounted by two VMs at once would be corrupted; use volumeMode: Block';
  const fsType = cap.mount?.fs_type ?? '';
  if (cap.mount && !SUPPORTED_FS_TYPES.has(fsType)) return `fs_type ${fsType} is not supported (want one of ext4, ext3, xfs)`;
  return undefined;
}

export const isReadOnlyMode = (cap: VolumeCapability): boolean => cap.access_mode?.mode === 'SINGLE_NODE_READER_ONLY' || cap.access_mode?.mode === 'MULTI_NODE_READER_ONLY';

/** The volume mode several capabilities ask for together; mixing block and mount is contradictory. */
export function volumeModeOf(caps: VolumeCapability[]): 'Block' | 'Filesystem' {
  const block = caps.some((c) => c.block);
  if (block && caps.some((c) => c.mount)) throw invalidArgument('volume_capabilities ask for both block and mount access: a volume is one or the other');
  return block ? 'Block' : 'Filesystem';
}
