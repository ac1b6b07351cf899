// The block devices behind hot-plugged volumes: each PersistentVolume the simulator provisions has a sparse
// backing file in the run's volumes directory, and attaching it to a VM is a loop device over that file, as
// virt-handler would hand the VM a block device. `losetup -j` finds the devices of a file again after a restart,
// so attaching is idempotent and nothing depends on memory alone.
import { execFile } from 'node:child_process';
import { open, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const backingFileOf = (volumesDir: string, persistentVolume: string): string => join(volumesDir, `${persistentVolume}.img`);

/** The loop devices over `file`, from `losetup -j` lines ("/dev/loop3: [2049]:131 (/path)"). */
export function parseLosetupAssociations(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^(\/dev\/loop\d+):/.exec(line)?.[1])
    .filter((d): d is string => d !== undefined);
}

export async function loopDevicesOf(file: string): Promise<string[]> {
  const { stdout } = await run('losetup', ['-j', file]);
  return parseLosetupAssociations(stdout);
}

/** The file exists with at least `sizeBytes` (sparse: no disk is used until the guest writes). */
export async function ensureBackingFile(file: string, sizeBytes: number): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  const handle = await open(file, 'a');
  try {
    if ((await handle.stat()).size < sizeBytes) await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
}

/** Grows an existing backing file to `sizeBytes` (never shrinks it); false when there is no file yet. */
export async function growBackingFile(file: string, sizeBytes: number): Promise<boolean> {
  if (!(await stat(file).catch(() => undefined))) return false;
  await ensureBackingFile(file, sizeBytes);
  return true;
}

/** Re-reads the size of `file` into each loop device over it (losetup -c), as a grown disk reaches the node. */
export async function refreshLoopDevices(file: string): Promise<void> {
  for (const device of await loopDevicesOf(file)) await run('losetup', ['--set-capacity', device]);
}

/** The loop device over `file`, made if there is none yet. */
export async function attachLoopDevice(file: string): Promise<string> {
  const [existing] = await loopDevicesOf(file);
  if (existing) return existing;
  const { stdout } = await run('losetup', ['--find', '--show', file]);
  const device = stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup --find --show ${file}: unexpected output ${JSON.stringify(stdout)}`);
  return device;
}

/** Detaches every loop device over `file`; a file that is gone has none. */
export async function detachLoopDevices(file: string): Promise<void> {
  if (!(await stat(file).catch(() => undefined))) return;
  for (const device of await loopDevicesOf(file)) await run('losetup', ['-d', device]);
}

/** Removes a backing file (its volume is gone), and the directory once it is empty. */
export async function removeBackingFile(file: string): Promise<void> {
  await detachLoopDevices(file);
  await rm(file, { force: true });
  await rmdir(join(file, '..')).catch(() => undefined); // not empty, or already gone
}

/** "/dev/loop3" -> { major: 7, minor: 3 }, from the device node itself. */
export async function deviceNumbers(device: string): Promise<{ major: number; minor: number }> {
  const { rdev } = await stat(device);
  // Linux encodes dev_t with the minor's low byte in bits 0-7 and the major in bits 8-19.
  return { major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
}
