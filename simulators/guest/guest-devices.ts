// The guest's view of its disks, as a VM's kernel and udev give it: a hot-plugged block device (a loop device the
// KubeVirt simulator attached on the node) appears under /dev/disk/by-id with a name carrying its serial, and
// udev's database records the serial so `lsblk -o SERIAL` shows it. /dev and /run are the node's own directories
// here, so the guest first lays a private overlay over each (its mount namespace only, submounts kept): nothing
// it writes there reaches the node or another guest.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type DiskBus = 'scsi' | 'virtio';

/** The /dev/disk/by-id entry udev's persistent-storage rules make for a QEMU disk with this serial. */
export function byIdName(bus: DiskBus, serial: string): string {
  return bus === 'virtio' ? `virtio-${serial}` : `scsi-0QEMU_QEMU_HARDDISK_${serial}`;
}

/** udev's database record (/run/udev/data/b<major>:<minor>) for the disk: lsblk reads SERIAL from it. */
export function udevRecord(bus: DiskBus, serial: string | undefined): string {
  const lines = ['I:1', `E:ID_BUS=${bus}`, 'E:DEVTYPE=disk'];
  if (serial) {
    if (bus === 'scsi') lines.push('E:ID_VENDOR=QEMU', 'E:ID_MODEL=QEMU_HARDDISK', `E:ID_SCSI_SERIAL=${serial}`, `E:ID_SERIAL=0QEMU_QEMU_HARDDISK_${serial}`, `E:ID_SERIAL_SHORT=${serial}`);
    else lines.push(`E:ID_SERIAL=${serial}`);
    lines.push(`S:disk/by-id/${byIdName(bus, serial)}`);
  }
  return `${lines.join('\n')}\n`;
}

interface MountEntry {
  id: string;
  parent: string;
  point: string;
}

/** /proc/self/mountinfo: mount id, parent id and mount point (octal escapes decoded). */
export function parseMountinfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', parent = '', , , point = ''] = l.split(' ');
      return { id, parent, point: point.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) };
    });
}

const under = (path: string, dir: string): boolean => path.startsWith(dir === '/' ? '/' : `${dir}/`);

/**
 * The mount points directly below `dir`: those whose parent is the mount visible at `dir` (the last one mounted
 * at or above it). Moving these keeps everything mounted deeper, which travels with them.
 */
export function submountsOf(entries: MountEntry[], dir: string): string[] {
  const holders = entries.filter((e) => e.point === dir || under(dir, e.point));
  const deepest = Math.max(...holders.map((e) => e.point.length));
  const visible = holders.filter((e) => e.point.length === deepest).at(-1);
  if (!visible) return [];
  return [...new Set(entries.filter((e) => e.parent === visible.id && under(e.point, dir)).map((e) => e.point))];
}

async function mount(...args: string[]): Promise<void> {
  try {
    await run('mount', args);
  } catch (err) {
    throw new Error(`mount ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`, { cause: err });
  }
}

/** Lays a private, writable overlay over `dir`, with what was mounted below it put back on top. */
async function privatize(dir: string, scratch: string): Promise<void> {
  const kept = submountsOf(parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')), dir);
  const base = join(scratch, dir.replaceAll('/', '_'));
  await mkdir(join(base, 'upper'), { recursive: true });
  await mkdir(join(base, 'work'), { recursive: true });
  for (const [i, point] of kept.entries()) {
    const keep = join(base, `keep-${String(i)}`);
    // A file can be a mount point too (the pod runner binds /run's files one by one once anything is mounted below
    // /run, as `ip netns add` leaves /run/netns), and a mount moves only onto its own kind.
    if ((await stat(point)).isDirectory()) await mkdir(keep);
    else await writeFile(keep, '');
    await mount('--move', point, keep);
  }
  await mount('-t', 'overlay', 'kvcloud-guest', '-o', `lowerdir=${dir},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`, dir);
  for (const [i, point] of kept.entries()) await mount('--move', join(base, `keep-${String(i)}`), point);
}

export interface AddedDevice {
  /** The device's name in the guest, reported as the volume's target. */
  target: string;
}

interface Plugged {
  major: number;
  minor: number;
  bus: DiskBus;
  serial: string | undefined;
}

export class GuestDevices {
  /** What was plugged, by target, so an unplug undoes exactly that. */
  private readonly plugged = new Map<string, Plugged>();

  /**
   * Makes /dev and /run private to the guest (a tmpfs at `scratchDir` holds the overlays' upper layers), so the
   * by-id links and udev records it writes stay inside this VM.
   */
  static async prepare(scratchDir: string): Promise<GuestDevices> {
    await mkdir(scratchDir, { recursive: true });
    await mount('-t', 'tmpfs', '-o', 'mode=0700', 'kvcloud-guest-devices', scratchDir);
    await privatize('/dev', scratchDir);
    await privatize('/run', scratchDir);
    await mkdir('/dev/disk/by-id', { recursive: true });
    await mkdir('/run/udev/data', { recursive: true });
    return new GuestDevices();
  }

  /** The kernel announced a disk: udev names it by its serial. */
  async add(opts: { device: string; major: number; minor: number; bus: DiskBus; serial?: string | undefined }): Promise<AddedDevice> {
    const target = opts.device.replace(/^\/dev\//, '');
    // A device node the node made after this overlay was laid may not show through it: make it, as virt-handler
    // makes hot-plugged block devices in the launcher's filesystem.
    if (!existsSync(opts.device)) await run('mknod', [opts.device, 'b', String(opts.major), String(opts.minor)]);
    this.plugged.set(target, { major: opts.major, minor: opts.minor, bus: opts.bus, serial: opts.serial });
    await writeFile(`/run/udev/data/b${String(opts.major)}:${String(opts.minor)}`, udevRecord(opts.bus, opts.serial));
    if (opts.serial) {
      const link = join('/dev/disk/by-id', byIdName(opts.bus, opts.serial));
      await rm(link, { force: true });
      await symlink(`../../${target}`, link);
    }
    return { target };
  }

  /** The disk went away: its links and record go with it. */
  async remove(target: string): Promise<void> {
    const disk = this.plugged.get(target);
    if (!disk) return; // already gone: unplugging twice is not an error
    await rm(`/run/udev/data/b${String(disk.major)}:${String(disk.minor)}`, { force: true });
    if (disk.serial) await rm(join('/dev/disk/by-id', byIdName(disk.bus, disk.serial)), { force: true });
    this.plugged.delete(target);
  }
}
