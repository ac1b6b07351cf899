// The infra EndpointSlices of a selectorless infra Service: one entry per VM that hosts a ready endpoint of the
// tenant Service, at the VM's default-interface address of each family the infra Service serves. Slice names derive
// from the infra Service's, so a retry or a restarted CCM rewrites the same slices instead of adding more.
import type { Service } from '../../lib/apis/core.js';
import { ENDPOINT_SLICE_TYPE, MANAGED_BY_LABEL, MAX_ENDPOINTS_PER_SLICE, SERVICE_NAME_LABEL, type Endpoint, type EndpointSlice } from '../../lib/apis/discovery.js';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { CLUSTER_NAME_LABEL, EPS_CONTROLLER_NAME, TENANT_SERVICE_NAME_LABEL, TENANT_SERVICE_NAMESPACE_LABEL } from '../api/labels.js';

type Family = 'IPv4' | 'IPv6';

/** The infra Services whose endpoints the CCM writes: its own without a selector. */
export function hasNoSelector(infra: Service): boolean {
  return Object.keys(infra.spec?.selector ?? {}).length === 0;
}

/** Tenant Node names that host at least one ready endpoint (an unset ready counts, as the API defines it). */
export function nodesWithReadyEndpoints(slices: readonly EndpointSlice[]): string[] {
  const nodes = new Set<string>();
  for (const slice of slices) {
    for (const e of slice.endpoints ?? []) if (e.nodeName && e.conditions?.ready !== false) nodes.add(e.nodeName);
  }
  return [...nodes].sort();
}

const familyOf = (ip: string): Family => (ip.includes(':') ? 'IPv6' : 'IPv4');
const isLinkLocal = (ip: string): boolean => ip.toLowerCase().startsWith('fe80:') || ip.startsWith('169.254.');

/** The VMI's first address of `family` on its default (pod network) interface: where the infra cluster reaches it. */
export function defaultAddress(vmi: VirtualMachineInstance, family: Family): string | undefined {
  const i = vmi.status?.interfaces?.find((n) => n.name === 'default');
  const ips = i?.ipAddresses ?? (i?.ipAddress ? [i.ipAddress] : []);
  return ips.find((ip) => familyOf(ip) === family && !isLinkLocal(ip));
}

/** Slice `index` of `family`: `<infra Service>-ipv4`, then `-ipv4-1`, ... past MAX_ENDPOINTS_PER_SLICE VMs. */
export function infraSliceName(infraName: string, family: Family, index: number): string {
  return `${infraName}-${family.toLowerCase()}${index > 0 ? `-${String(index)}` : ''}`;
}

function endpointOf(vmi: VirtualMachineInstance, address: string): Endpoint {
  const phase = vmi.status?.phase;
  const running = phase === 'Running';
  return {
    addresses: [address],
    conditions: { ready: running, serving: running, terminating: phase === 'Succeeded' || phase === 'Failed' },
    ...(vmi.status?.nodeName ? { nodeName: vmi.status.nodeName } : {}),
    targetRef: { kind: 'VirtualMachineInstance', namespace: vmi.metadata.namespace ?? '', name: vmi.metadata.name ?? '', uid: vmi.metadata.uid ?? '' },
  };
}

/**
 * The slices for `infra` listing `hosts` (VMIs of this cluster already resolved from the tenant's endpoints), per
 * address family of the infra Service: at least one per family, empty when no VM hosts a ready endpoint, so the
 * set of names stays put while endpoints come and go. Ports forward to the tenant NodePorts, as the Service's do.
 */
export function buildInfraEndpointSlices(infra: Service, hosts: readonly VirtualMachineInstance[], clusterName: string): EndpointSlice[] {
  const name = infra.metadata.name ?? '';
  const families: Family[] = infra.spec?.ipFamilies?.length ? infra.spec.ipFamilies : ['IPv4'];
  const ports = (infra.spec?.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    protocol: p.protocol ?? 'TCP',
    port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
  }));
  const sorted = [...hosts].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const slices: EndpointSlice[] = [];
  for (const family of families) {
    const endpoints = sorted.flatMap((vmi) => {
      const address = defaultAddress(vmi, family);
      return address ? [endpointOf(vmi, address)] : [];
    });
    const chunks = Math.max(1, Math.ceil(endpoints.length / MAX_ENDPOINTS_PER_SLICE));
    for (let index = 0; index < chunks; index++) {
      slices.push({
        ...ENDPOINT_SLICE_TYPE,
        metadata: {
          name: infraSliceName(name, family, index),
          namespace: infra.metadata.namespace ?? '',
          labels: {
            [SERVICE_NAME_LABEL]: name,
            [MANAGED_BY_LABEL]: EPS_CONTROLLER_NAME,
            [CLUSTER_NAME_LABEL]: clusterName,
            [TENANT_SERVICE_NAME_LABEL]: infra.metadata.labels?.[TENANT_SERVICE_NAME_LABEL] ?? '',
            [TENANT_SERVICE_NAMESPACE_LABEL]: infra.metadata.labels?.[TENANT_SERVICE_NAMESPACE_LABEL] ?? '',
          },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: infra.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        addressType: family,
        endpoints: endpoints.slice(index * MAX_ENDPOINTS_PER_SLICE, (index + 1) * MAX_ENDPOINTS_PER_SLICE),
        ports,
      });
    }
  }
  return slices;
}

/** The label selector of the slices the CCM of `clusterName` wrote for infra Service `infraName`. */
export function ownSlicesSelector(infraName: string, clusterName: string): string {
  return `${SERVICE_NAME_LABEL}=${infraName},${MANAGED_BY_LABEL}=${EPS_CONTROLLER_NAME},${CLUSTER_NAME_LABEL}=${clusterName}`;
}
