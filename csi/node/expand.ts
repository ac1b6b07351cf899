// NodeExpandVolume: once the controller grew the infra volume and KubeVirt the disk the VM sees, the filesystem on
// it is grown online where it is mounted (staged or published): resize2fs on the device for ext*, xfs_growfs on
// the mount point for xfs. The disk is the source of that mount, the one the node staged after finding it by its
// serial. A raw block volume has no filesystem: the bigger device is all there is to it.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../../lib/observability/logger.js';
import { checkWellFormed } from '../capabilities.js';
import type { NodeExpandVolumeRequest } from '../csi-types.js';
import { CsiError, failedPrecondition, invalidArgument, notFound } from '../status.js';
import type { VolumeLocks } from '../volume-locks.js';
import type { Mounter } from './mounts.js';

const run = promisify(execFile);

/** The commands that grow a mounted filesystem of `fsType`; undefined for a type that cannot be grown here. */
export function growCommand(fsType: string, device: string, mountPoint: string): [string, string[]] | undefined {
  if (fsType === 'ext2' || fsType === 'ext3' || fsType === 'ext4') return ['resize2fs', [device]];
  if (fsType === 'xfs') return ['xfs_growfs', [mountPoint]];
  return undefined;
}

export interface FilesystemGrower {
  /** The size of the block device in bytes. */
  deviceBytes(device: string): Promise<number>;
  /** The size of the ext* filesystem on an unmounted device in bytes (its superblock's block count and size). */
  extFilesystemBytes(device: string): Promise<number>;
  run(command: string, args: string[]): Promise<void>;
}

export const systemGrower: FilesystemGrower = {
  async deviceBytes(device) {
    return Number((await run('blockdev', ['--getsize64', device])).stdout.trim());
  },
  async extFilesystemBytes(device) {
    const header = (await run('dumpe2fs', ['-h', device])).stdout;
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(header)?.[1]);
    const bytes = field('Block count') * field('Block size');
    if (!Number.isFinite(bytes) || bytes <= 0) throw new Error(`dumpe2fs -h ${device}: no block count and size in its header`);
    return bytes;
  },
  async run(command, args) {
    try {
      await run(command, args);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
      throw new Error(`${command} ${args.join(' ')}: ${stderr === '' ? (err as Error).message : stderr}`, { cause: err });
    }
  },
};

export interface NodeExpandDeps {
  locks: VolumeLocks;
  mounter: Mounter;
  grower: FilesystemGrower;
  log: Logger;
}

export async function nodeExpandVolume(req: NodeExpandVolumeRequest, deps: NodeExpandDeps): Promise<object> {
  const id = req.volume_id ?? '';
  if (id === '') throw invalidArgument('volume_id is required');
  const path = req.volume_path ?? '';
  if (path === '') throw invalidArgument('volume_path is required');
  const cap = req.volume_capability ? checkWellFormed(req.volume_capability) : undefined;
  const required = req.capacity_range?.required_bytes ?? 0;
  return deps.locks.run(id, 'NodeExpandVolume', async () => {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw notFound(`volume ${id}: nothing at ${path}`);
    // Without a capability the path tells: a raw block volume is a device (bind-mounted over a file), never a directory.
    if (cap?.block || !info.isDirectory()) return {};
    const mount = await deps.mounter.mountAt(path);
    if (!mount) throw notFound(`volume ${id} is not staged or published at ${path}`);
    const device = mount.source;
    const bytes = await deps.grower.deviceBytes(device);
    // The disk grows when KubeVirt resizes it after the infra claim grew; until then there is nothing to grow into.
    if (bytes < required) throw new CsiError(Status.UNAVAILABLE, `volume ${id}: disk ${device} is ${String(bytes)} bytes, not yet the ${String(required)} asked for; retry once it grew`);
    const command = growCommand(mount.fsType, device, path);
    if (!command) throw failedPrecondition(`volume ${id} carries a ${mount.fsType} filesystem, which cannot be grown online`);
    try {
      await deps.grower.run(...command);
    } catch (err) {
      // The kernel grows a mounted ext4 only for a caller with CAP_SYS_RESOURCE (EXT4_IOC_RESIZE_FS).
      if ((err as Error).message.includes('Permission denied to resize')) throw failedPrecondition(`volume ${id}: growing the mounted ${mount.fsType} filesystem needs CAP_SYS_RESOURCE, which this node plugin lacks (run it privileged): ${(err as Error).message}`);
      throw err;
    }
    deps.log.info({ volume: id, device, fsType: mount.fsType, bytes }, 'expanded filesystem');
    return { capacity_bytes: bytes };
  });
}

/** ext* filesystems, which grow offline as well as online. */
const EXT_FILESYSTEMS = new Set(['ext2', 'ext3', 'ext4']);

/**
 * Before staging, an ext* filesystem smaller than its disk is grown offline: the volume was expanded while no pod
 * used it, or an online NodeExpandVolume was refused (a node plugin without CAP_SYS_RESOURCE, which the kernel asks
 * only of a mounted ext4). resize2fs on an unmounted filesystem needs a forced check first; e2fsck -p exits 1 when it
 * corrected something, which still leaves a filesystem fit to grow. Returns whether it grew.
 */
export async function growUnmounted(device: string, fsType: string, grower: FilesystemGrower): Promise<boolean> {
  if (!EXT_FILESYSTEMS.has(fsType)) return false;
  const [disk, filesystem] = await Promise.all([grower.deviceBytes(device), grower.extFilesystemBytes(device)]);
  if (filesystem >= disk) return false;
  await grower.run('e2fsck', ['-f', '-p', device]).catch((err: unknown) => {
    if ((err as { cause?: { code?: unknown } }).cause?.code !== 1) throw err;
  });
  await grower.run('resize2fs', [device]);
  return true;
}
