// The node's view of mounts and filesystems, through the tools a node image has (mount, umount, blkid, mkfs):
// what is mounted where (from /proc/self/mountinfo, the mount namespace the plugin runs in), whether a device
// already carries a filesystem, and formatting one only when it carries none.
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MountEntry {
  /** Major:minor of the mounted filesystem's device. */
  device: string;
  /** The directory of the source within its filesystem ("/" for a whole-device mount). */
  root: string;
  point: string;
  /** The mount's own options (rw or ro for this mount point). */
  options: string[];
  /** The filesystem's options, shared by every mount of it (ro once ext4's errors=remount-ro has struck). */
  superOptions: string[];
  fsType: string;
  source: string;
}

const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** /proc/self/mountinfo lines -> entries (octal escapes decoded). */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [left = '', right = ''] = line.split(' - ');
    const f = left.split(' ');
    const [fsType = '', source = '', superOptions = ''] = right.split(' ');
    entries.push({ device: f[2] ?? '', root: unescape(f[3] ?? ''), point: unescape(f[4] ?? ''), options: (f[5] ?? '').split(','), superOptions: superOptions.split(','), fsType, source: unescape(source) });
  }
  return entries;
}

async function exec(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args)).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`${command} ${args.join(' ')}: ${stderr === '' ? (err as Error).message : stderr}`, { cause: err });
  }
}

/** The programs the node plugin runs; a node image without one of them cannot stage volumes. */
export const NODE_TOOLS = ['mount', 'umount', 'blkid', 'lsblk', 'blockdev', 'mkfs.ext4', 'dumpe2fs', 'e2fsck', 'resize2fs'] as const;

/** Those of `tools` found in no directory of `path` (a PATH value). */
export async function missingTools(tools: readonly string[], path = process.env.PATH ?? ''): Promise<string[]> {
  const dirs = path.split(':').filter((d) => d !== '');
  const found = await Promise.all(
    tools.map(async (tool) => {
      for (const dir of dirs) if (await access(join(dir, tool), constants.X_OK).then(() => true, () => false)) return true;
      return false;
    }),
  );
  return tools.filter((_, i) => !found[i]);
}

export interface Mounter {
  /** The mount visible at `path` (the last one mounted there); undefined when none. */
  mountAt(path: string): Promise<MountEntry | undefined>;
  /** The filesystem type on the device, or undefined when it carries none (never formatted). */
  filesystemOf(device: string): Promise<string | undefined>;
  format(device: string, fsType: string): Promise<void>;
  mount(source: string, target: string, opts: { fsType?: string | undefined; options: string[] }): Promise<void>;
  unmount(target: string): Promise<void>;
}

export const systemMounter: Mounter = {
  async mountAt(path) {
    return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'))
      .filter((e) => e.point === path)
      .at(-1);
  },
  async filesystemOf(device) {
    try {
      // -p probes the device itself (udev's cache may predate a format); exit status 2 means nothing was found.
      return (await run('blkid', ['-p', '-s', 'TYPE', '-o', 'value', device])).stdout.trim() || undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code === 2) return undefined;
      throw new Error(`blkid -p ${device}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`, { cause: err });
    }
  },
  async format(device, fsType) {
    // -F: a whole disk without a partition table is what we format; ext* reserve no blocks for root on a data disk.
    const args = fsType.startsWith('ext') ? ['-F', '-m0', device] : ['-f', device];
    await exec(`mkfs.${fsType}`, args);
  },
  async mount(source, target, opts) {
    const args = [...(opts.fsType ? ['-t', opts.fsType] : []), ...(opts.options.length ? ['-o', opts.options.join(',')] : []), source, target];
    await exec('mount', args);
  },
  async unmount(target) {
    await exec('umount', [target]);
  },
};
