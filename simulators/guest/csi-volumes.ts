// The guest kubelet's CSI volume manager, the pod runner's ClaimVolumes: for a pod volume that is a claim bound to
// a CSI PersistentVolume it reports the volume in node.status.volumesInUse, waits until the attach-detach
// controller's VolumeAttachment says attached (external-attacher's ControllerPublishVolume hot-plugged the disk),
// stages it once per node and publishes it into the pod, where the containers bind it. On pod deletion it
// unpublishes, unstages the last user and drops the volume from volumesInUse, so the controller may detach safely.
// A published volume whose PV grew gets its filesystem grown on the node (csi-expansion.ts).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { Pod, Volume } from '../../localcloud/cluster/pod-api.js';
import { VolumeSetupError, type ClaimVolumes } from '../../localcloud/cluster/pod-volumes.js';
import { NODE } from '../../localcloud/node-object.js';
import { defaultRegistrationProtoPath } from '../../csi/registration.js';
import { defaultCsiProtoPath } from '../../csi/spec.js';
import type { VolumeCapability } from '../../csi/csi-types.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';
import { expandIfGrown } from './csi-expansion.js';
import { CsiPlugins, unary, type CsiDriver, type CsiPluginsOptions } from './csi-plugins.js';
import { attachmentName, publishPath, stagingPath, uniqueVolumeName, volumeCapability, type CsiVolumeRef } from './csi-volume-layout.js';

