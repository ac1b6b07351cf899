// What every Node a simulated kubelet registers has in common, whether it stands for a management-cluster node
// (cluster/) or a kubelet inside a KubeVirt guest (guest/): the object's shape, the labels a kubelet sets on
// itself, and the pressure and Ready conditions of a healthy kubelet.
import { arch as machineArch } from 'node:os';
import type { KubeObject } from '../lib/kube/object.js';

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
  capacity: Record<string, string | number>;
  allocatable: Record<string, string | number>;
  conditions: NodeCondition[];
  addresses: NodeAddress[];
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
  nodeInfo: Record<string, string>;
}

export interface Node extends KubeObject {
  spec?: { providerID?: string; taints?: Taint[]; unschedulable?: boolean; podCIDR?: string };
  status?: NodeStatus;
}

export const NODE = { apiVersion: 'v1', kind: 'Node' } as const;

// Node's names for architectures, in Go's (GOARCH) spelling that Kubernetes labels use.
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
export const goArch = (): string => GO_ARCH[machineArch()] ?? machineArch();

/** The labels a kubelet puts on its own Node. */
export function kubeletLabels(name: string): Record<string, string> {
  return { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch() };
}

/** A healthy kubelet's conditions; `since` is when it came up, as none has changed since. */
export function healthyConditions(readyMessage: string, now: string, since: string): NodeCondition[] {
  const condition = (type: string, status: NodeCondition['status'], reason: string, message: string): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: since,
  });
  return [
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', readyMessage),
  ];
}
