// The names a tenant's kube-apiserver answers to, so every client (in-pod, in-management-cluster, in-tenant,
// external) can verify it: loopback, the management Service DNS names, the in-tenant `kubernetes` Service, the
// endpoint addresses and the user's certSANs.
import type { TenantControlPlane } from '../api/index.js';
import { canonicalIP } from '../../../lib/net/ip.js';
import { addressInCIDR, clusterDomain, serviceCIDRs } from '../management/network.js';

export interface APIServerIdentity {
  name: string;
  namespace: string;
  clusterDomain: string;
  serviceCIDRs: string[];
  /** networkProfile.address / advertiseAddress, the LoadBalancer ingress or ClusterIP: whatever the endpoint is. */
  endpointAddresses: string[];
  certSANs: string[];
}

export function apiServerIdentityOf(tcp: TenantControlPlane, endpointAddresses: string[]): APIServerIdentity {
  const np = tcp.spec.networkProfile;
  return {
    name: tcp.metadata.name ?? '',
    namespace: tcp.metadata.namespace ?? '',
    clusterDomain: clusterDomain(np),
    serviceCIDRs: serviceCIDRs(np),
    endpointAddresses: [np?.address, np?.advertiseAddress, ...endpointAddresses].filter((a): a is string => a !== undefined && a !== ''),
    // A client reaching the apiserver through the Ingress or TLSRoute (TLS passed through) checks that hostname.
    certSANs: [...(np?.certSANs ?? []), tcp.spec.controlPlane.ingress?.hostname, tcp.spec.controlPlane.gateway?.hostname].filter((h): h is string => h !== undefined && h !== ''),
  };
}

/** SANs in a stable order without duplicates (IPs compared canonically), so an unchanged input reissues nothing. */
export function apiServerSANs(id: APIServerIdentity): string[] {
  const svc = `${id.name}.${id.namespace}`;
  const candidates = [
    '127.0.0.1',
    'localhost',
    id.name,
    svc,
    `${svc}.svc`,
    `${svc}.svc.${id.clusterDomain}`,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${id.clusterDomain}`,
    // The first address of each range: what kube-apiserver gives the in-tenant `kubernetes` Service.
    ...id.serviceCIDRs.map((cidr) => addressInCIDR(cidr, 1)),
    ...id.endpointAddresses,
    ...id.certSANs,
  ];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of candidates) {
    const key = canonicalIP(name) ?? name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(canonicalIP(name) ?? name);
  }
  return out;
}
