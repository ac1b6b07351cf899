// infrastructure.cluster.x-k8s.io/v1alpha1, CAPK's group that kvcloud's infrastructure provider serves, as the other
// components read it: where its kinds live, and the KubevirtCluster fields of Cluster API's infrastructure contract.
import type { KubeObject, TypeMeta } from '../kube/object.js';

export const INFRASTRUCTURE_GROUP = 'infrastructure.cluster.x-k8s.io';
/** The one version CAPK and kvcloud serve. */
export const INFRASTRUCTURE_VERSION = 'v1alpha1';
export const INFRASTRUCTURE_API_VERSION = `${INFRASTRUCTURE_GROUP}/${INFRASTRUCTURE_VERSION}`;

export const KUBEVIRT_CLUSTER_TYPE: TypeMeta = { apiVersion: INFRASTRUCTURE_API_VERSION, kind: 'KubevirtCluster' };

/**
 * A KubevirtCluster as a hosted control plane's provider sees it: the endpoint it fills in when the cluster is
 * externally managed, and the status Cluster API reads (ready for v1beta1, initialization.provisioned for v1beta2).
 * The infrastructure provider's own schema type must stay assignable to it (checked in its api tests).
 */
export interface KubevirtClusterContract extends KubeObject {
  spec?: { controlPlaneEndpoint?: { host?: string; port?: number } };
  status?: { ready?: boolean; initialization?: { provisioned?: boolean } };
}
