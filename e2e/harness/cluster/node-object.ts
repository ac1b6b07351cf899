// The Node object of a simulated node, as a kubelet registers it: the well-known labels the scheduler and
// topology spreading read (hostname, os, arch, zone, region), capacity and allocatable, Ready and the pressure
// conditions, and the node address on the cluster bridge.
import { arch as machineArch, release } from 'node:os';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { Quantity } from './pod-api.js';

export interface NodeOptions {
  name: string;
  /** topology.kubernetes.io/zone. */
  zone?: string;
  /** topology.kubernetes.io/region. */
  region?: string;
  /** Added to the kubelet's own labels; NodeRestriction lets a node set only kubelet-settable ones. */
  labels?: Record<string, string>;
  /** cpu, memory, pods, ephemeral-storage: what the scheduler fits pods into. */
  capacity?: Record<string, Quantity>;
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
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
  capacity: Record<string, Quantity>;
  allocatable: Record<string, Quantity>;
  conditions: NodeCondition[];
  addresses: { type: string; address: string }[];
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
  nodeInfo: Record<string, string>;
}

export interface Node extends KubeObject {
  spec?: { taints?: NodeOptions['taints']; podCIDR?: string };
  status?: NodeStatus;
}

export const NODE = { apiVersion: 'v1', kind: 'Node' } as const;

export const DEFAULT_CAPACITY: Record<string, Quantity> = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' };

// Node's names for architectures, in Go's (GOARCH) spelling that Kubernetes labels use.
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
const goArch = () => GO_ARCH[machineArch()] ?? machineArch();

export function nodeLabels(opts: NodeOptions): Record<string, string> {
  return {
    'kubernetes.io/hostname': opts.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    ...(opts.zone ? { 'topology.kubernetes.io/zone': opts.zone } : {}),
    ...(opts.region ? { 'topology.kubernetes.io/region': opts.region } : {}),
    ...opts.labels,
  };
}

const pressure = (type: string, reason: string, message: string, now: string, since: string): NodeCondition => ({
  type,
  status: 'False',
  reason,
  message,
  lastHeartbeatTime: now,
  lastTransitionTime: since,
});

/** `since` is when the node came up: conditions have not changed since. */
export function nodeStatus(opts: NodeOptions, hostIP: string, kubeletVersion: string, now: string, since: string): NodeStatus {
  const capacity = { ...DEFAULT_CAPACITY, ...opts.capacity };
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', now, since),
      pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now, since),
      pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now, since),
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kvcloud pod runner is posting ready status', lastHeartbeatTime: now, lastTransitionTime: since },
    ],
    addresses: [
      { type: 'InternalIP', address: hostIP },
      { type: 'Hostname', address: opts.name },
    ],
    // No kubelet API is served: `kubectl logs/exec` are out of reach, and port 0 says so.
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: opts.name,
      systemUUID: opts.name,
      bootID: since,
      kernelVersion: release(),
      osImage: 'kvcloud local pod runner',
      containerRuntimeVersion: 'kvcloud-pod-runner://0.1.0',
      kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

export function buildNode(opts: NodeOptions, status: NodeStatus): Node {
  return {
    ...NODE,
    metadata: { name: opts.name, labels: nodeLabels(opts) },
    spec: opts.taints ? { taints: opts.taints } : {},
    status,
  };
}