interface PersistentVolumeClaim extends KubeObject {
  spec: { volumeName?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}

interface PersistentVolume extends KubeObject {
  spec: {
    accessModes?: string[];
    mountOptions?: string[];
    volumeMode?: 'Filesystem' | 'Block';
    csi?: { driver: string; volumeHandle: string; fsType?: string; readOnly?: boolean; volumeAttributes?: Record<string, string> };
  };
}

interface VolumeAttachment extends KubeObject {
  status?: { attached?: boolean; attachmentMetadata?: Record<string, string>; attachError?: { message?: string } };
}

const PVC = { apiVersion: 'v1', kind: 'PersistentVolumeClaim' } as const;
const RESIZE_PASS_MS = 1_000;
const PV = { apiVersion: 'v1', kind: 'PersistentVolume' } as const;
const VOLUME_ATTACHMENT = { apiVersion: 'storage.k8s.io/v1', kind: 'VolumeAttachment' } as const;

interface Published extends CsiVolumeRef {
  podUID: string;
  target: string;
  driverClient: CsiDriver;
  claim: { namespace: string; name: string };
  capability: VolumeCapability;
}

interface Staged {
  path: string;
  driverClient: CsiDriver;
}

export interface CsiVolumesOptions {
  client: Client;
  nodeName: string;
  /** /var/lib/kubelet as seen by this process. */
  kubeletDir: string;
  drivers: { driver(name: string): CsiDriver | undefined };
  log: Logger;
}

export class CsiVolumes implements ClaimVolumes {
  /** By pod UID and volume name. */
  private readonly published = new Map<string, Published>();
  /** By unique volume name. */
  private readonly staged = new Map<string, Staged>();
  /** node.status.volumesInUse: each volume being set up or in use here, with the UIDs of the pods that want it. */
  private readonly inUse = new Map<string, Set<string>>();
  /** By unique volume name: the claim's capacity when mounted, raised by each node expansion (the kubelet's claimSize). */
  private readonly sizes = new Map<string, number>();
  private expanding = false;
  private reported = '';
  /** One volume operation at a time: stage/unstage decisions depend on what the others did. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly status: Client;
  private readonly log: Logger;

  constructor(private readonly opts: CsiVolumesOptions) {
    // volumesInUse is the volume manager's field; the heartbeat's status apply owns the rest.
    this.status = new Client({ transport: opts.client.transport, mapper: opts.client.mapper, fieldManager: 'kubelet-volume-manager' });
    this.log = opts.log.child({ component: 'csi-volumes' });
  }

  setUp(pod: Pod, volume: Volume & { persistentVolumeClaim: { claimName: string; readOnly?: boolean } }): Promise<string> {
    return this.serially(() => this.setUpNow(pod, volume));
  }

  tearDown(pod: Pod): Promise<void> {
    return this.serially(() => this.tearDownNow(pod.metadata.uid ?? ''));
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async setUpNow(pod: Pod, volume: Volume & { persistentVolumeClaim: { claimName: string; readOnly?: boolean } }): Promise<string> {
    const podUID = pod.metadata.uid ?? '';
    const key = `${podUID}/${volume.name}`;
    const done = this.published.get(key);
    if (done) return done.target;
    const { client, nodeName, kubeletDir } = this.opts;
    const namespace = pod.metadata.namespace ?? 'default';
    const claimName = volume.persistentVolumeClaim.claimName;
    const pvc = await client.get<PersistentVolumeClaim>(PVC, { namespace, name: claimName }, { direct: true });
    if (!pvc) throw new VolumeSetupError(`persistentvolumeclaim "${claimName}" not found`);
    if (pvc.status?.phase !== 'Bound' || !pvc.spec.volumeName) throw new VolumeSetupError(`persistentvolumeclaim "${claimName}" is not bound yet`);
    const pv = await client.get<PersistentVolume>(PV, { name: pvc.spec.volumeName }, { direct: true });
    const csi = pv?.spec.csi;
    if (!pv || !csi) throw new VolumeSetupError(`persistentvolume "${pvc.spec.volumeName}" is not a CSI volume (the guest kubelet mounts CSI volumes only)`);
    const driver = this.opts.drivers.driver(csi.driver);
    if (!driver) throw new VolumeSetupError(`driver name ${csi.driver} not found in the list of registered CSI drivers`);
    const ref: CsiVolumeRef = { driver: csi.driver, volumeHandle: csi.volumeHandle, pvName: pv.metadata.name ?? '', block: pv.spec.volumeMode === 'Block' };
    const unique = uniqueVolumeName(ref.driver, ref.volumeHandle);

    // In use before it is attached, as the kubelet reports it: the controller must not detach it under a mount.
    this.inUse.set(unique, (this.inUse.get(unique) ?? new Set()).add(podUID));
    await this.reportInUse();
    const vaName = attachmentName(ref.volumeHandle, ref.driver, nodeName);
    const va = await client.get<VolumeAttachment>(VOLUME_ATTACHMENT, { name: vaName }, { direct: true });
    if (!va?.status?.attached) {
      const why = va?.status?.attachError?.message ? `: ${va.status.attachError.message}` : '';
      throw new VolumeSetupError(`volume ${ref.pvName} is not attached yet (VolumeAttachment ${vaName}${va ? '' : ' not created'}${why})`);
    }
    const capability = volumeCapability({ accessModes: pv.spec.accessModes, fsType: csi.fsType, mountOptions: pv.spec.mountOptions }, ref.block);
    const common = { volume_id: ref.volumeHandle, publish_context: va.status.attachmentMetadata ?? {}, volume_context: csi.volumeAttributes ?? {}, volume_capability: capability };

    let staging: string | undefined;
    if (driver.stages) {
      staging = stagingPath(kubeletDir, ref);
      if (!this.staged.has(unique)) {
        await mkdir(ref.block ? dirname(staging) : staging, { recursive: true });
        await unary(driver.node, 'NodeStageVolume', { ...common, staging_target_path: staging }).catch((err: unknown) => {
          throw new VolumeSetupError(`NodeStageVolume of ${ref.pvName}: ${(err as Error).message}`, { cause: err });
        });
        this.staged.set(unique, { path: staging, driverClient: driver });
        this.log.info({ volume: ref.pvName, staging }, 'staged volume');
      }
    }
    const target = publishPath(kubeletDir, podUID, ref);
    // The kubelet makes the target's parent; the plugin makes the target (a directory, or the device's file).
    await mkdir(dirname(target), { recursive: true });
    const readonly = (volume.persistentVolumeClaim.readOnly ?? false) || (csi.readOnly ?? false);
    await unary(driver.node, 'NodePublishVolume', { ...common, ...(staging ? { staging_target_path: staging } : {}), target_path: target, readonly }).catch((err: unknown) => {
      throw new VolumeSetupError(`NodePublishVolume of ${ref.pvName}: ${(err as Error).message}`, { cause: err });
    });
    this.published.set(key, { ...ref, podUID, target, driverClient: driver, claim: { namespace, name: claimName }, capability });
    if (!this.sizes.has(unique)) this.sizes.set(unique, pvc.status.capacity?.storage ? parseQuantity(pvc.status.capacity.storage) : 0);
    this.log.info({ volume: ref.pvName, pod: `${namespace}/${pod.metadata.name ?? ''}`, target }, 'published volume');
    return target;
  }

  private async tearDownNow(podUID: string): Promise<void> {
    for (const [key, p] of this.published) {
      if (p.podUID !== podUID) continue;
      await unary(p.driverClient.node, 'NodeUnpublishVolume', { volume_id: p.volumeHandle, target_path: p.target });
      this.published.delete(key);
      this.log.info({ volume: p.pvName, target: p.target }, 'unpublished volume');
      const unique = uniqueVolumeName(p.driver, p.volumeHandle);
      if ([...this.published.values()].some((o) => uniqueVolumeName(o.driver, o.volumeHandle) === unique)) continue;
      this.sizes.delete(unique);
      const staged = this.staged.get(unique);
      if (staged) {
        await unary(staged.driverClient.node, 'NodeUnstageVolume', { volume_id: p.volumeHandle, staging_target_path: staged.path });
        this.staged.delete(unique);
        this.log.info({ volume: p.pvName, staging: staged.path }, 'unstaged volume');
      }
    }
    // Volumes this pod wanted, published or still waiting for their attachment, stay in use while another pod wants them.
    for (const [unique, pods] of this.inUse) {
      pods.delete(podUID);
      if (pods.size === 0) this.inUse.delete(unique);
    }
    await this.reportInUse();
  }

  /**
   * The volume manager's resize pass (csi-expansion.ts) over each volume published here, in line with the other
   * volume operations; a pass still queued or running makes the next one a no-op.
   */
  expandGrownVolumes(): Promise<void> {
    if (this.expanding) return Promise.resolve();
    this.expanding = true;
    return this.serially(async () => {
      const seen = new Set<string>();
      for (const p of this.published.values()) {
        const unique = uniqueVolumeName(p.driver, p.volumeHandle);
        if (seen.has(unique)) continue;
        seen.add(unique);
        const mounted = { ...p, driver: p.driverClient, stagingPath: this.staged.get(unique)?.path, volumePath: p.target, sizeBytes: this.sizes.get(unique) ?? 0 };
        try {
          this.sizes.set(unique, await expandIfGrown(mounted, this.opts.client, this.log));
        } catch (err) {
          this.log.warn({ err: (err as Error).message, volume: p.pvName }, 'volume expansion failed; retrying on the next pass');
        }
      }
    }).finally(() => {
      this.expanding = false;
    });
  }

