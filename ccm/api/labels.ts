// The label, annotation, taint and finalizer keys the CCM reads and writes, with upstream's spelling: the infra
// Service labels come from kubevirt/cloud-provider-kubevirt, the Node keys from Kubernetes' cloud-node controllers.

/** On an infra Service: the tenant Service it serves. */
export const TENANT_SERVICE_NAME_LABEL = 'cluster.x-k8s.io/tenant-service-name';
export const TENANT_SERVICE_NAMESPACE_LABEL = 'cluster.x-k8s.io/tenant-service-namespace';
/** On infra Services and on the worker VMs' virt-launcher pods: the tenant cluster. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** On the worker VMs' virt-launcher pods (from the VM template): what the infra Service selects. */
export const ROLE_LABEL = 'cluster.x-k8s.io/role';
export const WORKER_ROLE = 'worker';
/**
 * Cluster API's label prefix: it carries tenant identity (cluster name, role, tenant Service), which infra selectors
 * and ownership checks rely on, so a tenant may not set it on anything the CCM carries into the infra cluster.
 */
export const CLUSTER_API_LABEL_PREFIX = 'cluster.x-k8s.io/';
/**
 * Infra load-balancer annotations that join a Service to other Services of the namespace (a shared IP), which in a
 * namespace shared by tenants would tie one tenant's load balancer to another's: refused from tenant Services.
 */
export const IP_SHARING_ANNOTATIONS = [
  'metallb.universe.tf/allow-shared-ip',
  'metallb.io/allow-shared-ip',
  'lbipam.cilium.io/sharing-key',
  'io.cilium/lb-ipam-sharing-key',
] as const;

/** The managed-by value on the infra EndpointSlices the CCM writes: upstream's, so a CCM swap finds them. */
export const EPS_CONTROLLER_NAME = 'kubevirt-eps-controller';

/** Kept on a tenant LoadBalancer Service until its infra Service is gone (the Kubernetes service controller's). */
export const LOAD_BALANCER_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

/** Registered by a kubelet with --cloud-provider=external; removed once the CCM has initialised the Node. */
export const UNINITIALIZED_TAINT_KEY = 'node.cloudprovider.kubernetes.io/uninitialized';
/** Set while a Node's instance is shut down. */
export const SHUTDOWN_TAINT_KEY = 'node.cloudprovider.kubernetes.io/shutdown';
/** A Node label some distributions set to name the VM behind the Node; it wins over the Node name. */
export const INSTANCE_ID_LABEL = 'node.kubernetes.io/instance-id';
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';

/** KubeVirt's annotations naming what sized the VMI: the legacy flavor, then instance types. */
export const INSTANCE_TYPE_ANNOTATIONS = ['kubevirt.io/flavor', 'kubevirt.io/instancetype-name', 'kubevirt.io/cluster-instancetype-name'] as const;

export const PROVIDER_NAME = 'kubevirt';
export const PROVIDER_ID_PREFIX = `${PROVIDER_NAME}://`;

/** The tenant Service condition that says whether (and why not) the load balancer has an address. */
export const LOAD_BALANCER_READY_CONDITION = 'LoadBalancerReady';
