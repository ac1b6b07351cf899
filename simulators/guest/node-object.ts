// The Node a kubelet in a KubeVirt VM registers: its name, providerID, the kubelet's own labels plus
// --node-labels, --register-with-taints, the VM's addresses, capacity, Ready and the pressure conditions.
import { goArch, healthyConditions, kubeletLabels, NODE, type Node, type NodeAddress, type NodeStatus, type Taint } from '../../localcloud/node-object.js';

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

export function guestNodeLabels(spec: GuestNodeSpec): Record<string, string> {
  return { ...kubeletLabels(spec.name), ...spec.labels };
}

/** `since` is when the guest booted: no condition has changed since. */
export function guestNodeStatus(spec: GuestNodeSpec, now: string, since: string): NodeStatus {
  const capacity = { ...DEFAULT_GUEST_CAPACITY, ...spec.capacity };
  const addresses = [...(spec.addresses ?? [])];
  if (!addresses.some((a) => a.type === 'Hostname')) addresses.push({ type: 'Hostname', address: spec.name });
  return {
    capacity,
    allocatable: capacity,
    conditions: healthyConditions('kubelet is posting ready status', now, since),
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
    ...NODE,
    metadata: { name: spec.name, labels: guestNodeLabels(spec) },
    spec: { ...(spec.providerID ? { providerID: spec.providerID } : {}), ...(spec.taints?.length ? { taints: spec.taints } : {}) },
    status,
  };
}
