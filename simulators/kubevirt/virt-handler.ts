// virt-handler's work on a running VMI that needs the guest: it notes the guest agent once the guest answers on
// its channel (AgentConnected, status.guestOSInfo), and it hot-plugs volumes, one step per reconcile so each
// phase is visible in status.volumeStatus: the claim bound -> a loop device over the volume's backing file on the node -> the device
// handed to the guest (which names it by its serial, as a VM's udev does) -> Ready. A volume removed from the spec
// is taken from the guest and its loop device detached before its status entry goes; a VMI that stops or goes
// away gives back all its devices.
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import type { ObjectRef } from '../../lib/kube/object.js';
import { VMI_AGENT_CONNECTED_CONDITION, type VirtualMachineInstance, type VolumeStatus } from '../../lib/apis/kubevirt.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';
import { conditionIs, putCondition } from './conditions.js';
import { claimNameOf, detachingStatus, diskOf, isHotplugVolume, nextVolumeStatus } from './hotplug.js';
import { COMPUTE_CONTAINER } from './launcher-pod.js';
import { guestCommand, type LauncherRuntime } from './launcher-runtime.js';
import { attachLoopDevice, backingFileOf, detachLoopDevices, deviceNumbers, ensureBackingFile, loopDevicesOf } from './loop-devices.js';
import { PERSISTENT_VOLUME_CLAIM, type PersistentVolumeClaim } from './storage-api.js';
import { currentPod } from './vmi-status.js';
import { isFinal, launcherPodsOf } from './vmi-controller.js';

const STEP_MS = 100;
const AGENT_RETRY_MS = 2_000;

export interface VirtHandlerDeps {
  runtime: LauncherRuntime | undefined;
  volumesDir: string;
}

/** The backing files attached per VMI, so a VMI that disappears still gets its devices detached. */
type Attachments = Map<string, Map<string, string>>;

export class VirtHandlerReconciler implements Reconciler<VirtualMachineInstance> {
  private readonly attachments: Attachments = new Map();

  constructor(private readonly deps: VirtHandlerDeps) {}

