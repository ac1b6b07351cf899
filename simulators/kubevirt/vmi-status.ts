// What virt-controller and virt-handler derive from a VMI's launcher pod, as pure functions: which pod is the
// VMI's own (migrations create a second one), the Ready condition, the interfaces with their addresses, and
// whether the VMI could be live-migrated.
import { createHash } from 'node:crypto';
import type { PodCondition } from '../../localcloud/cluster/pod-api.js';
import type { KubevirtCondition, VirtualMachineInstance, VirtualMachineInstanceNetworkInterface } from '../../lib/apis/kubevirt.js';
import type { PersistentVolumeClaim } from './storage-api.js';
import type { LauncherPod } from './launcher-pod.js';
import { ALLOW_POD_BRIDGE_MIGRATION_ANNOTATION, MIGRATION_JOB_UID_LABEL } from './labels.js';

export const READY = 'Ready';
export const LIVE_MIGRATABLE = 'LiveMigratable';
export const POD_SCHEDULED = 'PodScheduled';
export const DATA_VOLUMES_READY = 'DataVolumesReady';
/** False while virt-controller cannot get the VMI going, e.g. its launcher image cannot be pulled. */
export const SYNCHRONIZED = 'Synchronized';
const IMAGE_ERRORS = new Set(['ErrImagePull', 'ImagePullBackOff']);

/** The launcher's image error, as virt-controller reports it on the VMI (reason ErrImagePull / ImagePullBackOff). */
export function imageError(pod: LauncherPod): { reason: string; message: string } | undefined {
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state.waiting;
    if (waiting?.reason && IMAGE_ERRORS.has(waiting.reason)) return { reason: waiting.reason, message: waiting.message ?? '' };
  }
  return undefined;
}

type ConditionUpdate = Pick<KubevirtCondition, 'type' | 'status' | 'reason' | 'message'>;

/** The pod the VMI runs in: the migration target once a migration completed, else the source. */
export function currentPod(vmi: VirtualMachineInstance, pods: readonly LauncherPod[]): LauncherPod | undefined {
  const state = vmi.status?.migrationState;
  if (state?.completed && state.targetPod) return pods.find((p) => p.metadata.name === state.targetPod);
  if (state?.sourcePod) return pods.find((p) => p.metadata.name === state.sourcePod);
  return pods.find((p) => p.metadata.labels?.[MIGRATION_JOB_UID_LABEL] === undefined);
}

export function podCondition(pod: LauncherPod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export const podIsReady = (pod: LauncherPod): boolean => podCondition(pod, 'Ready')?.status === 'True';

export function podIsDownOrGoingDown(pod: LauncherPod): boolean {
  return pod.metadata.deletionTimestamp !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** virt-controller's Ready condition: the pod's own readiness once the guest runs, else why not. */
export function readyCondition(vmi: VirtualMachineInstance, pod: LauncherPod | undefined): ConditionUpdate {
  if (!pod) return { type: READY, status: 'False', reason: 'PodNotExists', message: 'virt-launcher pod has not yet been scheduled' };
  if (podIsDownOrGoingDown(pod)) return { type: READY, status: 'False', reason: 'PodTerminating', message: 'virt-launcher pod is terminating' };
  if (vmi.status?.phase !== 'Running') return { type: READY, status: 'False', reason: 'GuestNotRunning', message: 'Guest VM is not reported as running' };
  const ready = podCondition(pod, 'Ready');
  if (!ready) return { type: READY, status: 'False', reason: 'PodConditionMissing', message: 'virt-launcher pod is missing the Ready condition' };
  return { type: READY, status: ready.status, reason: ready.reason, message: ready.message };
}

/** A stable, locally administered MAC for an interface, unless the spec sets one. */
export function macAddress(vmiUid: string, iface: string): string {
  const bytes = createHash('sha256').update(`${vmiUid}/${iface}`).digest().subarray(0, 5);
  return ['02', ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * status.interfaces as virt-handler reports them: the pod network's interface carries the pod's address (and the
 * VMI's IPv6 address when dual-stack is on); secondary networks report no address without a guest agent.
 */
export function interfaceStatuses(vmi: VirtualMachineInstance, pod: LauncherPod, ipv6: string | undefined): VirtualMachineInstanceNetworkInterface[] {
  const uid = vmi.metadata.uid ?? '';
  const networks = vmi.spec?.networks ?? [{ name: 'default', pod: {} }];
  const interfaces = vmi.spec?.domain.devices.interfaces ?? [{ name: 'default', masquerade: {} }];
  return interfaces.map((iface, i) => {
    const onPodNetwork = networks.find((n) => n.name === iface.name)?.pod !== undefined;
    const ips = onPodNetwork ? [...(pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : [])), ...(ipv6 ? [ipv6] : [])] : [];
    const [first] = ips;
    return {
      name: iface.name,
      interfaceName: `eth${String(i)}`,
      mac: iface.macAddress ?? macAddress(uid, iface.name),
      infoSource: 'domain, guest-agent',
      linkState: 'up',
      queueCount: 1,
      ...(onPodNetwork ? { podInterfaceName: 'eth0' } : {}),
      ...(first !== undefined ? { ipAddress: first, ipAddresses: ips } : {}),
    };
  });
}

/** virt-handler's LiveMigratable condition, with upstream's reasons for the cases a simulated VM can have. */
export function liveMigratableCondition(vmi: VirtualMachineInstance, claims: ReadonlyMap<string, PersistentVolumeClaim | undefined>): ConditionUpdate {
  const networks = vmi.spec?.networks ?? [{ name: 'default', pod: {} }];
  const bridgeOnPod = (vmi.spec?.domain.devices.interfaces ?? []).some(
    (i) => i.bridge !== undefined && networks.find((n) => n.name === i.name)?.pod !== undefined,
  );
  if (bridgeOnPod && vmi.metadata.annotations?.[ALLOW_POD_BRIDGE_MIGRATION_ANNOTATION] === undefined) {
    return {
      type: LIVE_MIGRATABLE,
      status: 'False',
      reason: 'InterfaceNotLiveMigratable',
      message: `cannot migrate VMI which does not use masquerade, bridge with ${ALLOW_POD_BRIDGE_MIGRATION_ANNOTATION} VM annotation or a migratable plugin to connect to the pod network`,
    };
  }
  const devices = vmi.spec?.domain.devices;
  if ((devices?.gpus?.length ?? 0) > 0 || (devices?.hostDevices?.length ?? 0) > 0) {
    return { type: LIVE_MIGRATABLE, status: 'False', reason: 'HostDeviceNotLiveMigratable', message: 'VMI uses a PCI host devices' };
  }
  for (const volume of vmi.spec?.volumes ?? []) {
    const claimName = volume.persistentVolumeClaim?.claimName ?? volume.dataVolume?.name;
    if (claimName === undefined) continue;
    const claim = claims.get(claimName);
    const modes = claim?.status?.accessModes ?? claim?.spec.accessModes ?? [];
    if (!modes.includes('ReadWriteMany')) {
      return {
        type: LIVE_MIGRATABLE,
        status: 'False',
        reason: 'DisksNotLiveMigratable',
        message: `cannot migrate VMI: PVC ${claimName} is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)`,
      };
    }
  }
  return { type: LIVE_MIGRATABLE, status: 'True' };
}
