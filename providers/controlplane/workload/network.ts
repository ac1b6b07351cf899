// The tenant's address plan with Kamaji's defaults: Service and Pod CIDRs (the plural fields win over the
// deprecated singular ones), the DNS Service IP (the tenth address of the first Service CIDR, as kubeadm picks
// it), the kubernetes Service IP (the first), and the apiserver port.
import { formatIP, parseCIDR } from '../../../lib/net/ip.js';
import type { NetworkProfileView } from './tcp-view.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_API_PORT = 6443;
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

// Kamaji's Go types turn an absent string into "", so an empty value means "use the default" too.
function orDefault(value: string | undefined, fallback: string): string {
  return value !== undefined && value !== '' ? value : fallback;
}

export function serviceCIDRs(np: NetworkProfileView | undefined): string[] {
  if (np?.serviceCidrs?.length) return np.serviceCidrs;
  return [orDefault(np?.serviceCidr, DEFAULT_SERVICE_CIDR)];
}

export function podCIDRs(np: NetworkProfileView | undefined): string[] {
  if (np?.podCidrs?.length) return np.podCidrs;
  return [orDefault(np?.podCidr, DEFAULT_POD_CIDR)];
}

export function apiServerPort(np: NetworkProfileView | undefined): number {
  return np?.port ?? DEFAULT_API_PORT;
}

export function clusterDomain(np: NetworkProfileView | undefined): string {
  return orDefault(np?.clusterDomain, DEFAULT_CLUSTER_DOMAIN);
}

/** The address `offset` places after the network address of `cidr` (IPv4 or IPv6). */
export function addressInCIDR(cidr: string, offset: number): string {
  const block = parseCIDR(cidr);
  if (!block) throw new Error(`"${cidr}" is not a CIDR`);
  // Not range-checked like nthAddress: planning must not throw on a small CIDR the API admitted.
  return formatIP({ family: block.family, value: block.network + BigInt(offset) });
}

export function dnsServiceIPs(np: NetworkProfileView | undefined): string[] {
  if (np?.dnsServiceIPs?.length) return np.dnsServiceIPs;
  return [addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 10)];
}

export function kubernetesServiceIP(np: NetworkProfileView | undefined): string {
  return addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 1);
}