  async reconcile(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Result> {
    if (vmi.metadata.deletionTimestamp || isFinal(vmi) || vmi.status?.phase !== 'Running') {
      await this.releaseAll(ctx.key);
      return done();
    }
    const pod = currentPod(vmi, await launcherPodsOf(vmi, ctx));
    const pid = pod ? this.deps.runtime?.containerRun(pod.metadata.namespace ?? '', pod.metadata.name ?? '', COMPUTE_CONTAINER)?.process.pid : undefined;
    const agentWait = pid === undefined ? false : await this.observeAgent(vmi, pid, ctx);
    const wanted = (vmi.spec?.volumes ?? []).filter(isHotplugVolume);
    const before = vmi.status.volumeStatus ?? [];
    const next: VolumeStatus[] = [];
    let moving = false;
    for (const volume of wanted) {
      const current = before.find((s) => s.name === volume.name) ?? { name: volume.name, target: '' };
      const status = await this.advance(vmi, current, claimNameOf(volume) ?? '', pid, ctx);
      if (status.phase !== current.phase) moving = true;
      next.push(status);
    }
    for (const gone of before.filter((s) => !wanted.some((v) => v.name === s.name))) {
      if (gone.phase === undefined || gone.phase === 'Pending' || gone.phase === 'Bound') {
        moving = true; // never attached: nothing to take back, the entry just goes
        continue;
      }
      if (gone.phase === 'Detaching') {
        await this.detach(vmi, gone, pid, ctx);
        moving = true; // dropped: the device is gone
        continue;
      }
      next.push(detachingStatus(gone));
      moving = true;
    }
    next.sort((a, b) => a.name.localeCompare(b.name));
    if (next.length > 0 || before.length > 0) vmi.status.volumeStatus = next;
    // Steps are separate writes so watchers see each phase; what waits on the claim is woken by its watch.
    if (moving) return requeueAfter(STEP_MS);
    // Whether the guest has started its agent is nothing a watch can tell: look again shortly.
    return agentWait ? requeueAfter(AGENT_RETRY_MS) : done();
  }

  /** True while the agent has not answered yet (the caller looks again later). */
  private async observeAgent(vmi: VirtualMachineInstance, pid: number, ctx: ReconcileContext): Promise<boolean> {
    if (conditionIs(vmi, VMI_AGENT_CONNECTED_CONDITION, 'True')) return false;
    let info: { os?: NonNullable<VirtualMachineInstance['status']>['guestOSInfo'] };
    try {
      info = await guestCommand(pid, 'guest-info');
    } catch (err) {
      ctx.log.debug({ err }, 'guest agent not answering yet');
      return true;
    }
    putCondition(vmi, { type: VMI_AGENT_CONNECTED_CONDITION, status: 'True' });
    if (info.os) (vmi.status ??= {}).guestOSInfo = info.os;
    return false;
  }

  async reconcileMissing(ref: ObjectRef): Promise<Result> {
    await this.releaseAll(`${ref.namespace ?? ''}/${ref.name}`);
    return done();
  }

  /** Detaches every loop device the simulator attached (its stop). */
  async releaseEverything(): Promise<void> {
    for (const key of [...this.attachments.keys()]) await this.releaseAll(key);
  }

  private async advance(vmi: VirtualMachineInstance, current: VolumeStatus, claimName: string, pid: number | undefined, ctx: ReconcileContext): Promise<VolumeStatus> {
    const claim = await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: vmi.metadata.namespace, name: claimName });
    const withClaim = (s: VolumeStatus): VolumeStatus =>
      claim
        ? {
            ...s,
            persistentVolumeClaimInfo: {
              claimName,
              accessModes: claim.spec.accessModes ?? [],
              volumeMode: claim.spec.volumeMode ?? 'Filesystem',
              ...(claim.status?.capacity ? { capacity: claim.status.capacity } : {}),
              ...(claim.spec.resources?.requests ? { requests: claim.spec.resources.requests } : {}),
            },
          }
        : s;
    const volumeName = claim?.spec.volumeName;
    const attached = current.phase !== undefined && current.phase !== 'Pending' && current.phase !== 'Bound';
    // Until a device exists the claim decides; once attached, the device stays until the volume leaves the spec.
    if (!attached && (claim?.status?.phase !== 'Bound' || !volumeName)) return withClaim(nextVolumeStatus(current, { kind: 'claim', claim, claimName }));
    if (!claim || !volumeName) return current;
    const file = backingFileOf(this.deps.volumesDir, volumeName);
    switch (current.phase) {
      case undefined:
      case 'Pending':
        return withClaim(nextVolumeStatus(current, { kind: 'claim', claim, claimName }));
      case 'Bound': {
        // Without a reachable guest there is nowhere to attach the device: it waits, and nothing is made.
        if (pid === undefined) return withClaim(current);
        await ensureBackingFile(file, parseQuantity(claim.status?.capacity?.storage ?? claim.spec.resources?.requests?.storage ?? '1Gi'));
        const device = await attachLoopDevice(file);
        this.remember(ctx.key, current.name, file);
        ctx.events.normal('SuccessfulCreate', 'HotplugVolume', `Attached block device ${device} for volume ${current.name}`);
        return withClaim(nextVolumeStatus(current, { kind: 'attached', device }));
      }
      case 'AttachedToNode':
        return withClaim(nextVolumeStatus(current, { kind: 'mounted' }));
      case 'MountedToPod': {
        if (pid === undefined) return withClaim(current);
        const [device] = await loopDevicesOf(file);
        if (!device) return withClaim(nextVolumeStatus(current, { kind: 'claim', claim, claimName })); // lost: start over
        const { bus, serial } = diskOf(vmi, current.name);
        const numbers = await deviceNumbers(device);
        const added = await guestCommand<{ target: string }>(pid, 'kvcloud-device-add', { name: current.name, device, ...numbers, bus, ...(serial ? { serial } : {}) });
        ctx.events.normal('VolumeReady', 'HotplugVolume', `Successfully attach hotplugged volume ${current.name} to VM`);
        return withClaim(nextVolumeStatus(current, { kind: 'ready', target: added.target }));
      }
      default:
        return withClaim(current);
    }
  }

  /** Takes the device from the guest, then detaches it on the node. */
  private async detach(vmi: VirtualMachineInstance, status: VolumeStatus, pid: number | undefined, ctx: ReconcileContext): Promise<void> {
    if (pid !== undefined && status.target) await guestCommand(pid, 'kvcloud-device-del', { name: status.name, target: status.target });
    let file = this.attachments.get(ctx.key)?.get(status.name);
    if (!file && status.persistentVolumeClaimInfo?.claimName) {
      // Attached before this process started: the claim still names the volume and so the backing file.
      const claim = await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: vmi.metadata.namespace, name: status.persistentVolumeClaimInfo.claimName });
      if (claim?.spec.volumeName) file = backingFileOf(this.deps.volumesDir, claim.spec.volumeName);
    }
    if (file) await detachLoopDevices(file);
    this.attachments.get(ctx.key)?.delete(status.name);
    ctx.events.normal('SuccessfulDelete', 'HotplugVolume', `Detached block device for volume ${status.name}`);
  }

  private remember(key: string, volume: string, file: string): void {
    let volumes = this.attachments.get(key);
    if (!volumes) this.attachments.set(key, (volumes = new Map<string, string>()));
    volumes.set(volume, file);
  }

  private async releaseAll(key: string): Promise<void> {
    const volumes = this.attachments.get(key);
    if (!volumes) return;
    for (const file of volumes.values()) await detachLoopDevices(file);
    this.attachments.delete(key);
  }
}

