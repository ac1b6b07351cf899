// InstancesV2 as pure functions over what the infra cache holds: which VMI a tenant Node is, whether it exists or
// is shut down, and the metadata the cloud-node controller writes (providerID, addresses, type, zone, region).
import type { Node } from '../../lib/apis/core.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { INSTANCE_ID_LABEL, INSTANCE_TYPE_ANNOTATIONS, PROVIDER_ID_PREFIX, REGION_LABEL, ZONE_LABEL } from '../api/labels.js';

export interface NodeAddress {
  type: string;
  address: string;
}

export interface InstanceMetadata {
  providerID: string;
  addresses: NodeAddress[];
  instanceType: string | undefined;
  zone: string | undefined;
  region: string | undefined;
}

const PROVIDER_ID = /^kubevirt:\/\/([0-9A-Za-z_.-]+)$/;

/** The VM name in a kubevirt://<vm> providerID; undefined for any other form. */
export function instanceIdFromProviderID(providerID: string | undefined): string | undefined {
  return PROVIDER_ID.exec(providerID ?? '')?.[1];
}

export const providerIDFor = (vmName: string): string => `${PROVIDER_ID_PREFIX}${vmName}`;

/**
 * The VMI behind a Node: by its node.kubernetes.io/instance-id label when set, else its providerID, its name, and
 * the hostname the VMI gives its guest (upstream's hostname lookup compares against the wrong field).
 */
export function findInstance(node: Node, vmis: readonly VirtualMachineInstance[]): VirtualMachineInstance | undefined {
  const byName = (name: string | undefined) => (name ? vmis.find((v) => v.metadata.name === name) : undefined);
  const label = node.metadata.labels?.[INSTANCE_ID_LABEL];
  if (label) return byName(label);
  const nodeName = node.metadata.name ?? '';
  return (
    byName(instanceIdFromProviderID(node.spec?.providerID)) ??
    byName(nodeName) ??
    vmis.find((v) => v.spec?.hostname === nodeName || v.spec?.hostname?.split('.')[0] === nodeName)
  );
}

/** The VM name a Node stands for, whether or not its VM or VMI still exist. */
export function instanceIdOf(node: Node): string | undefined {
  return node.metadata.labels?.[INSTANCE_ID_LABEL] ?? instanceIdFromProviderID(node.spec?.providerID);
}

const isLinkLocal = (ip: string): boolean => ip.toLowerCase().startsWith('fe80:') || ip.startsWith('169.254.');

/**
 * InternalIP addresses from every interface and family, the default (pod network) interface first so clients that
 * take the first address reach the VM the way the infra load balancer does, and a Hostname address with the Node
 * name. When the VMI reports no address (a guest agent that stopped answering), the Node keeps the ones it has.
 */
export function nodeAddresses(vmi: VirtualMachineInstance, node: Node): NodeAddress[] {
  const interfaces = [...(vmi.status?.interfaces ?? [])].sort((a, b) => Number(b.name === 'default') - Number(a.name === 'default'));
  const ips: string[] = [];
  for (const i of interfaces) {
    for (const ip of i.ipAddresses ?? (i.ipAddress ? [i.ipAddress] : [])) if (!isLinkLocal(ip) && !ips.includes(ip)) ips.push(ip);
  }
  const previous = node.status?.addresses ?? [];
  const internal = ips.length > 0 ? ips.map((address) => ({ type: 'InternalIP', address })) : previous.filter((a) => a.type === 'InternalIP');
  return [...internal, { type: 'Hostname', address: node.metadata.name ?? '' }];
}

export function instanceType(vmi: VirtualMachineInstance): string | undefined {
  for (const key of INSTANCE_TYPE_ANNOTATIONS) {
    const value = vmi.metadata.annotations?.[key];
    if (value) return value;
  }
  return undefined;
}

export function instanceMetadata(vmi: VirtualMachineInstance, node: Node, infraNode: Node | undefined): InstanceMetadata {
  return {
    providerID: providerIDFor(vmi.metadata.name ?? ''),
    addresses: nodeAddresses(vmi, node),
    instanceType: instanceType(vmi),
    zone: infraNode?.metadata.labels?.[ZONE_LABEL],
    region: infraNode?.metadata.labels?.[REGION_LABEL],
  };
}

export type InstanceState = 'Running' | 'Shutdown' | 'Gone';

/**
 * Gone when neither the VM nor its VMI exists; shut down when the VMI finished, lost its host (Unknown) or is
 * absent while the VM still exists (stopped); running otherwise, as upstream's InstanceShutdown reads the phase.
 */
export function instanceState(vm: VirtualMachine | undefined, vmi: VirtualMachineInstance | undefined): InstanceState {
  if (!vmi) return vm ? 'Shutdown' : 'Gone';
  const phase = vmi.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown' ? 'Shutdown' : 'Running';
}
