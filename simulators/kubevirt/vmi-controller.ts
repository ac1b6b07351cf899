// virt-controller's and virt-handler's work on a VirtualMachineInstance: create its launcher pod once its volumes
// are ready, follow the pod through the real scheduler and the pod runner (Pending -> Scheduling -> Scheduled ->
// Running), report the node, interfaces and conditions the guest would, finish when the pod does, and on deletion
// remove the pods before letting the VMI go.
import { addFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { OWNER_UID_INDEX } from '../../lib/controller/indexers.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import { metaTime } from '../../lib/kube/meta-time.js';
import { POD } from '../../localcloud/cluster/pod-api.js';
import { VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance, type VirtualMachineInstancePhase } from '../../lib/apis/kubevirt.js';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { PERSISTENT_VOLUME_CLAIM, type PersistentVolumeClaim } from './storage-api.js';
import { dropCondition, putCondition } from './conditions.js';
import type { Ipv6Pool } from './ipam.js';
import { buildLauncherPod, type LauncherPod } from './launcher-pod.js';
import { APP_LABEL, LAUNCHER_APP, NODE_NAME_LABEL, VM_CONTROLLER_FINALIZER, VMI_FINALIZER } from './labels.js';
import {
  currentPod,
  DATA_VOLUMES_READY,
  imageError,
  interfaceStatuses,
  liveMigratableCondition,
  podCondition,
  podIsDownOrGoingDown,
  podIsReady,
  POD_SCHEDULED,
  readyCondition,
  SYNCHRONIZED,
} from './vmi-status.js';

export interface LauncherSettings {
  image: string;
  args?: readonly string[] | undefined;
}

export interface VmiControllerDeps {
  launcher: LauncherSettings;
  ipv6?: Ipv6Pool | undefined;
}

export const isFinal = (vmi: VirtualMachineInstance): boolean => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

export function setPhase(vmi: VirtualMachineInstance, phase: VirtualMachineInstancePhase): void {
  const status = (vmi.status ??= {});
  if (status.phase === phase) return;
  status.phase = phase;
  (status.phaseTransitionTimestamps ??= []).push({ phase, phaseTransitionTimestamp: metaTime() });
}

export async function launcherPodsOf(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<LauncherPod[]> {
  const owned = await ctx.cache.byIndex<LauncherPod>(POD, OWNER_UID_INDEX, vmi.metadata.uid ?? '');
  return owned.filter((p) => p.metadata.labels?.[APP_LABEL] === LAUNCHER_APP);
}

export class VmiReconciler implements Reconciler<VirtualMachineInstance> {
  constructor(private readonly deps: VmiControllerDeps) {}

  async reconcile(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Result> {
    const pods = await launcherPodsOf(vmi, ctx);
    if (vmi.metadata.deletionTimestamp) return this.reconcileDelete(vmi, pods, ctx);
    addFinalizer(vmi, VMI_FINALIZER);
    if (isFinal(vmi)) return done();
    const pod = currentPod(vmi, pods);
    switch (vmi.status?.phase ?? '') {
      case '':
      case 'Pending':
        await this.start(vmi, pod, ctx);
        break;
      case 'Scheduling':
        this.followScheduling(vmi, pod);
        break;
      case 'Scheduled':
        // virt-handler on the node defines the domain and reports it running.
        if (!pod || podIsDownOrGoingDown(pod)) setPhase(vmi, 'Failed');
        else {
          setPhase(vmi, 'Running');
          ctx.events.normal('Started', 'StartDomain', 'VirtualMachineInstance started.');
        }
        break;
      case 'Running':
        this.followRunning(vmi, pod);
        break;
    }
    if (vmi.status?.phase === 'Running' && pod) {
      this.observeGuest(vmi, pod);
      putCondition(vmi, liveMigratableCondition(vmi, await this.claimsOf(vmi, ctx)));
    }
    putCondition(vmi, readyCondition(vmi, pod && !isFinal(vmi) ? pod : undefined));
    return done();
  }

  private async start(vmi: VirtualMachineInstance, pod: LauncherPod | undefined, ctx: ReconcileContext): Promise<void> {
    if (pod) {
      setPhase(vmi, 'Scheduling');
      this.followScheduling(vmi, pod);
      return;
    }
    setPhase(vmi, 'Pending');
    const volumes = await this.volumesReady(vmi, ctx);
    if (volumes === 'failed') {
      setPhase(vmi, 'Failed');
      return;
    }
    if (volumes === 'waiting') return;
    const vm = await this.ownerVM(vmi, ctx);
    const desired = buildLauncherPod(vmi, { ...this.deps.launcher, vmAnnotations: vm?.metadata.annotations });
    try {
      await ctx.client.create(desired);
      ctx.events.normal('SuccessfulCreate', 'CreatePod', `Created virtual machine pod ${desired.metadata.name ?? ''}`);
    } catch (err) {
      if (isAlreadyExists(err)) return; // made before a restart; its informer event brings us back
      ctx.events.warning('FailedCreate', 'CreatePod', `Error creating pod: ${(err as Error).message}`);
      throw new Error(`create launcher pod for VMI ${ctx.key}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Until the pod is Ready: mirror why it is not scheduled (Unschedulable and the scheduler's message). */
  private followScheduling(vmi: VirtualMachineInstance, pod: LauncherPod | undefined): void {
    if (!pod || podIsDownOrGoingDown(pod)) {
      setPhase(vmi, 'Failed');
      return;
    }
    const scheduled = podCondition(pod, 'PodScheduled');
    if (scheduled?.status === 'False') putCondition(vmi, { type: POD_SCHEDULED, status: 'False', reason: scheduled.reason, message: scheduled.message });
    else dropCondition(vmi, POD_SCHEDULED);
    const image = imageError(pod);
    if (image) putCondition(vmi, { type: SYNCHRONIZED, status: 'False', ...image });
    else dropCondition(vmi, SYNCHRONIZED);
    if (!podIsReady(pod)) return;
    setPhase(vmi, 'Scheduled');
    this.observeGuest(vmi, pod);
  }

  private followRunning(vmi: VirtualMachineInstance, pod: LauncherPod | undefined): void {
    if (!pod) setPhase(vmi, 'Failed'); // the pod went away under a running guest
    else if (pod.status?.phase === 'Succeeded') setPhase(vmi, 'Succeeded'); // the guest shut down
    else if (pod.status?.phase === 'Failed') setPhase(vmi, 'Failed');
  }

  /** Where the guest runs and how it is reached, from its current pod (which a migration replaces). */
  private observeGuest(vmi: VirtualMachineInstance, pod: LauncherPod): void {
    const status = (vmi.status ??= {});
    const node = pod.spec.nodeName;
    if (node) {
      status.nodeName = node;
      (vmi.metadata.labels ??= {})[NODE_NAME_LABEL] = node;
    }
    const uid = vmi.metadata.uid ?? '';
    const ipv6 = this.deps.ipv6;
    if (ipv6) for (const ip of status.interfaces?.flatMap((i) => i.ipAddresses ?? []) ?? []) ipv6.adopt(uid, ip);
    status.interfaces = interfaceStatuses(vmi, pod, ipv6?.addressFor(uid));
    if (pod.metadata.uid && node) status.activePods = { [pod.metadata.uid]: node };
    status.migrationMethod = 'LiveMigration';
    status.launcherContainerImageVersion = pod.spec.containers[0]?.image ?? '';
  }

  /** 'ready', 'waiting' (condition set) or 'failed' for the DataVolumes and PVCs the VMI mounts. */
  private async volumesReady(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<'ready' | 'waiting' | 'failed'> {
    const namespace = vmi.metadata.namespace;
    let waiting: string | undefined;
    let hasDataVolumes = false;
    for (const volume of vmi.spec?.volumes ?? []) {
      if (volume.dataVolume) {
        hasDataVolumes = true;
        const dv = await ctx.cache.get<DataVolume>(DATA_VOLUME_TYPE, { namespace, name: volume.dataVolume.name });
        if (dv?.status?.phase === 'Failed') {
          putCondition(vmi, { type: DATA_VOLUMES_READY, status: 'False', reason: 'NotAllDVsReady', message: "Not all of the VMI's DVs are ready" });
          return 'failed';
        }
        if (dv?.status?.phase !== 'Succeeded') waiting ??= `DataVolume ${volume.dataVolume.name} is not ready`;
      } else if (volume.persistentVolumeClaim) {
        const name = volume.persistentVolumeClaim.claimName;
        if (!(await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace, name }))) {
          putCondition(vmi, { type: POD_SCHEDULED, status: 'False', reason: 'Unschedulable', message: `PVC ${namespace ?? ''}/${name} does not exist, waiting for it to appear` });
          return 'waiting';
        }
      }
    }
    if (hasDataVolumes) {
      putCondition(
        vmi,
        waiting
          ? { type: DATA_VOLUMES_READY, status: 'False', reason: 'NotAllDVsReady', message: "Not all of the VMI's DVs are ready" }
          : { type: DATA_VOLUMES_READY, status: 'True', reason: 'AllDVsReady', message: "All of the VMI's DVs are bound and not running" },
      );
    }
    dropCondition(vmi, POD_SCHEDULED);
    return waiting ? 'waiting' : 'ready';
  }

  private async claimsOf(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Map<string, PersistentVolumeClaim | undefined>> {
    const claims = new Map<string, PersistentVolumeClaim | undefined>();
    for (const v of vmi.spec?.volumes ?? []) {
      const name = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
      if (name) claims.set(name, await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: vmi.metadata.namespace, name }));
    }
    return claims;
  }

  private async ownerVM(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<VirtualMachine | undefined> {
    const ref = vmi.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === VIRTUAL_MACHINE_TYPE.kind);
    if (!ref) return undefined;
    const vm = await ctx.cache.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: vmi.metadata.namespace, name: ref.name });
    return vm?.metadata.uid === ref.uid ? vm : undefined;
  }

  private async reconcileDelete(vmi: VirtualMachineInstance, pods: LauncherPod[], ctx: ReconcileContext): Promise<Result> {
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      await ctx.client.delete(POD, { namespace: pod.metadata.namespace, name: pod.metadata.name ?? '' }, { preconditions: { uid: pod.metadata.uid ?? '' } });
      ctx.events.normal('SuccessfulDelete', 'DeletePod', `Deleted virtual machine pod ${pod.metadata.name ?? ''}`);
    }
    if (pods.length > 0) {
      putCondition(vmi, readyCondition(vmi, pods[0]));
      return done(); // each pod's deletion event brings us back
    }
    // A guest shut down on request finishes as Succeeded, as virt-handler reports a graceful shutdown.
    if (!isFinal(vmi)) setPhase(vmi, vmi.status?.phase === 'Running' || vmi.status?.phase === 'Scheduled' ? 'Succeeded' : 'Failed');
    putCondition(vmi, readyCondition(vmi, undefined));
    removeFinalizer(vmi, VMI_FINALIZER);
    if (!(await this.ownerVM(vmi, ctx))) removeFinalizer(vmi, VM_CONTROLLER_FINALIZER);
    this.deps.ipv6?.release(vmi.metadata.uid ?? '');
    return done();
  }
}
