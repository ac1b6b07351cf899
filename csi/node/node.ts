// The Node service, run inside each tenant VM: stages a hot-plugged disk (found by its serial) by formatting it
// when it carries no filesystem and mounting it at the staging path, publishes it into a pod by a bind mount of
// the staging mount (or of the device itself for a raw block volume), and undoes both. Every RPC is idempotent
// (a repeat finds the mount already there), runs alone on its volume, and honours read-only access.
import { execFile } from 'node:child_process';
import { lstat, mkdir, open, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../lib/observability/logger.js';
import { checkWellFormed, DEFAULT_FS_TYPE, isReadOnlyMode, unsupportedReason } from '../capabilities.js';
import type { NodeExpandVolumeRequest, NodeGetVolumeHealthRequest, NodeGetVolumeStatsRequest, NodePublishVolumeRequest, NodeStageVolumeRequest, NodeUnpublishVolumeRequest, NodeUnstageVolumeRequest } from '../csi-types.js';
import { CONTEXT_SERIAL } from '../controller/parameters.js';
import { pollUntil } from '../poll.js';
import type { RpcTable } from '../server.js';
import { TOPOLOGY_ZONE_LABEL } from '../../lib/apis/core.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../status.js';
import { VolumeLocks } from '../volume-locks.js';
import type { DeviceFinder } from './device.js';
import { growUnmounted, nodeExpandVolume, systemGrower, type FilesystemGrower } from './expand.js';
import { missingTools, NODE_TOOLS, type Mounter } from './mounts.js';
import { oneEntryPerReason } from '../health.js';
import { inspectPath, pathHealth, type DeviceDirs } from './volume-health.js';

const run = promisify(execFile);

export interface NodeOptions {
  nodeId: string;
  /** The Node's zone (topology.kubernetes.io/zone), reported as the plugin's topology; none: no topology. */
  zone?: string | undefined;
  devices: DeviceFinder;
  mounter: Mounter;
  /** Grows filesystems for NodeExpandVolume; default resize2fs/xfs_growfs. */
  grower?: FilesystemGrower;
  log: Logger;
  /** How long staging waits for the disk to show up in the VM (udev lag). */
  deviceWaitMs?: number;
  /** Where the VM's disks show, for NodeGetVolumeHealth; default /dev and /run/udev/data. */
  deviceDirs?: DeviceDirs;
}

const NODE_CAPABILITIES = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'GET_VOLUME_HEALTH'] as const;

function required(value: string | undefined, field: string): string {
  if (!value) throw invalidArgument(`${field} is required`);
  return value;
}

export class NodeService {
  private readonly locks = new VolumeLocks();

  constructor(private readonly opts: NodeOptions) {}

  /** Readiness: the tools staging needs are on PATH (a Probe answers false, naming none, until they are). */
  async ready(): Promise<boolean> {
    const missing = await missingTools(NODE_TOOLS);
    if (missing.length > 0) this.opts.log.warn({ missing }, 'node tools missing');
    return missing.length === 0;
  }

