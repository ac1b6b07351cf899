// The annotation and label keys the autoscaler provider reads and writes. Cluster API's and cluster-autoscaler's keys
// are theirs, spelled as they spell them, so a MachineDeployment set up for the clusterapi cloud provider works here too.

/** On a MachineDeployment: the bounds that make it a node group (both required, 0 <= min <= max). */
export const NODE_GROUP_MIN_SIZE_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
export const NODE_GROUP_MAX_SIZE_ANNOTATION = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';

/** On a MachineDeployment: per-group overrides of cluster-autoscaler's options, as the clusterapi provider reads them. */
export const AUTOSCALING_OPTIONS_PREFIX = 'cluster.x-k8s.io/autoscaling-options-';

/** On a MachineDeployment: labels and taints a node of the group will carry, for scale-from-zero simulations. */
export const CAPACITY_LABELS_ANNOTATION = 'capacity.cluster-autoscaler.kubernetes.io/labels';
export const CAPACITY_TAINTS_ANNOTATION = 'capacity.cluster-autoscaler.kubernetes.io/taints';
export const CAPACITY_MAX_PODS_ANNOTATION = 'capacity.cluster-autoscaler.kubernetes.io/maxPods';

/** On a Machine: its MachineSet deletes it before any other when it scales down. */
export const DELETE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/delete-machine';
/**
 * On a Machine, written with DELETE_MACHINE_ANNOTATION: the scale-down that pays for this Machine's deletion has been
 * (or is being) made, so asking again to delete its node must not lower the replicas a second time.
 */
export const SCALE_DOWN_REQUESTED_ANNOTATION = 'autoscaler.kvcloud.io/scale-down-requested';

/** On a Node: set by Cluster API's Machine controller, used when the node carries no providerID. */
export const NODE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/machine';
export const NODE_CLUSTER_NAMESPACE_ANNOTATION = 'cluster.x-k8s.io/cluster-namespace';

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';

/** The label a GPU node carries (the clusterapi provider's), its value the GPU type. */
export const GPU_LABEL = 'cluster-api/accelerator';
export const GPU_RESOURCE = 'nvidia.com/gpu';

/**
 * The instance id of a Machine that has no providerID yet (its VM is not up): cluster-autoscaler needs an id for every
 * instance it counts and sends it back as the providerID of a placeholder node.
 */
export const PENDING_MACHINE_ID_PREFIX = 'kvcloud-machine://';

export const KUBEVIRT_MACHINE_TEMPLATE_TYPE = { apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1', kind: 'KubevirtMachineTemplate' } as const;

/**
 * On a Cluster: "true" asks for a cluster-autoscaler Deployment in its namespace (clusterapi cloud provider, scoped to
 * this Cluster's node groups); removing it, or anything else, takes the Deployment and its RBAC away.
 */
export const CLUSTER_AUTOSCALER_ANNOTATION = 'autoscaler.kvcloud.io/cluster-autoscaler';
export const APP_NAME_LABEL = 'app.kubernetes.io/name';
