// The tenant's address plan with Kamaji's defaults, but for the ranges (tenantcontrolplane-spec.ts says why): Service and Pod CIDRs (the plural fields win over the
// deprecated singular ones), the DNS Service IP (the tenth address of the first Service CIDR, as kubeadm picks
// it), the kubernetes Service IP (the first), and the apiserver port.
import { cidrContains, formatIP, parseCIDR, type CIDR } from '../../../lib/net/ip.js';
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR } from '../api/tenantcontrolplane-spec.js';
import type { NetworkProfileSpec } from '../api/tenantcontrolplane-spec.js';

export const DEFAULT_API_PORT = 6443;
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

// Kamaji's Go types turn an absent string into "", so an empty value means "use the default" too.
function orDefault(value: string | undefined, fallback: string): string {
  return value !== undefined && value !== '' ? value : fallback;
}

export function serviceCIDRs(np: NetworkProfileSpec | undefined): string[] {
  if (np?.serviceCidrs?.length) return np.serviceCidrs;
  return [orDefault(np?.serviceCidr, DEFAULT_SERVICE_CIDR)];
}

export function podCIDRs(np: NetworkProfileSpec | undefined): string[] {
  if (np?.podCidrs?.length) return np.podCidrs;
  return [orDefault(np?.podCidr, DEFAULT_POD_CIDR)];
}

export function apiServerPort(np: NetworkProfileSpec | undefined): number {
  return np?.port ?? DEFAULT_API_PORT;
}

export function clusterDomain(np: NetworkProfileSpec | undefined): string {
  return orDefault(np?.clusterDomain, DEFAULT_CLUSTER_DOMAIN);
}

/** The address `offset` places after the network address of `cidr` (IPv4 or IPv6). */
export function addressInCIDR(cidr: string, offset: number): string {
  const block = parseCIDR(cidr);
  if (!block) throw new Error(`"${cidr}" is not a CIDR`);
  // Not range-checked like nthAddress: planning must not throw on a small CIDR the API admitted.
  return formatIP({ family: block.family, value: block.network + BigInt(offset) });
}

export function dnsServiceIPs(np: NetworkProfileSpec | undefined): string[] {
  if (np?.dnsServiceIPs?.length) return np.dnsServiceIPs;
  return [addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 10)];
}

export function kubernetesServiceIP(np: NetworkProfileSpec | undefined): string {
  return addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 1);
}

/**
 * The management cluster's Pod and Service ranges, which the operator learns from its flags
 * (--management-pod-cidr, --management-service-cidr): the tenant's worker VMs are pods on the management pod
 * network, so a tenant range that overlaps one of these would make addresses ambiguous on the VMs.
 */
export interface ManagementRanges {
  podCIDRs: string[];
  serviceCIDRs: string[];
}

const overlaps = (a: CIDR, b: CIDR) => a.family === b.family && (cidrContains(a, { family: b.family, value: b.network }) || cidrContains(b, { family: a.family, value: a.network }));

/** What is wrong when a tenant range overlaps a management range, naming both and the field to change; else undefined. */
export function managementRangeConflict(np: NetworkProfileSpec | undefined, management: ManagementRanges): string | undefined {
  const tenant = [
    ...podCIDRs(np).map((cidr) => ({ cidr, field: np?.podCidrs?.length ? 'networkProfile.podCidrs' : 'networkProfile.podCidr', what: 'Pod' })),
    ...serviceCIDRs(np).map((cidr) => ({ cidr, field: np?.serviceCidrs?.length ? 'networkProfile.serviceCidrs' : 'networkProfile.serviceCidr', what: 'Service' })),
  ];
  const taken = [...management.podCIDRs.map((cidr) => ({ cidr, what: 'Pod' })), ...management.serviceCIDRs.map((cidr) => ({ cidr, what: 'Service' }))];
  const problems: string[] = [];
  for (const t of tenant) {
    const block = parseCIDR(t.cidr);
    if (!block) continue; // admission refuses a malformed CIDR
    for (const m of taken) {
      const other = parseCIDR(m.cidr);
      if (other && overlaps(block, other)) problems.push(`${t.field} ${t.cidr} overlaps the management cluster's ${m.what} range ${m.cidr}`);
    }
  }
  if (problems.length === 0) return undefined;
  return `${problems.join('; ')}: the tenant's worker VMs live on the management pod network, so choose tenant ranges apart from it (kvcloud's default is Pod ${DEFAULT_POD_CIDR}, Service ${DEFAULT_SERVICE_CIDR})`;
}