  rpcs(): RpcTable {
    return {
      NodeGetInfo: () => Promise.resolve({ node_id: this.opts.nodeId, ...(this.opts.zone ? { accessible_topology: { segments: { [TOPOLOGY_ZONE_LABEL]: this.opts.zone } } } : {}) }),
      NodeGetCapabilities: () => Promise.resolve({ capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) }),
      NodeStageVolume: (req: NodeStageVolumeRequest) => this.stage(req),
      NodeUnstageVolume: (req: NodeUnstageVolumeRequest) => this.unstage(req),
      NodePublishVolume: (req: NodePublishVolumeRequest) => this.publish(req),
      NodeUnpublishVolume: (req: NodeUnpublishVolumeRequest) => this.unpublish(req),
      NodeGetVolumeStats: (req: NodeGetVolumeStatsRequest) => this.stats(req),
      NodeGetVolumeHealth: (req: NodeGetVolumeHealthRequest) => this.health(req),
      NodeExpandVolume: (req: NodeExpandVolumeRequest) => nodeExpandVolume(req, { locks: this.locks, mounter: this.opts.mounter, grower: this.opts.grower ?? systemGrower, log: this.opts.log }),
    };
  }

  /** The disk of a volume in this VM, waiting a little for udev; NOT_FOUND when it is not attached here. */
  private async device(volumeId: string, publishContext: Record<string, string> | undefined, volumeContext: Record<string, string> | undefined): Promise<string> {
    const serial = publishContext?.[CONTEXT_SERIAL] ?? volumeContext?.[CONTEXT_SERIAL];
    if (!serial) throw notFound(`volume ${volumeId}: no serial in its publish or volume context, so no disk of this VM can be it`);
    try {
      return await pollUntil(
        async () => {
          const device = await this.opts.devices.find(serial);
          return device ? { done: true, value: device } : { done: false, seen: 'no disk with that serial' };
        },
        { timeoutMs: this.opts.deviceWaitMs ?? 10_000, intervalMs: 200, what: `the disk with serial ${serial}` },
      );
    } catch (err) {
      throw notFound(`volume ${volumeId} is not attached to this node: ${(err as Error).message}`);
    }
  }

  private async stage(req: NodeStageVolumeRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const staging = required(req.staging_target_path, 'staging_target_path');
    const cap = checkWellFormed(req.volume_capability);
    const reason = unsupportedReason(cap);
    if (reason) throw invalidArgument(reason);
    return this.locks.run(id, 'NodeStageVolume', async () => {
      const device = await this.device(id, req.publish_context, req.volume_context);
      if (cap.block) return {}; // a raw block volume is published from the device itself
      const mounted = await this.opts.mounter.mountAt(staging);
      if (mounted) {
        if (mounted.source !== device) throw alreadyExists(`staging path ${staging} already holds ${mounted.source}, not volume ${id} (${device})`);
        return {};
      }
      const requested = cap.mount?.fs_type ?? '';
      const wanted = requested === '' ? DEFAULT_FS_TYPE : requested;
      const existing = await this.opts.mounter.filesystemOf(device);
      if (!existing) {
        await this.opts.mounter.format(device, wanted);
        this.opts.log.info({ volume: id, device, fsType: wanted }, 'formatted volume');
      } else if (requested !== '' && existing !== requested) {
        throw failedPrecondition(`volume ${id} already carries a ${existing} filesystem, not the ${requested} asked for; it is never reformatted`);
      }
      if (existing && (await growUnmounted(device, existing, this.opts.grower ?? systemGrower))) {
        this.opts.log.info({ volume: id, device, fsType: existing }, 'grew filesystem to its disk before staging');
      }
      await mkdir(staging, { recursive: true });
      const options = [...(cap.mount?.mount_flags ?? []), ...(isReadOnlyMode(cap) ? ['ro'] : [])];
      await this.opts.mounter.mount(device, staging, { fsType: existing ?? wanted, options });
      this.opts.log.info({ volume: id, device, staging }, 'staged volume');
      return {};
    });
  }

  private async unmountAll(path: string): Promise<void> {
    // Stacked mounts (a repeated publish by an older plugin) come off one by one.
    while (await this.opts.mounter.mountAt(path)) await this.opts.mounter.unmount(path);
  }

  private async unstage(req: NodeUnstageVolumeRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const staging = required(req.staging_target_path, 'staging_target_path');
    return this.locks.run(id, 'NodeUnstageVolume', async () => {
      await this.unmountAll(staging);
      return {};
    });
  }

  private async publish(req: NodePublishVolumeRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const target = required(req.target_path, 'target_path');
    const cap = checkWellFormed(req.volume_capability);
    const reason = unsupportedReason(cap);
    if (reason) throw invalidArgument(reason);
    const staging = required(req.staging_target_path, 'staging_target_path');
    const readOnly = req.readonly === true || isReadOnlyMode(cap);
    return this.locks.run(id, 'NodePublishVolume', async () => {
      let source: string;
      if (cap.block) {
        source = await this.device(id, req.publish_context, req.volume_context);
        await mkdir(dirname(target), { recursive: true });
        await (await open(target, 'a')).close(); // a bind mount of a device needs a file to cover
      } else {
        const staged = await this.opts.mounter.mountAt(staging);
        if (!staged) throw failedPrecondition(`volume ${id} is not staged at ${staging}; NodeStageVolume first`);
        source = staging;
        await mkdir(target, { recursive: true });
      }
      const existing = await this.opts.mounter.mountAt(target);
      if (existing) return {}; // published already: a repeat is a success
      const options = ['bind', ...(cap.mount?.mount_flags ?? []), ...(readOnly ? ['ro'] : [])];
      await this.opts.mounter.mount(source, target, { options });
      this.opts.log.info({ volume: id, target, readOnly }, 'published volume');
      return {};
    });
  }

  private async unpublish(req: NodeUnpublishVolumeRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const target = required(req.target_path, 'target_path');
    return this.locks.run(id, 'NodeUnpublishVolume', async () => {
      await this.unmountAll(target);
      // The CO made nothing there for us: the directory (or the file a block volume covered) goes with the mount.
      const left = await lstat(target).catch(() => undefined);
      if (left?.isDirectory()) await rmdir(target);
      else if (left) await rm(target);
      return {};
    });
  }

  private async stats(req: NodeGetVolumeStatsRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const path = required(req.volume_path, 'volume_path');
    const info = await stat(path).catch(() => undefined);
    if (!info) throw notFound(`volume ${id}: nothing at ${path}`);
    if (!(await this.opts.mounter.mountAt(path))) throw notFound(`volume ${id} is not published at ${path}`);
    if (info.isBlockDevice() || info.isFile()) {
      const { stdout } = await run('blockdev', ['--getsize64', path]);
      return { usage: [{ unit: 'BYTES', total: Number(stdout.trim()) }] };
    }
    const fs = await statfs(path);
    return {
      usage: [
        { unit: 'BYTES', total: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize },
        { unit: 'INODES', total: fs.files, available: fs.ffree, used: fs.files - fs.ffree },
      ],
    };
  }

  /**
   * The volume's adverse conditions at the paths the CO names (volume-health.ts). A staging path is judged only when
   * something is mounted there: a raw block volume stages nothing. Without paths the node knows of nothing adverse.
   */
  private async health(req: NodeGetVolumeHealthRequest): Promise<object> {
    const id = required(req.volume_id, 'volume_id');
    const entries = [];
    if (req.volume_publish_path) entries.push(...pathHealth(await inspectPath(req.volume_publish_path, this.opts.mounter, this.opts.deviceDirs)));
    if (req.staging_target_path) {
      const staged = await inspectPath(req.staging_target_path, this.opts.mounter, this.opts.deviceDirs);
      if (staged.mount) entries.push(...pathHealth(staged));
    }
    return { volume_health: { volume_id: id, health_statuses: oneEntryPerReason(entries) } };
  }
}
