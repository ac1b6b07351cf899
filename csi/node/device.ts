// Finding a hot-plugged disk inside the VM by the serial KubeVirt attached it with. udev names it under
// /dev/disk/by-id (virtio-<serial>, or scsi-0QEMU_QEMU_HARDDISK_<serial> on SCSI), but a virtio disk's serial is
// cut to 20 bytes by the device, and udev may not have run yet when the node is asked: so every name the serial
// can take is tried, then lsblk's SERIAL column, polling until the disk shows up.
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** virtio-blk's serial field holds 20 bytes; a longer serial is truncated by the device. */
export const VIRTIO_SERIAL_BYTES = 20;

/** The /dev/disk/by-id names udev gives a disk with this serial, on either bus, full and truncated. */
export function byIdCandidates(serial: string): string[] {
  const names = [`virtio-${serial}`, `scsi-0QEMU_QEMU_HARDDISK_${serial}`, `scsi-${serial}`];
  if (serial.length > VIRTIO_SERIAL_BYTES) names.push(`virtio-${serial.slice(0, VIRTIO_SERIAL_BYTES)}`);
  return names;
}

interface LsblkDevice {
  name?: string;
  serial?: string | null;
  children?: LsblkDevice[];
}

/** The device lsblk -J -o NAME,SERIAL lists with this serial (or its virtio truncation); undefined when none. */
export function deviceFromLsblk(json: string, serial: string): string | undefined {
  const devices = (JSON.parse(json) as { blockdevices?: LsblkDevice[] }).blockdevices ?? [];
  const short = serial.slice(0, VIRTIO_SERIAL_BYTES);
  const match = devices.find((d) => d.serial === serial || (serial.length > VIRTIO_SERIAL_BYTES && d.serial === short));
  return match?.name ? `/dev/${match.name}` : undefined;
}

export interface DeviceFinder {
  /** The device node of the disk with `serial`, or undefined when the VM has none (yet). */
  find(serial: string): Promise<string | undefined>;
}

export function systemDeviceFinder(byIdDir = '/dev/disk/by-id'): DeviceFinder {
  return {
    async find(serial) {
      for (const name of byIdCandidates(serial)) {
        const target = await realpath(join(byIdDir, name)).catch(() => undefined);
        if (target) return target;
      }
      const { stdout } = await run('lsblk', ['-J', '-d', '-o', 'NAME,SERIAL']);
      return deviceFromLsblk(stdout, serial);
    },
  };
}
