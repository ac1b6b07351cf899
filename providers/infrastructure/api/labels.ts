// Label, annotation, finalizer and well-known key names of the infrastructure provider. Values CAPK defined keep
// CAPK's spelling, so objects CAPK created (and tools written for CAPK) keep working with us.
export { CLUSTER_NAME_LABEL, MANAGED_BY_ANNOTATION, PAUSED_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';

/** Finalizers, CAPK's names: a KubevirtCluster/KubevirtMachine moved from CAPK keeps its cleanup guarantee. */
export const CLUSTER_FINALIZER = 'kubevirtcluster.infrastructure.cluster.x-k8s.io';
export const MACHINE_FINALIZER = 'kubevirtmachine.infrastructure.cluster.x-k8s.io';

/** On VMs and VMI templates: the machine's role and its Cluster, as CAPK sets them (the LB Service selects on them). */
export const ROLE_LABEL = 'cluster.x-k8s.io/role';
export const ROLE_CONTROL_PLANE = 'control-plane';
export const ROLE_WORKER = 'worker';
/** On VMs and VMI templates: the VM's own name, as CAPK sets it. */
export const VM_NAME_LABEL = 'kubevirt.io/vm';
export const NAME_LABEL = 'name';

/** On VMs: the KubevirtMachine that owns them, across clusters (an external infra cluster has no owner references). */
export const KUBEVIRT_MACHINE_NAME_LABEL = 'capk.cluster.x-k8s.io/kubevirt-machine-name';
export const KUBEVIRT_MACHINE_NAMESPACE_LABEL = 'capk.cluster.x-k8s.io/kubevirt-machine-namespace';
/** On VMs that reached a terminal state, so the machine is reported failed rather than recreated. */
export const VM_TERMINAL_LABEL = 'capk.cluster.x-k8s.io/vm-is-terminal';
/**
 * On objects a cluster template adds beside the Cluster's own (the tenant's CCM Deployment, its cloud-config,
 * ServiceAccount and Role), with the cluster-name label: CAPK's key and value, so its kccm flavors' extras go too.
 */
export const TEMPLATE_KIND_LABEL = 'capk.cluster.x-k8s.io/template-kind';
export const TEMPLATE_KIND_EXTRA_RESOURCE = 'extra-resource';
/** On the KubevirtMachine: how long a VMI may take to shut down before deletion proceeds (CAPK's key). */
export const VMI_DELETION_GRACE_TIME_ANNOTATION = 'capk.cluster.x-k8s.io/vmi-deletion-grace-time';

/**
 * Keys of the infra cluster kubeconfig Secret (spec.infraClusterSecretRef): `kubeconfig`, and an optional
 * `namespace` for the VMs. The toolkit's cluster access cache reads them, so they are defined there.
 */
export { INFRA_KUBECONFIG_KEY, INFRA_NAMESPACE_KEY } from '../../../lib/kube/cluster-access-cache.js';

/** The SSH key pair Secret `<cluster>-ssh-keys` (spec.sshKeys.dataSecretName overrides the name): CAPK's keys. */
export const SSH_KEYS_SECRET_SUFFIX = '-ssh-keys';
export const SSH_PUBLIC_KEY_SECRET_KEY = 'pub';
export const SSH_PRIVATE_KEY_SECRET_KEY = 'key';

/** The control-plane Service in front of the control-plane VMs: `<cluster>-lb`. */
export const CONTROL_PLANE_SERVICE_SUFFIX = '-lb';
export const DEFAULT_API_SERVER_PORT = 6443;

/**
 * Cluster API's topology controller sets this annotation on the objects it dry-runs (server-side apply with
 * dryRun=All) to compute ClusterClass diffs; template immutability is waived for exactly those requests.
 */
export const TOPOLOGY_DRY_RUN_ANNOTATION = 'topology.cluster.x-k8s.io/dry-run';
