// The virt-launcher Pod of a VMI, as virt-controller renders it: named virt-launcher-<vmi>-<5 chars>, labelled so
// KubeVirt and its users find it, carrying the VMI's scheduling constraints and resource requests so the real
// kube-scheduler decides where the VM runs. Its one container stands for the guest: the program the image maps to
// reads the VM's cloud-init / Ignition input from the environment and files laid out here.
import { createHash } from 'node:crypto';
import type { Affinity, Toleration } from '../../lib/apis/core.js';
import type { OwnerReference } from '../../lib/kube/object.js';
import type { Container, EnvVar, Pod, PodSpec, Volume, VolumeMount } from '../../localcloud/cluster/pod-api.js';
import type { CloudInitSource, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import {
  APP_LABEL,
  CREATED_BY_LABEL,
  DOMAIN_LABEL,
  IGNITION_ANNOTATION,
  LAUNCHER_APP,
  MIGRATION_JOB_NAME_ANNOTATION,
  MIGRATION_JOB_UID_LABEL,
  VM_NAME_LABEL,
} from './labels.js';

export const DEFAULT_LAUNCHER_IMAGE = 'kvcloud.local/test/virt-launcher:dev';
export const COMPUTE_CONTAINER = 'compute';
export const CLOUDINIT_USERDATA_DIR = '/var/run/kvcloud/cloudinit/userdata';
export const CLOUDINIT_NETWORKDATA_DIR = '/var/run/kvcloud/cloudinit/networkdata';
/** kubeadm's fixed paths, writable for the guest as a VM's disk would be. */
const GUEST_STATE_DIRS: Record<string, string> = {
  'etc-kubernetes': '/etc/kubernetes',
  'var-lib-kubelet': '/var/lib/kubelet',
  'run-kubeadm': '/run/kubeadm',
  'var-lib-etcd': '/var/lib/etcd',
  // The runtime's directory: the guest serves the CRI where crictl looks for containerd.
  'run-containerd': '/run/containerd',
  // virt-launcher's private directory: the guest serves its command socket there for the node to reach.
  private: '/var/run/kubevirt-private',
};
/** KubeVirt's default: a vCPU asks the scheduler for a tenth of a core unless the VMI requests CPU itself. */
const CPU_ALLOCATION_RATIO = 10;
const DEFAULT_GRACE_SECONDS = 30;

export interface LauncherPodSpec extends PodSpec {
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  priorityClassName?: string;
  schedulerName?: string;
  subdomain?: string;
}

export interface LauncherPod extends Pod {
  spec: LauncherPodSpec;
}

export interface LauncherOptions {
  image: string;
  /** Container args (the image's entrypoint runs them); none by default. */
  args?: readonly string[] | undefined;
  /** Annotations of the VM that owns the VMI: Ignition data travels there. */
  vmAnnotations?: Record<string, string> | undefined;
  /** Set for a migration target pod. */
  migration?: { uid: string; name: string } | undefined;
}

// The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A generateName-style suffix derived from `seed` (the VMI or migration UID), so a retried create after a crash
 * collides with the pod already made instead of making a second one.
 */
export function nameSuffix(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  return Array.from(digest.subarray(0, 5), (b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
}

export function launcherPodName(vmiName: string, seed: string): string {
  // generateName keeps at most 58 characters of the prefix so the suffix fits a 63-character name.
  return `virt-launcher-${vmiName}-`.slice(0, 58) + nameSuffix(seed);
}

function vcpus(vmi: VirtualMachineInstance): number {
  const cpu = vmi.spec?.domain.cpu;
  return (cpu?.cores ?? 1) * (cpu?.sockets ?? 1) * (cpu?.threads ?? 1);
}

function resources(vmi: VirtualMachineInstance): NonNullable<Container['resources']> {
  const domain = vmi.spec?.domain ?? { devices: {} };
  const requests: Record<string, string | number> = { ...domain.resources?.requests };
  const limits: Record<string, string | number> = { ...domain.resources?.limits };
  const guestMemory = domain.memory?.guest;
  if (requests.memory === undefined && guestMemory !== undefined) requests.memory = guestMemory;
  if (!('cpu' in requests)) requests.cpu = `${Math.ceil((vcpus(vmi) * 1000) / CPU_ALLOCATION_RATIO)}m`;
  // Devices are extended resources: a node without them cannot take the VM, as with a real device plugin.
  for (const device of [...(domain.devices.gpus ?? []), ...(domain.devices.hostDevices ?? [])]) {
    limits[device.deviceName] = Number(limits[device.deviceName] ?? 0) + 1;
  }
  for (const [name, value] of Object.entries(limits)) if (name.includes('/')) requests[name] = value;
  return { requests, ...(Object.keys(limits).length > 0 ? { limits } : {}) };
}

function decode(base64: string | undefined): string | undefined {
  return base64 === undefined ? undefined : Buffer.from(base64, 'base64').toString('utf8');
}

interface CloudInitLayout {
  env: EnvVar[];
  volumes: Volume[];
  mounts: VolumeMount[];
}

function cloudInit(vmi: VirtualMachineInstance): CloudInitLayout {
  const layout: CloudInitLayout = { env: [], volumes: [], mounts: [] };
  const volume = vmi.spec?.volumes?.find((v) => v.cloudInitConfigDrive ?? v.cloudInitNoCloud);
  if (!volume) return layout;
  const source: CloudInitSource = volume.cloudInitConfigDrive ?? volume.cloudInitNoCloud ?? {};
  layout.env.push({ name: 'GUEST_CLOUDINIT_SOURCE', value: volume.cloudInitConfigDrive ? 'configDrive' : 'noCloud' });
  const inline = source.userData ?? decode(source.userDataBase64);
  if (inline !== undefined) layout.env.push({ name: 'GUEST_USERDATA_INLINE', value: inline });
  const networkInline = source.networkData ?? decode(source.networkDataBase64);
  if (networkInline !== undefined) layout.env.push({ name: 'GUEST_NETWORKDATA_INLINE', value: networkInline });
  const secretMount = (name: string, secretName: string, path: string) => {
    layout.volumes.push({ name, secret: { secretName } });
    layout.mounts.push({ name, mountPath: path, readOnly: true });
  };
  if (source.secretRef) secretMount('cloudinit-userdata', source.secretRef.name, CLOUDINIT_USERDATA_DIR);
  if (source.networkDataSecretRef) secretMount('cloudinit-networkdata', source.networkDataSecretRef.name, CLOUDINIT_NETWORKDATA_DIR);
  return layout;
}

function withTargetAntiAffinity(affinity: Affinity | undefined, vmiUid: string): Affinity {
  // A migration target must land on another node than the source, as virt-controller requires.
  const anti = (affinity?.podAntiAffinity ?? {}) as { requiredDuringSchedulingIgnoredDuringExecution?: unknown[] };
  const required = [
    ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    { labelSelector: { matchLabels: { [CREATED_BY_LABEL]: vmiUid } }, topologyKey: 'kubernetes.io/hostname' },
  ];
  return { ...affinity, podAntiAffinity: { ...anti, requiredDuringSchedulingIgnoredDuringExecution: required } };
}

/** A pod hostname is one DNS label: at most 63 characters, not ending in a dash. */
function podHostname(vmiName: string): string {
  return vmiName.slice(0, 63).replace(/-+$/, '');
}

export function buildLauncherPod(vmi: VirtualMachineInstance, opts: LauncherOptions): LauncherPod {
  const name = vmi.metadata.name ?? '';
  const uid = vmi.metadata.uid ?? '';
  const namespace = vmi.metadata.namespace ?? '';
  const owner: OwnerReference = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name, uid, controller: true, blockOwnerDeletion: true };
  const ci = cloudInit(vmi);
  const ignition = vmi.metadata.annotations?.[IGNITION_ANNOTATION] ?? opts.vmAnnotations?.[IGNITION_ANNOTATION];
  const stateVolumes = Object.entries(GUEST_STATE_DIRS);
  const env: EnvVar[] = [
    { name: 'GUEST_VM_NAMESPACE', value: namespace },
    { name: 'GUEST_VM_NAME', value: name },
    { name: 'GUEST_NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ...ci.env,
    ...(ignition !== undefined ? [{ name: 'GUEST_IGNITION', value: ignition }] : []),
  ];
  const spec = vmi.spec ?? { domain: { devices: {} } };
  const affinity = opts.migration ? withTargetAntiAffinity(spec.affinity, uid) : spec.affinity;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: launcherPodName(name, opts.migration?.uid ?? uid),
      namespace,
      labels: {
        ...vmi.metadata.labels,
        [APP_LABEL]: LAUNCHER_APP,
        [CREATED_BY_LABEL]: uid,
        [VM_NAME_LABEL]: name,
        [DOMAIN_LABEL]: name,
        ...(opts.migration ? { [MIGRATION_JOB_UID_LABEL]: opts.migration.uid } : {}),
      },
      annotations: {
        [DOMAIN_LABEL]: name,
        'kubectl.kubernetes.io/default-container': COMPUTE_CONTAINER,
        ...(opts.migration ? { [MIGRATION_JOB_NAME_ANNOTATION]: opts.migration.name } : {}),
      },
      ownerReferences: [owner],
    },
    spec: {
      containers: [
        {
          name: COMPUTE_CONTAINER,
          image: opts.image,
          ...(opts.args ? { args: [...opts.args] } : {}),
          env,
          resources: resources(vmi),
          volumeMounts: [...ci.mounts, ...stateVolumes.map(([volume, mountPath]) => ({ name: volume, mountPath }))],
        },
      ],
      volumes: [...ci.volumes, ...stateVolumes.map(([volume]) => ({ name: volume, emptyDir: {} }))],
      // A VM that shuts down is not restarted in place: the VMI finishes and its VM decides what comes next.
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS,
      hostname: spec.hostname ?? podHostname(name),
      ...(spec.subdomain ? { subdomain: spec.subdomain } : {}),
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(affinity ? { affinity } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
      ...(spec.schedulerName ? { schedulerName: spec.schedulerName } : {}),
    },
  };
}
