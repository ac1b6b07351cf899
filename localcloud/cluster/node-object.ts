// The Node object of a simulated node, as a kubelet registers it: the well-known labels the scheduler and
// topology spreading read (hostname, os, arch, zone, region), capacity and allocatable, Ready and the pressure
// conditions, and the node address on the cluster bridge.
import { release } from 'node:os';
import { goArch, healthyConditions, kubeletLabels, NODE, type Node, type NodeStatus, type Taint } from '../node-object.js';
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
  taints?: Taint[];
}

export const DEFAULT_CAPACITY: Record<string, Quantity> = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' };

export function nodeLabels(opts: NodeOptions): Record<string, string> {
  return {
    ...kubeletLabels(opts.name),
    ...(opts.zone ? { 'topology.kubernetes.io/zone': opts.zone } : {}),
    ...(opts.region ? { 'topology.kubernetes.io/region': opts.region } : {}),
    ...opts.labels,
  };
}

/** `since` is when the node came up: conditions have not changed since. */
export function nodeStatus(opts: NodeOptions, hostIP: string, kubeletVersion: string, now: string, since: string): NodeStatus {
  const capacity = { ...DEFAULT_CAPACITY, ...opts.capacity };
  return {
    capacity,
    allocatable: capacity,
    conditions: healthyConditions('kvcloud pod runner is posting ready status', now, since),
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
