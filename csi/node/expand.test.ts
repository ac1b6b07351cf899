import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { pino } from 'pino';
import { rejection } from '../../lib/testing/rejection.js';
import type { CsiError } from '../status.js';
import { VolumeLocks } from '../volume-locks.js';
import { growCommand, growUnmounted, nodeExpandVolume, type FilesystemGrower } from './expand.js';
import type { MountEntry, Mounter } from './mounts.js';

const FS = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } as const;
const MiB = 1024 * 1024;

describe('csi/node/expand', () => {
  it('grows ext filesystems by their device and xfs by its mount point, and nothing else', () => {
    expect(growCommand('ext4', '/dev/sdb', '/mnt')).to.deep.equal(['resize2fs', ['/dev/sdb']]);
    expect(growCommand('ext3', '/dev/sdb', '/mnt')).to.deep.equal(['resize2fs', ['/dev/sdb']]);
    expect(growCommand('xfs', '/dev/sdb', '/mnt')).to.deep.equal(['xfs_growfs', ['/mnt']]);
    expect(growCommand('vfat', '/dev/sdb', '/mnt')).to.equal(undefined);
  });

  describe('NodeExpandVolume', () => {
    let dir: string;
    let mounts: MountEntry[];
    let ran: string[];
    let diskBytes: number;
    const mounter = { mountAt: (path: string) => Promise.resolve(mounts.find((m) => m.point === path)) } as Mounter;
    const grower: FilesystemGrower = {
      deviceBytes: () => Promise.resolve(diskBytes),
      extFilesystemBytes: () => Promise.reject(new Error('NodeExpandVolume grows mounted filesystems only')),
      run: (command, args) => {
        ran.push([command, ...args].join(' '));
        return Promise.resolve();
      },
    };
    const expand = (req: object) => nodeExpandVolume(req, { locks: new VolumeLocks(), mounter, grower, log: pino({ level: 'silent' }) });
    const codeOf = async (p: Promise<unknown>) => ((await rejection(p, 'NodeExpandVolume')) as CsiError).code;
    const mounted = (point: string, fsType: string) => mounts.push({ device: '8:16', root: '/', point, options: ['rw'], superOptions: ['rw'], fsType, source: '/dev/sdb' });

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'csi-expand-'));
      mounts = [];
      ran = [];
      diskBytes = 128 * MiB;
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('grows the filesystem on the disk mounted at the volume path and reports the disk size', async () => {
      const target = join(dir, 'mount');
      await mkdir(target);
      mounted(target, 'ext4');
      expect(await expand({ volume_id: 'pvc-1', volume_path: target, capacity_range: { required_bytes: 128 * MiB }, volume_capability: FS })).to.deep.equal({ capacity_bytes: 128 * MiB });
      expect(ran).to.deep.equal(['resize2fs /dev/sdb']);
    });

    it('says FAILED_PRECONDITION, naming the capability, when the kernel refuses an online resize', async () => {
      const target = join(dir, 'mount');
      await mkdir(target);
      mounted(target, 'ext4');
      const refusing: FilesystemGrower = { ...grower, run: () => Promise.reject(new Error('resize2fs /dev/sdb: resize2fs 1.47.0 (5-Feb-2023)\nresize2fs: Permission denied to resize filesystem')) };
      const err = (await rejection(nodeExpandVolume({ volume_id: 'pvc-1', volume_path: target }, { locks: new VolumeLocks(), mounter, grower: refusing, log: pino({ level: 'silent' }) }), 'NodeExpandVolume')) as CsiError;
      expect(err.code).to.equal(status.FAILED_PRECONDITION);
      expect(err.message).to.match(/needs CAP_SYS_RESOURCE/);
    });

    it('waits (UNAVAILABLE) while the disk the VM sees is smaller than asked for', async () => {
      const target = join(dir, 'mount');
      await mkdir(target);
      mounted(target, 'ext4');
      expect(await codeOf(expand({ volume_id: 'pvc-1', volume_path: target, capacity_range: { required_bytes: 256 * MiB } }))).to.equal(status.UNAVAILABLE);
      expect(ran).to.deep.equal([]);
    });

    it('has nothing to grow on a raw block volume, told by the capability or by the device file at the path', async () => {
      const device = join(dir, 'dev');
      await writeFile(device, '');
      expect(await expand({ volume_id: 'pvc-b', volume_path: device })).to.deep.equal({});
      expect(await expand({ volume_id: 'pvc-b', volume_path: device, volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } })).to.deep.equal({});
      expect(ran).to.deep.equal([]);
    });

    it('answers missing fields, missing paths, unmounted paths and unsupported filesystems with precise codes', async () => {
      const target = join(dir, 'mount');
      await mkdir(target);
      expect(await codeOf(expand({ volume_path: target }))).to.equal(status.INVALID_ARGUMENT);
      expect(await codeOf(expand({ volume_id: 'pvc-1' }))).to.equal(status.INVALID_ARGUMENT);
      expect(await codeOf(expand({ volume_id: 'pvc-1', volume_path: join(dir, 'gone') }))).to.equal(status.NOT_FOUND);
      expect(await codeOf(expand({ volume_id: 'pvc-1', volume_path: target }))).to.equal(status.NOT_FOUND);
      mounted(target, 'vfat');
      expect(await codeOf(expand({ volume_id: 'pvc-1', volume_path: target }))).to.equal(status.FAILED_PRECONDITION);
    });
  });

  describe('growing an unmounted filesystem before staging', () => {
    /** A disk of `disk` bytes whose ext4 is `filesystem` bytes; e2fsck exits with `fsckExit`. */
    function fake(disk: number, filesystem: number, fsckExit = 0): { grower: FilesystemGrower; ran: string[] } {
      const ran: string[] = [];
      const grower: FilesystemGrower = {
        deviceBytes: () => Promise.resolve(disk),
        extFilesystemBytes: () => Promise.resolve(filesystem),
        run: (command, args) => {
          ran.push([command, ...args].join(' '));
          if (command === 'e2fsck' && fsckExit !== 0) return Promise.reject(new Error(`e2fsck exited ${String(fsckExit)}`, { cause: { code: fsckExit } }));
          return Promise.resolve();
        },
      };
      return { grower, ran };
    }

    it('checks and grows an ext4 smaller than its disk, and leaves one that fills it alone', async () => {
      const smaller = fake(128 * MiB, 64 * MiB);
      expect(await growUnmounted('/dev/sdb', 'ext4', smaller.grower)).to.equal(true);
      expect(smaller.ran).to.deep.equal(['e2fsck -f -p /dev/sdb', 'resize2fs /dev/sdb']);
      const filling = fake(128 * MiB, 128 * MiB);
      expect(await growUnmounted('/dev/sdb', 'ext4', filling.grower)).to.equal(false);
      expect(filling.ran).to.deep.equal([]);
    });

    it('grows after e2fsck corrected something (exit 1), never after it found errors it left (exit 4)', async () => {
      const corrected = fake(128 * MiB, 64 * MiB, 1);
      expect(await growUnmounted('/dev/sdb', 'ext4', corrected.grower)).to.equal(true);
      expect(corrected.ran).to.deep.equal(['e2fsck -f -p /dev/sdb', 'resize2fs /dev/sdb']);
      const broken = fake(128 * MiB, 64 * MiB, 4);
      await rejection(growUnmounted('/dev/sdb', 'ext4', broken.grower), 'growUnmounted');
      expect(broken.ran).to.deep.equal(['e2fsck -f -p /dev/sdb']);
    });

    it('leaves filesystems that grow only mounted (xfs) to NodeExpandVolume', async () => {
      const xfs = fake(128 * MiB, 64 * MiB);
      expect(await growUnmounted('/dev/sdb', 'xfs', xfs.grower)).to.equal(false);
      expect(xfs.ran).to.deep.equal([]);
    });
  });
});