  /** node.status.volumesInUse, sorted as the kubelet writes it; written only when it changed. */
  private async reportInUse(): Promise<void> {
    const volumesInUse = [...this.inUse.keys()].sort();
    const text = JSON.stringify(volumesInUse);
    if (text === this.reported) return;
    await this.status.apply({ ...NODE, metadata: { name: this.opts.nodeName }, status: { volumesInUse } } as never, { subresource: 'status' });
    this.reported = text;
  }
}

/**
 * The guest kubelet's CSI support: the plugin manager watching the registry and the volume manager the pod runner
 * calls. Without the protocol files (`make tools` not run), or without its CSINode, the kubelet runs pods without
 * CSI volumes, and says so.
 */
export async function startCsi(opts: Omit<CsiPluginsOptions, 'csiProto' | 'registrationProto'> & { env: NodeJS.ProcessEnv }): Promise<{ claims: ClaimVolumes; stop(): Promise<void> } | undefined> {
  const csiProto = defaultCsiProtoPath(opts.env);
  const registrationProto = defaultRegistrationProtoPath(opts.env);
  const missing = [csiProto, registrationProto].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    opts.log.warn({ missing }, 'no CSI protocol files: pods with CSI volumes will wait (run `make tools`)');
    return undefined;
  }
  const plugins = new CsiPlugins({ ...opts, csiProto, registrationProto });
  try {
    await plugins.start();
  } catch (err) {
    // Pods without claims must still run: the kubelet keeps going, and claims wait with this in the log.
    opts.log.error({ err }, 'CSI plugin manager could not start: pods with CSI volumes will wait');
    await plugins.stop();
    return undefined;
  }
  const claims = new CsiVolumes({ client: opts.client, nodeName: opts.nodeName, kubeletDir: opts.kubeletDir, drivers: plugins, log: opts.log });
  // The kubelet's volume manager looks at mounted volumes' sizes on every pass of its loop; a second is enough here.
  const resizes = setInterval(() => void claims.expandGrownVolumes(), RESIZE_PASS_MS);
  return {
    claims,
    stop: () => {
      clearInterval(resizes);
      return plugins.stop();
    },
  };
}
