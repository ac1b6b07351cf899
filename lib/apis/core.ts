// Core Kubernetes (v1, policy/v1) kinds and shapes that the kvcloud components read or embed: plain JSON
// interfaces with upstream names and only the fields we touch (the API has many more).
import type { Condition } from '../controller/conditions.js';
import type { KubeObject, TypeMeta } from '../kube/object.js';

export const SECRET_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'Secret' };
export const SERVICE_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'Service' };
export const NODE_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'Node' };
export const POD_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'Pod' };
export const EVICTION_TYPE: TypeMeta = { apiVersion: 'policy/v1', kind: 'Eviction' };

/** Well-known Node label of the zone a node runs in: KubeVirt VMs are placed by it for failure domains. */
export const TOPOLOGY_ZONE_LABEL = 'topology.kubernetes.io/zone';

export type Quantity = string | number;

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
  preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; preference: NodeSelectorTerm }[];
}

export interface Affinity {
  nodeAffinity?: NodeAffinity;
  podAffinity?: Record<string, unknown>;
  podAntiAffinity?: Record<string, unknown>;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface ResourceRequirements {
  requests?: Record<string, Quantity>;
  limits?: Record<string, Quantity>;
}

export interface LocalObjectReference {
  name: string;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  loadBalancerIP?: string;
  loadBalancerClass?: string;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  ipFamilies?: ('IPv4' | 'IPv6')[];
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  externalIPs?: string[];
  loadBalancerSourceRanges?: string[];
  allocateLoadBalancerNodePorts?: boolean;
  healthCheckNodePort?: number;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
  ports?: { port: number; protocol: string; error?: string }[];
}

export interface Service extends KubeObject {
  spec?: ServiceSpec;
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] }; conditions?: Condition[] };
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface Node extends KubeObject {
  spec?: { providerID?: string; unschedulable?: boolean; taints?: Taint[]; podCIDR?: string; podCIDRs?: string[] };
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: NodeCondition[];
    capacity?: Record<string, Quantity>;
    allocatable?: Record<string, Quantity>;
    nodeInfo?: { architecture?: string; operatingSystem?: string; kubeletVersion?: string; osImage?: string };
  };
}

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    nodeSelector?: Record<string, string>;
    affinity?: Affinity;
    tolerations?: Toleration[];
    containers?: { name: string; image?: string }[];
  };
  status?: { phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'; podIP?: string; podIPs?: { ip: string }[] };
}

/** policy/v1 Eviction, posted to a Pod's eviction subresource so PodDisruptionBudgets are honoured. */
export interface Eviction extends KubeObject {
  deleteOptions?: { gracePeriodSeconds?: number };
}
