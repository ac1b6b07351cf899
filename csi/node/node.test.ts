import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { pino } from 'pino';
import { rejection } from '../../lib/testing/rejection.js';
import type { RpcTable } from '../server.js';
import type { CsiError } from '../status.js';
import type { MountEntry, Mounter } from './mounts.js';
import { NodeService } from './node.js';

/** Mounts as a table: what the node would see in mountinfo, without touching the machine's. */
class FakeMounter implements Mounter {
  readonly mounts: MountEntry[] = [];
  readonly formatted: string[] = [];
  readonly filesystems = new Map<string, string>();
  mountAt(path: string) {
    return Promise.resolve(this.mounts.filter((m) => m.point === path).at(-1));
  }
  filesystemOf(device: string) {
    return Promise.resolve(this.filesystems.get(device));
  }
  format(device: string, fsType: string) {
    this.formatted.push(`${device}:${fsType}`);
    this.filesystems.set(device, fsType);
    return Promise.resolve();
  }
  mount(source: string, target: string, opts: { fsType?: string | undefined; options: string[] }) {
    this.mounts.push({ device: '7:3', root: '/', point: target, options: opts.options, superOptions: ['rw'], fsType: opts.fsType ?? '', source });
    return Promise.resolve();
  }
  unmount(target: string) {
    const i = this.mounts.findLastIndex((m) => m.point === target);
    this.mounts.splice(i, 1);
    return Promise.resolve();
  }
}

