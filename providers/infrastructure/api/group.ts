// The API group and version of the infrastructure provider's kinds: CAPK's, so CAPK manifests apply unchanged.
import { INFRASTRUCTURE_GROUP, INFRASTRUCTURE_VERSION } from '../../../lib/apis/kubevirt-infrastructure.js';

// Named in lib/apis, where the other components that read these kinds find them.
export const GROUP = INFRASTRUCTURE_GROUP;
export const VERSION = INFRASTRUCTURE_VERSION;
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KUBEVIRT_CLUSTER_KIND = 'KubevirtCluster';
export const KUBEVIRT_MACHINE_KIND = 'KubevirtMachine';
export const KUBEVIRT_MACHINE_TEMPLATE_KIND = 'KubevirtMachineTemplate';
export const KUBEVIRT_CLUSTER_TEMPLATE_KIND = 'KubevirtClusterTemplate';

/** apiVersion + kind of each kind, as the toolkit's Client and ControllerBuilder take them. */
export const KubevirtClusterGVK = { apiVersion: API_VERSION, kind: KUBEVIRT_CLUSTER_KIND } as const;
export const KubevirtMachineGVK = { apiVersion: API_VERSION, kind: KUBEVIRT_MACHINE_KIND } as const;
export const KubevirtMachineTemplateGVK = { apiVersion: API_VERSION, kind: KUBEVIRT_MACHINE_TEMPLATE_KIND } as const;
export const KubevirtClusterTemplateGVK = { apiVersion: API_VERSION, kind: KUBEVIRT_CLUSTER_TEMPLATE_KIND } as const;

/**
 * Cluster API contract labels on every CRD: Cluster API reads the newest contract a CRD declares and the served
 * version(s) that implement it. v1beta2 is ours; the v1beta1 label keeps older cores able to resolve references.
 */
export const CONTRACT_LABELS: Readonly<Record<string, string>> = {
  'cluster.x-k8s.io/v1beta2': VERSION,
  'cluster.x-k8s.io/v1beta1': VERSION,
};
