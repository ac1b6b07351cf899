// NodeGetVolumeHealth (CSI 1.13's successor of the removed VOLUME_CONDITION): whether a volume is still usable where
// the CO staged or published it in this VM. What can go wrong here, below the controller's view of the infra: the path
// is no mount any more, the hot-plugged disk behind it is gone from the VM (no node in /dev, or no record in udev's
// database, has its device number any more: the node of a static /dev may linger, a loop device's number stays), or
// the volume turned read-only under a read-write mount (ext4's errors=remount-ro after an I/O error; a disk that went
// read-only under a raw block publish).
import { execFile } from 'node:child_process';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VolumeHealthEntry } from '../csi-types.js';
import type { MountEntry, Mounter } from './mounts.js';

const run = promisify(execFile);

export interface PathState {
  path: string;
  /** What is at the path; undefined when nothing is. */
  kind: 'directory' | 'file' | 'block' | 'other' | undefined;
  mount: MountEntry | undefined;
  /** major:minor of the disk behind the mount: the mounted filesystem's, or the device's own for a raw block publish. */
  device: string | undefined;
  /** Whether the VM still has that disk. */
  devicePresent: boolean;
  /** For a raw block publish: whether the disk is read-only (blockdev --getro). */
  deviceReadOnly: boolean | undefined;
}

/** The adverse conditions of one staging or publish path. */
export function pathHealth(s: PathState): VolumeHealthEntry[] {
  if (!s.kind) return [{ status: 'INACCESSIBLE', reason: 'PathMissing', message: `nothing at ${s.path}` }];
  if (!s.mount) return [{ status: 'INACCESSIBLE', reason: 'NotMounted', message: `${s.path} is not a mount: the volume is not there any more` }];
  if (s.device && !s.devicePresent) {
    return [{ status: 'INACCESSIBLE', reason: 'DeviceGone', message: `the disk behind ${s.path} (device ${s.device}) is gone from this VM` }];
  }
  const mountedReadWrite = s.mount.options.includes('rw');
  if (mountedReadWrite && s.mount.superOptions.includes('ro')) {
    return [{ status: 'DEGRADED', reason: 'FilesystemReadOnly', message: `the ${s.mount.fsType} filesystem at ${s.path} is mounted read-write but has turned read-only (an I/O error, with errors=remount-ro)` }];
  }
  if (mountedReadWrite && s.kind === 'block' && s.deviceReadOnly) {
    return [{ status: 'DEGRADED', reason: 'DeviceReadOnly', message: `the disk published at ${s.path} (device ${s.device ?? ''}) is read-only, though published read-write` }];
  }
  return [];
}

/** major:minor of a device number as the kernel encodes it (glibc's major()/minor()). */
export function majorMinor(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${String(major)}:${String(minor)}`;
}

/** The device numbers of the block device nodes in `dir` (the VM's disks, hot-plugged ones included). */
async function blockDevices(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const name of await readdir(dir)) {
    const info = await stat(join(dir, name), { bigint: true }).catch(() => undefined);
    if (info?.isBlockDevice()) found.add(majorMinor(info.rdev));
  }
  return found;
}

/** Where the VM's disks show: their device nodes, and udev's database of the devices it knows. */
export interface DeviceDirs {
  devDir: string;
  udevDataDir: string;
}
export const SYSTEM_DEVICE_DIRS: DeviceDirs = { devDir: '/dev', udevDataDir: '/run/udev/data' };

const exists = (path: string) => access(path).then(() => true, () => false);

/** Whether the VM still has the disk numbered `device`: a node in /dev, and udev's record where udev keeps them. */
async function diskPresent(device: string, dirs: DeviceDirs): Promise<boolean> {
  if (!(await blockDevices(dirs.devDir)).has(device)) return false;
  // Without udev (no database) the node alone tells.
  return !(await exists(dirs.udevDataDir)) || exists(join(dirs.udevDataDir, `b${device}`));
}

/** What is at `path`, as pathHealth judges it. */
export async function inspectPath(path: string, mounter: Mounter, dirs: DeviceDirs = SYSTEM_DEVICE_DIRS): Promise<PathState> {
  const info = await stat(path, { bigint: true }).catch(() => undefined);
  const kind = !info ? undefined : info.isDirectory() ? 'directory' : info.isBlockDevice() ? 'block' : info.isFile() ? 'file' : 'other';
  const mount = info ? await mounter.mountAt(path) : undefined;
  if (!info || !mount) return { path, kind, mount, device: undefined, devicePresent: false, deviceReadOnly: undefined };
  const device = kind === 'block' ? majorMinor(info.rdev) : mount.device;
  // Only a disk can vanish: a filesystem without one (tmpfs, overlay) has a device number /dev never lists.
  const onDisk = kind === 'block' || mount.source.startsWith('/dev/');
  const devicePresent = !onDisk || (await diskPresent(device, dirs));
  const deviceReadOnly = kind === 'block' && devicePresent ? (await run('blockdev', ['--getro', path])).stdout.trim() === '1' : undefined;
  return { path, kind, mount, device: onDisk ? device : undefined, devicePresent, deviceReadOnly };
}
