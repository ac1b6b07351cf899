// Cluster API core kinds (cluster.x-k8s.io/v1beta2) as the providers read them: the subset of fields the
// infrastructure and control plane contracts touch, with upstream JSON names. Cluster API owns these kinds;
// we only read them (and patch a few labels/annotations), so every field is optional.
import type { KubeObject, TypeMeta } from '../kube/object.js';

export const CLUSTER_API_GROUP = 'cluster.x-k8s.io';
export const CLUSTER_API_VERSION = 'v1beta2';
export const CLUSTER_API_API_VERSION = `${CLUSTER_API_GROUP}/${CLUSTER_API_VERSION}`;

export const CLUSTER_TYPE: TypeMeta = { apiVersion: CLUSTER_API_API_VERSION, kind: 'Cluster' };
export const MACHINE_TYPE: TypeMeta = { apiVersion: CLUSTER_API_API_VERSION, kind: 'Machine' };
export const MACHINE_SET_TYPE: TypeMeta = { apiVersion: CLUSTER_API_API_VERSION, kind: 'MachineSet' };
export const MACHINE_DEPLOYMENT_TYPE: TypeMeta = { apiVersion: CLUSTER_API_API_VERSION, kind: 'MachineDeployment' };

/** Set on control plane Machines (value ""), and copied by providers onto what they create for them. */
export const MACHINE_CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane';
export const MACHINE_DEPLOYMENT_NAME_LABEL = 'cluster.x-k8s.io/deployment-name';
export const MACHINE_SET_NAME_LABEL = 'cluster.x-k8s.io/set-name';
/** Contract label on provider CRDs: which of their versions serve which Cluster API contract. */
export const CONTRACT_LABEL_V1BETA2 = 'cluster.x-k8s.io/v1beta2';
export const CONTRACT_LABEL_V1BETA1 = 'cluster.x-k8s.io/v1beta1';

/** metav1.Condition, as Cluster API v1beta2 uses it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Cluster API's own v1beta1 condition (severity instead of observedGeneration). */
export interface V1Beta1Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  severity?: '' | 'Error' | 'Warning' | 'Info';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** v1beta2 reference to a provider object in the same namespace. */
export interface ContractVersionedObjectReference {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface APIEndpoint {
  host?: string;
  port?: number;
}

export interface NetworkRanges {
  cidrBlocks?: string[];
}

export interface ClusterNetwork {
  apiServerPort?: number;
  services?: NetworkRanges;
  pods?: NetworkRanges;
  serviceDomain?: string;
}

/** One entry of the v1beta2 list form; v1beta1 used a map from name to { controlPlane, attributes }. */
export interface FailureDomain {
  name: string;
  controlPlane?: boolean;
  attributes?: Record<string, string>;
}

export interface ClusterSpec {
  paused?: boolean;
  clusterNetwork?: ClusterNetwork;
  controlPlaneEndpoint?: APIEndpoint;
  controlPlaneRef?: ContractVersionedObjectReference;
  infrastructureRef?: ContractVersionedObjectReference;
  topology?: {
    classRef?: { name: string; namespace?: string };
    version?: string;
    controlPlane?: Record<string, unknown>;
    workers?: Record<string, unknown>;
    variables?: { name: string; value: unknown }[];
  };
}

export interface ClusterStatus {
  initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean };
  conditions?: Condition[];
  failureDomains?: FailureDomain[];
  phase?: 'Pending' | 'Provisioning' | 'Provisioned' | 'Deleting' | 'Failed' | 'Unknown';
  observedGeneration?: number;
  deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[]; failureReason?: string; failureMessage?: string } };
}

export interface Cluster extends KubeObject {
  spec?: ClusterSpec;
  status?: ClusterStatus;
}

export type MachineAddressType = 'Hostname' | 'ExternalIP' | 'InternalIP' | 'ExternalDNS' | 'InternalDNS';

export interface MachineAddress {
  type: MachineAddressType;
  address: string;
}

export interface MachineSpec {
  clusterName: string;
  bootstrap?: { configRef?: ContractVersionedObjectReference; dataSecretName?: string };
  infrastructureRef?: ContractVersionedObjectReference;
  version?: string;
  providerID?: string;
  failureDomain?: string;
  minReadySeconds?: number;
  readinessGates?: { conditionType: string; polarity?: 'Positive' | 'Negative' }[];
  deletion?: { nodeDrainTimeoutSeconds?: number; nodeVolumeDetachTimeoutSeconds?: number; nodeDeletionTimeoutSeconds?: number };
}

export interface NodeSystemInfo {
  architecture?: string;
  operatingSystem?: string;
  osImage?: string;
  kernelVersion?: string;
  kubeletVersion?: string;
  containerRuntimeVersion?: string;
  machineID?: string;
  systemUUID?: string;
  bootID?: string;
}

export interface MachineStatus {
  nodeRef?: { name: string };
  nodeInfo?: NodeSystemInfo;
  lastUpdated?: string;
  phase?: 'Pending' | 'Provisioning' | 'Provisioned' | 'Running' | 'Updating' | 'Deleting' | 'Deleted' | 'Failed' | 'Unknown';
  initialization?: { infrastructureProvisioned?: boolean; bootstrapDataSecretCreated?: boolean };
  addresses?: MachineAddress[];
  failureDomain?: string;
  conditions?: Condition[];
  observedGeneration?: number;
  deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[]; failureReason?: string; failureMessage?: string } };
}

export interface Machine extends KubeObject {
  spec?: MachineSpec;
  status?: MachineStatus;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface MachineTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: MachineSpec;
}

export interface MachineSetSpec {
  clusterName: string;
  replicas?: number;
  selector: LabelSelector;
  template?: MachineTemplateSpec;
}

export interface MachineSetStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  selector?: string;
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface MachineSet extends KubeObject {
  spec?: MachineSetSpec;
  status?: MachineSetStatus;
}

export interface MachineDeploymentSpec {
  clusterName: string;
  replicas?: number;
  paused?: boolean;
  selector: LabelSelector;
  template: MachineTemplateSpec;
}

export interface MachineDeploymentStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  selector?: string;
  phase?: 'ScalingUp' | 'ScalingDown' | 'Running' | 'Failed' | 'Unknown';
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface MachineDeployment extends KubeObject {
  spec?: MachineDeploymentSpec;
  status?: MachineDeploymentStatus;
}

/** True for Machines the control plane provider owns (the label is present, whatever its value). */
export function isControlPlaneMachine(machine: KubeObject): boolean {
  return machine.metadata.labels?.[MACHINE_CONTROL_PLANE_LABEL] !== undefined;
}