const SERIAL = 'c0ffee00-1111-2222-3333-444455556666';
const FS = { mount: { fs_type: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const RO = { mount: {}, access_mode: { mode: 'SINGLE_NODE_READER_ONLY' } };
const BLOCK = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

describe('csi/node', () => {
  let dir: string;
  let mounter: FakeMounter;
  let rpc: (name: string, req: object) => Promise<unknown>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csi-node-test-'));
    mounter = new FakeMounter();
    const devices = { find: (serial: string) => Promise.resolve(serial === SERIAL ? '/dev/sdb' : undefined) };
    const rpcs: RpcTable = new NodeService({ nodeId: 'acme/worker-1', devices, mounter, log: pino({ level: 'silent' }), deviceWaitMs: 50 }).rpcs();
    rpc = (name, req) => {
      const fn = rpcs[name];
      if (!fn) throw new Error(`no rpc ${name}`);
      return fn(req as never);
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const codeOf = async (p: Promise<unknown>) => ((await rejection(p, 'the RPC')) as CsiError).code;

  it('reports its Node\'s zone as its topology, and none without one', async () => {
    const zoned = new NodeService({ nodeId: 'acme/worker-1', zone: 'zone-b', devices: { find: () => Promise.resolve(undefined) }, mounter, log: pino({ level: 'silent' }) }).rpcs();
    expect(await zoned.NodeGetInfo?.({} as never)).to.deep.equal({ node_id: 'acme/worker-1', accessible_topology: { segments: { 'topology.kubernetes.io/zone': 'zone-b' } } });
  });

  it('formats an empty disk once, mounts it at the staging path, and a repeated stage changes nothing', async () => {
    const staging = join(dir, 'staging');
    const req = { volume_id: 'pvc-1', staging_target_path: staging, volume_capability: FS, volume_context: { serial: SERIAL } };
    await rpc('NodeStageVolume', req);
    await rpc('NodeStageVolume', req);
    expect(mounter.formatted).to.deep.equal(['/dev/sdb:ext4']);
    expect(mounter.mounts).to.deep.equal([{ device: '7:3', root: '/', point: staging, options: [], superOptions: ['rw'], fsType: 'ext4', source: '/dev/sdb' }]);
    expect((await stat(staging)).isDirectory()).to.equal(true);
  });

  it('grows an ext4 smaller than its disk before staging it (expanded while unused, or refused online)', async () => {
    mounter.filesystems.set('/dev/sdb', 'ext4');
    const ran: string[] = [];
    const grower = {
      deviceBytes: () => Promise.resolve(128 << 20),
      extFilesystemBytes: () => Promise.resolve(64 << 20),
      run: (command: string, args: string[]) => {
        ran.push([command, ...args].join(' '));
        return Promise.resolve();
      },
    };
    const devices = { find: () => Promise.resolve('/dev/sdb') };
    const stage = new NodeService({ nodeId: 'acme/worker-1', devices, mounter, grower, log: pino({ level: 'silent' }) }).rpcs().NodeStageVolume;
    const staging = join(dir, 'grown');
    await stage?.({ volume_id: 'pvc-1', staging_target_path: staging, volume_capability: FS, volume_context: { serial: SERIAL } } as never);
    expect(ran).to.deep.equal(['e2fsck -f -p /dev/sdb', 'resize2fs /dev/sdb']);
    expect(mounter.formatted).to.deep.equal([]);
    expect(mounter.mounts.map((m) => m.point)).to.deep.equal([staging]);
  });

  it('never reformats a disk carrying another filesystem than asked for', async () => {
    mounter.filesystems.set('/dev/sdb', 'xfs');
    const code = await codeOf(rpc('NodeStageVolume', { volume_id: 'pvc-1', staging_target_path: join(dir, 's'), volume_capability: { ...FS, mount: { fs_type: 'ext4' } }, publish_context: { serial: SERIAL } }));
    expect(code).to.equal(status.FAILED_PRECONDITION);
    expect(mounter.formatted).to.deep.equal([]);
  });

  it('answers NOT_FOUND for a volume whose disk is not in this VM, and INVALID_ARGUMENT for missing fields', async () => {
    expect(await codeOf(rpc('NodeStageVolume', { volume_id: 'pvc-1', staging_target_path: join(dir, 's'), volume_capability: FS, volume_context: { serial: 'other' } }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('NodeStageVolume', { staging_target_path: join(dir, 's'), volume_capability: FS }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('NodePublishVolume', { volume_id: 'pvc-1', staging_target_path: 's', volume_capability: FS }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('NodeGetVolumeStats', { volume_id: 'pvc-1', volume_path: join(dir, 'nothing') }))).to.equal(status.NOT_FOUND);
  });

  it('publishes a staged volume by a bind mount (read-only when asked), once, and unpublishing removes the target', async () => {
    const staging = join(dir, 'staging');
    const target = join(dir, 'pod', 'mount');
    await rpc('NodeStageVolume', { volume_id: 'pvc-1', staging_target_path: staging, volume_capability: RO, volume_context: { serial: SERIAL } });
    const req = { volume_id: 'pvc-1', staging_target_path: staging, target_path: target, volume_capability: RO, volume_context: { serial: SERIAL } };
    await rpc('NodePublishVolume', req);
    await rpc('NodePublishVolume', req);
    expect(mounter.mounts.filter((m) => m.point === target)).to.deep.equal([{ device: '7:3', root: '/', point: target, options: ['bind', 'ro'], superOptions: ['rw'], fsType: '', source: staging }]);
    await rpc('NodeUnpublishVolume', { volume_id: 'pvc-1', target_path: target });
    await rpc('NodeUnpublishVolume', { volume_id: 'pvc-1', target_path: target });
    expect(await stat(target).catch(() => 'gone')).to.equal('gone');
    await rpc('NodeUnstageVolume', { volume_id: 'pvc-1', staging_target_path: staging });
    expect(mounter.mounts).to.deep.equal([]);
  });

  it('refuses to publish a filesystem volume that is not staged', async () => {
    const code = await codeOf(rpc('NodePublishVolume', { volume_id: 'pvc-1', staging_target_path: join(dir, 'staging'), target_path: join(dir, 't'), volume_capability: FS, volume_context: { serial: SERIAL } }));
    expect(code).to.equal(status.FAILED_PRECONDITION);
  });

  it('publishes a raw block volume by binding the device over a file at the target path', async () => {
    const target = join(dir, 'pod', 'dev');
    await rpc('NodeStageVolume', { volume_id: 'pvc-b', staging_target_path: join(dir, 'staging'), volume_capability: BLOCK, volume_context: { serial: SERIAL } });
    expect(mounter.mounts).to.deep.equal([]);
    await rpc('NodePublishVolume', { volume_id: 'pvc-b', staging_target_path: join(dir, 'staging'), target_path: target, volume_capability: BLOCK, publish_context: { serial: SERIAL } });
    expect((await stat(target)).isFile()).to.equal(true);
    expect(mounter.mounts.map((m) => [m.source, m.point, m.options])).to.deep.equal([['/dev/sdb', target, ['bind']]]);
    await rpc('NodeUnpublishVolume', { volume_id: 'pvc-b', target_path: target });
    expect(await stat(target).catch(() => 'gone')).to.equal('gone');
  });

  it('reports the node ID and its stage, stats, expansion and volume health capabilities', async () => {
    expect(await rpc('NodeGetInfo', {})).to.deep.equal({ node_id: 'acme/worker-1' });
    expect(await rpc('NodeGetCapabilities', {})).to.deep.equal({ capabilities: [{ rpc: { type: 'STAGE_UNSTAGE_VOLUME' } }, { rpc: { type: 'GET_VOLUME_STATS' } }, { rpc: { type: 'EXPAND_VOLUME' } }, { rpc: { type: 'GET_VOLUME_HEALTH' } }] });
  });

  it('answers NodeGetVolumeHealth for the paths it is given, nothing adverse without paths, and INVALID_ARGUMENT without a volume ID', async () => {
    expect(await codeOf(rpc('NodeGetVolumeHealth', {}))).to.equal(status.INVALID_ARGUMENT);
    expect(await rpc('NodeGetVolumeHealth', { volume_id: 'pvc-1' })).to.deep.equal({ volume_health: { volume_id: 'pvc-1', health_statuses: [] } });
    const target = join(dir, 'gone');
    const got = (await rpc('NodeGetVolumeHealth', { volume_id: 'pvc-1', volume_publish_path: target, staging_target_path: join(dir, 'unstaged') })) as { volume_health: { health_statuses: { reason: string }[] } };
    // An unmounted staging path is no finding: a raw block volume stages nothing.
    expect(got.volume_health.health_statuses.map((e) => e.reason)).to.deep.equal(['PathMissing']);
  });
});
