// The infra Service that serves a tenant LoadBalancer Service, as kubevirt/cloud-provider-kubevirt names and shapes
// it (so a CCM swap finds the Services it made): named after the tenant Service's UID, labelled with the tenant
// Service and cluster, each port forwarding to the tenant NodePort on the worker VMs' virt-launcher pods.
import type { LoadBalancerIngress, Service, ServicePort } from '../../lib/apis/core.js';
import { SERVICE_TYPE } from '../../lib/apis/core.js';
import type { KubeObject } from '../../lib/kube/object.js';
import {
  CLUSTER_NAME_LABEL,
  ROLE_LABEL,
  TENANT_SERVICE_NAME_LABEL,
  TENANT_SERVICE_NAMESPACE_LABEL,
  WORKER_ROLE,
} from '../api/labels.js';
import type { LoadBalancerConfig } from '../config/cloud-config.js';
import { tenantMetadata } from './tenant-metadata.js';

/** Kubernetes' DefaultLoadBalancerName: "a" + the Service UID without dashes, at most 32 characters. */
export function infraServiceName(tenant: Service): string {
  const uid = tenant.metadata.uid;
  if (!uid) throw new Error(`tenant Service ${tenant.metadata.namespace ?? ''}/${tenant.metadata.name ?? ''} has no uid yet`);
  return `a${uid.replaceAll('-', '')}`.slice(0, 32);
}

/** Whether a tenant Service is one we serve, and with which infra class. */
export type Ownership = { ours: true; infraClass: string | undefined } | { ours: false; why: 'NotLoadBalancer' | 'ForeignClass' };

export function ownership(tenant: Service, classes: Record<string, string>): Ownership {
  if (tenant.spec?.type !== 'LoadBalancer') return { ours: false, why: 'NotLoadBalancer' };
  const cls = tenant.spec.loadBalancerClass;
  if (cls === undefined) return { ours: true, infraClass: undefined };
  const infraClass = classes[cls];
  if (infraClass === undefined) return { ours: false, why: 'ForeignClass' };
  return { ours: true, infraClass: infraClass === '' ? undefined : infraClass };
}

/** Ports without a NodePort: nothing on the VMs answers for them (allocateLoadBalancerNodePorts: false). */
export function portsWithoutNodePort(tenant: Service): ServicePort[] {
  return (tenant.spec?.ports ?? []).filter((p) => p.nodePort === undefined);
}

/** The worker VMs' launcher pods of one tenant cluster: what a selector-based infra Service forwards to. */
export function workerSelector(clusterName: string): Record<string, string> {
  return { [ROLE_LABEL]: WORKER_ROLE, [CLUSTER_NAME_LABEL]: clusterName };
}

/**
 * Whether the infra Service goes without a selector: always when selectorless (a third party fills it), and for
 * externalTrafficPolicy Local when the EndpointSlice controller runs, since a selector would send traffic to VMs
 * without a local endpoint, where kube-proxy drops it. As upstream, the controller then fills every selectorless one.
 */
export function endpointsFromSlices(tenant: Service, config: LoadBalancerConfig): boolean {
  return config.selectorless || (config.enableEPSController && tenant.spec?.externalTrafficPolicy === 'Local');
}

export interface InfraServiceOptions {
  namespace: string;
  clusterName: string;
  loadBalancer: LoadBalancerConfig;
  infraLabels: Record<string, string>;
  infraAnnotations: Record<string, string>;
  infraClass: string | undefined;
}

/**
 * The infra Service for `tenant`, holding exactly the fields the CCM owns (it is server-side applied): tenant
 * annotations and labels follow the tenant Service for its whole life, less those tenantMetadata refuses;
 * operator-set infraAnnotations and infraLabels win over the tenant's, and the CCM's own labels win over both.
 */
export function buildInfraService(tenant: Service, opts: InfraServiceOptions): Service {
  const spec = tenant.spec ?? {};
  const ports = (spec.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    protocol: p.protocol ?? 'TCP',
    port: p.port,
    targetPort: p.nodePort ?? p.port,
  }));
  const carried = tenantMetadata(tenant);
  const annotations = { ...carried.annotations, ...opts.infraAnnotations };
  return {
    ...SERVICE_TYPE,
    metadata: {
      name: infraServiceName(tenant),
      namespace: opts.namespace,
      labels: {
        ...carried.labels,
        ...opts.infraLabels,
        [TENANT_SERVICE_NAME_LABEL]: tenant.metadata.name ?? '',
        [TENANT_SERVICE_NAMESPACE_LABEL]: tenant.metadata.namespace ?? '',
        [CLUSTER_NAME_LABEL]: opts.clusterName,
      },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      type: 'LoadBalancer',
      ports,
      ...(endpointsFromSlices(tenant, opts.loadBalancer) ? {} : { selector: workerSelector(opts.clusterName) }),
      ...(opts.infraClass ? { loadBalancerClass: opts.infraClass } : {}),
      ...(spec.externalTrafficPolicy ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
      ...(spec.loadBalancerIP ? { loadBalancerIP: spec.loadBalancerIP } : {}),
      ...(spec.externalIPs?.length ? { externalIPs: [...spec.externalIPs] } : {}),
      ...(spec.loadBalancerSourceRanges?.length ? { loadBalancerSourceRanges: [...spec.loadBalancerSourceRanges] } : {}),
      ...(spec.ipFamilies?.length ? { ipFamilies: [...spec.ipFamilies] } : {}),
      ...(spec.ipFamilyPolicy ? { ipFamilyPolicy: spec.ipFamilyPolicy } : {}),
      ...(spec.allocateLoadBalancerNodePorts !== undefined ? { allocateLoadBalancerNodePorts: spec.allocateLoadBalancerNodePorts } : {}),
    },
  };
}

/** The infra Service's ingress as the tenant Service shows it: addresses only, no infra port errors. */
export function tenantIngress(infra: Service | undefined): LoadBalancerIngress[] {
  return (infra?.status?.loadBalancer?.ingress ?? [])
    .filter((i) => i.ip ?? i.hostname)
    .map((i) => ({ ...(i.ip ? { ip: i.ip } : {}), ...(i.hostname ? { hostname: i.hostname } : {}), ...(i.ipMode ? { ipMode: i.ipMode } : {}) }));
}

/**
 * The tenant Service an infra Service (or one of its infra EndpointSlices) of `clusterName` serves, as a work-queue
 * key, if it is one of ours.
 */
export function tenantKeyOf(infra: KubeObject, clusterName: string): string | undefined {
  const labels = infra.metadata.labels ?? {};
  const name = labels[TENANT_SERVICE_NAME_LABEL];
  const namespace = labels[TENANT_SERVICE_NAMESPACE_LABEL];
  if (labels[CLUSTER_NAME_LABEL] !== clusterName || !name || !namespace) return undefined;
  return `${namespace}/${name}`;
}
