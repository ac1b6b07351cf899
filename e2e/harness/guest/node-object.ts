// The Node a kubelet in a KubeVirt VM registers: its name, providerID, the kubelet's own labels plus
// --node-labels, --register-with-taints, the VM's addresses, capacity, Ready and the pressure conditions.
import { arch as machineArch } from 'node:os';
import type { KubeObject } from '../../../lib/kube/object.js';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

export interface NodeStatus {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  conditions: NodeCondition[];
  addresses: NodeAddress[];
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
  nodeInfo: Record<string, string>;
}

export interface Node extends KubeObject {
  spec?: { providerID?: string; taints?: Taint[]; unschedulable?: boolean };
  status?: NodeStatus;
}

export interface GuestNodeSpec {
  name: string;
  providerID?: string | undefined;
  labels?: Record<string, string> | undefined;
  taints?: Taint[] | undefined;
  /** The VM's addresses; a Hostname address with the node name is added when none is given. */
  addresses?: NodeAddress[] | undefined;
  capacity?: Record<string, string> | undefined;
  kubeletVersion: string;
  /** Stable per boot: machineID, systemUUID, bootID. */
  bootID: string;
}

export const DEFAULT_GUEST_CAPACITY: Record<string, string> = { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '20Gi' };

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386' };
export const goArch = (): string => GO_ARCH[machineArch()] ?? machineArch();

export function guestNodeLabels(spec: GuestNodeSpec): Record<string, string> {
  return { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch(), ...spec.labels };
}

const condition = (type: string, status: NodeCondition['status'], reason: string, message: string, now: string, since: string): NodeCondition => ({
  type,
  status,
  reason,
  message,
  lastHeartbeatTime: now,
  lastTransitionTime: since,
});

/** `since` is when the guest booted: no condition has changed since. */
export function guestNodeStatus(spec: GuestNodeSpec, now: string, since: string): NodeStatus {
  const capacity = { ...DEFAULT_GUEST_CAPACITY, ...spec.capacity };
  const addresses = [...(spec.addresses ?? [])];
  if (!addresses.some((a) => a.type === 'Hostname')) addresses.push({ type: 'Hostname', address: spec.name });
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', now, since),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now, since),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now, since),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', now, since),
    ],
    addresses,
    // The simulated guest serves no kubelet API.
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: spec.bootID,
      systemUUID: spec.bootID,
      bootID: spec.bootID,
      kernelVersion: 'kvcloud-guest',
      osImage: 'kvcloud simulated guest',
      containerRuntimeVersion: 'kvcloud-guest://0.1.0',
      kubeletVersion: spec.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

export function buildGuestNode(spec: GuestNodeSpec, status: NodeStatus): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels: guestNodeLabels(spec) },
    spec: { ...(spec.providerID ? { providerID: spec.providerID } : {}), ...(spec.taints?.length ? { taints: spec.taints } : {}) },
    status,
  };
}
