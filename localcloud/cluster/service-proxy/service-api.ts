// The parts of core/v1 Service and discovery/v1 EndpointSlice the service proxy reads and writes, in their wire
// JSON names, plus the well-known keys it honours. Plain JSON shapes rather than client-node's classes, whose
// typed APIs drop fields they do not know (status.loadBalancer.ingress[].ipMode among them).
import type { KubeObject } from '../../../lib/kube/object.js';

export const SERVICE = { apiVersion: 'v1', kind: 'Service' } as const;
export const ENDPOINT_SLICE = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' } as const;

/** The label tying an EndpointSlice to its Service, set by the EndpointSlice controller and by hand alike. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Our loadBalancerClass: Services without a class, or with this one, get an IP from the local pool. */
export const LOCAL_LOAD_BALANCER_CLASS = 'kvcloud.io/local-lb';

// Annotations other bare-metal load balancers read for a requested IP; honoured so manifests written for MetalLB
// or kube-vip keep working here. Each holds a comma-separated list; we use its IPv4 entries.
export const REQUESTED_IP_ANNOTATIONS = [
  'metallb.io/loadBalancerIPs',
  'metallb.universe.tf/loadBalancerIPs',
  'kube-vip.io/loadbalancerIPs',
] as const;

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
}

export interface Service extends KubeObject {
  spec?: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    selector?: Record<string, string>;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    ports?: ServicePort[];
    loadBalancerIP?: string;
    loadBalancerClass?: string;
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    externalName?: string;
  };
  status?: {
    loadBalancer?: { ingress?: LoadBalancerIngress[] };
  };
}

export interface EndpointSlicePort {
  name?: string;
  protocol?: Protocol;
  port?: number;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: SliceEndpoint[] | null;
  ports?: EndpointSlicePort[] | null;
}
