// Cluster API's well-known annotation and label keys the toolkit's helpers and predicates read. They belong to
// Cluster API's contract, so the values must match upstream exactly.

/** On any object (or its Cluster): controllers leave it alone while present. */
export const PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';
/** On infrastructure objects: another system owns them, so our controller must not act. */
export const MANAGED_BY_ANNOTATION = 'cluster.x-k8s.io/managed-by';
/** On objects that belong to one Cluster. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';

/**
 * clusterctl move waits while any object it is about to move carries this annotation: a provider keeps it on an
 * object until whatever acts for that object outside the Cluster's pause has stopped (clusterctl's v1alpha3 API).
 */
export const BLOCK_MOVE_ANNOTATION = 'clusterctl.cluster.x-k8s.io/block-move';
/** clusterctl move sets this on each source object right before deleting it: the object lives on in the target. */
export const DELETE_FOR_MOVE_ANNOTATION = 'clusterctl.cluster.x-k8s.io/delete-for-move';
