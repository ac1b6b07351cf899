// infrastructure.cluster.x-k8s.io/v1alpha1, CAPK's group that kvcloud's infrastructure provider serves, as the other
// components read it: where its kinds live, the KubevirtCluster fields of Cluster API's infrastructure contract, and
// the KubevirtMachine condition the autoscaler reads to tell a VM that cannot come up from one that is on its way.
import type { KubeObject, TypeMeta } from '../kube/object.js';
import type { Condition } from './cluster-api.js';

export const INFRASTRUCTURE_GROUP = 'infrastructure.cluster.x-k8s.io';
/** The one version CAPK and kvcloud serve. */
export const INFRASTRUCTURE_VERSION = 'v1alpha1';
export const INFRASTRUCTURE_API_VERSION = `${INFRASTRUCTURE_GROUP}/${INFRASTRUCTURE_VERSION}`;

export const KUBEVIRT_CLUSTER_TYPE: TypeMeta = { apiVersion: INFRASTRUCTURE_API_VERSION, kind: 'KubevirtCluster' };
export const KUBEVIRT_MACHINE_TYPE: TypeMeta = { apiVersion: INFRASTRUCTURE_API_VERSION, kind: 'KubevirtMachine' };

/**
 * A KubevirtCluster as a hosted control plane's provider sees it: the endpoint it fills in when the cluster is
 * externally managed, and the status Cluster API reads (ready for v1beta1, initialization.provisioned for v1beta2).
 * The infrastructure provider's own schema type must stay assignable to it (checked in its api tests).
 */
export interface KubevirtClusterContract extends KubeObject {
  spec?: { controlPlaneEndpoint?: { host?: string; port?: number } };
  status?: { ready?: boolean; initialization?: { provisioned?: boolean } };
}

/** CAPK's KubevirtMachine condition on the VM: True once its VMI is ready, else False with why. */
export const VM_PROVISIONED_CONDITION = 'VMProvisioned';

/**
 * VMProvisioned's False reasons that mean the VM will not come up without a change, as CAPK spells them (VMTerminal
 * is kvcloud's): no infra node can take it, or it failed for good.
 */
export const VMProvisionedReasons = {
  unschedulable: 'Unschedulable',
  vmCreateFailed: 'VMCreateFailed',
  vmTerminal: 'VMTerminal',
  dvFailed: 'DVFailed',
  dvImagePullFailed: 'DVImagePullFailed',
} as const;

/**
 * A KubevirtMachine as the autoscaler sees it: its conditions and the v1beta1 contract's terminal failure. The
 * infrastructure provider's own schema type must stay assignable to it (checked in its api tests).
 */
export interface KubevirtMachineContract extends KubeObject {
  status?: { conditions?: Condition[]; failureReason?: string; failureMessage?: string };
}
