import { expect } from 'chai';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MountEntry, Mounter } from './mounts.js';
import { inspectPath, majorMinor, pathHealth, type PathState } from './volume-health.js';

const mount = (options: string[], superOptions = ['rw']): MountEntry => ({ device: '8:16', root: '/', point: '/p', options, superOptions, fsType: 'ext4', source: '/dev/sdb' });
const state = (s: Partial<PathState>): PathState => ({ path: '/p', kind: 'directory', mount: mount(['rw']), device: '8:16', devicePresent: true, deviceReadOnly: undefined, ...s });

describe('csi/node/volume-health', () => {
  const cases: { name: string; state: PathState; want: string[] }[] = [
    { name: 'a healthy filesystem mount', state: state({}), want: [] },
    { name: 'nothing at the path', state: state({ kind: undefined, mount: undefined }), want: ['INACCESSIBLE/PathMissing'] },
    { name: 'a directory that is no mount', state: state({ mount: undefined }), want: ['INACCESSIBLE/NotMounted'] },
    { name: 'a mount whose disk left the VM', state: state({ devicePresent: false }), want: ['INACCESSIBLE/DeviceGone'] },
    { name: 'a read-write mount whose filesystem turned read-only', state: state({ mount: mount(['rw', 'relatime'], ['ro', 'errors=remount-ro']) }), want: ['DEGRADED/FilesystemReadOnly'] },
    { name: 'a read-only publish of a writable filesystem', state: state({ mount: mount(['ro']) }), want: [] },
    { name: 'a read-only publish of a filesystem mounted read-only', state: state({ mount: mount(['ro'], ['ro']) }), want: [] },
    { name: 'a raw block publish of a disk turned read-only', state: state({ kind: 'block', mount: mount(['rw']), deviceReadOnly: true }), want: ['DEGRADED/DeviceReadOnly'] },
    { name: 'a read-only raw block publish of a read-only disk', state: state({ kind: 'block', mount: mount(['ro']), deviceReadOnly: true }), want: [] },
  ];
  for (const tc of cases) it(`${tc.want.join(', ') || 'healthy'}: ${tc.name}`, () => expect(pathHealth(tc.state).map((e) => `${e.status}/${e.reason}`)).to.deep.equal(tc.want));

  it('splits device numbers as the kernel encodes them, large minors included', () => {
    expect(majorMinor(0x0810n)).to.equal('8:16');
    expect(majorMinor(0x0703n)).to.equal('7:3');
    // major 259 (blkext), minor 300: the minor's high bits above bit 8 sit at bits 20 and up.
    expect(majorMinor((259n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n))).to.equal('259:300');
  });

  it('finds no disk behind a mount whose device has no node in the VM, and a missing path for nothing there', async () => {
    // (A present disk needs a device node, which a test cannot make unprivileged; the e2e suite shows it.)
    const dir = await mkdtemp(join(tmpdir(), 'csi-health-'));
    try {
      const dirs = { devDir: join(dir, 'dev'), udevDataDir: join(dir, 'udev') };
      const target = join(dir, 'target');
      await mkdir(dirs.devDir);
      await mkdir(target);
      const mounts: MountEntry[] = [];
      const mounter = { mountAt: (p: string) => Promise.resolve(mounts.find((m) => m.point === p)) } as Mounter;
      expect(pathHealth(await inspectPath(target, mounter, dirs)).map((e) => e.reason)).to.deep.equal(['NotMounted']);
      mounts.push({ ...mount(['rw']), point: target });
      expect(pathHealth(await inspectPath(target, mounter, dirs)).map((e) => e.reason)).to.deep.equal(['DeviceGone']);
      // A filesystem on no disk (tmpfs) has no disk to lose.
      mounts[0] = { ...mount(['rw']), point: target, source: 'tmpfs', fsType: 'tmpfs' };
      expect(pathHealth(await inspectPath(target, mounter, dirs))).to.deep.equal([]);
      expect(pathHealth(await inspectPath(join(dir, 'missing'), mounter, dirs)).map((e) => e.reason)).to.deep.equal(['PathMissing']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
