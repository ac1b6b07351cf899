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
  /**
   * --cloud-provider=external: the Node registers tainted uninitialized with its --node-ip as an annotation, and
   * status reports leave addresses alone, since a cloud controller manager owns them from then on.
   */
  externalCloudProvider?: boolean | undefined;
  /** The kubelet API's port (daemonEndpoints); 0 when none is served. */
  kubeletPort?: number | undefined;
}

/** The taint a kubelet with an external cloud provider registers with; the cloud controller manager removes it. */
export const UNINITIALIZED_TAINT: Taint = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' };
/** Where such a kubelet records its --node-ip for the cloud controller manager. */
export const PROVIDED_NODE_IP_ANNOTATION = 'alpha.kubernetes.io/provided-node-ip';

export const DEFAULT_GUEST_CAPACITY: Record<string, string> = { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '20Gi' };

export function guestNodeLabels(spec: GuestNodeSpec): Record<string, string> {
  return { ...kubeletLabels(spec.name), ...spec.labels };
}

export function guestNodeAddresses(spec: GuestNodeSpec): NodeAddress[] {
  const addresses = [...(spec.addresses ?? [])];
  if (!addresses.some((a) => a.type === 'Hostname')) addresses.push({ type: 'Hostname', address: spec.name });
  return addresses;
}

/**
 * `since` is when the guest booted: no condition has changed since. With an external cloud provider the status
 * carries no addresses: the Node was created with them, and the cloud controller manager's win from then on.
 */
export type GuestNodeStatus = Omit<NodeStatus, 'addresses'> & { addresses?: NodeAddress[]; declaredFeatures?: string[] };

/**
 * The kubelet API serves exec, attach and port-forward over WebSockets (v5 channels, the SPDY tunnel) itself, so
 * the apiserver proxies kubectl's WebSocket requests through instead of translating them to SPDY.
 */
export const STREAMING_DECLARED_FEATURES = ['ExtendWebSocketsToKubelet'];

export function guestNodeStatus(spec: GuestNodeSpec, now: string, since: string): GuestNodeStatus {
  const capacity = { ...DEFAULT_GUEST_CAPACITY, ...spec.capacity };
  return {
    capacity,
    allocatable: capacity,
    conditions: healthyConditions('kubelet is posting ready status', now, since),
    ...(spec.externalCloudProvider ? {} : { addresses: guestNodeAddresses(spec) }),
    daemonEndpoints: { kubeletEndpoint: { Port: spec.kubeletPort ?? 0 } },
    ...(spec.kubeletPort ? { declaredFeatures: STREAMING_DECLARED_FEATURES } : {}),
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

export function buildGuestNode(spec: GuestNodeSpec, status: GuestNodeStatus): Node {
  const taints = [...(spec.taints ?? [])];
  if (spec.externalCloudProvider && !taints.some((t) => t.key === UNINITIALIZED_TAINT.key)) taints.push(UNINITIALIZED_TAINT);
  const internalIPs = (spec.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  return {
    ...NODE,
    metadata: {
      name: spec.name,
      labels: guestNodeLabels(spec),
      ...(spec.externalCloudProvider && internalIPs.length > 0 ? { annotations: { [PROVIDED_NODE_IP_ANNOTATION]: internalIPs.join(',') } } : {}),
    },
    spec: { ...(spec.providerID ? { providerID: spec.providerID } : {}), ...(taints.length ? { taints } : {}) },
    // Registration always names the addresses it knows, so the Node is reachable before any cloud controller runs.
    status: { ...status, addresses: guestNodeAddresses(spec) },
  };
}
