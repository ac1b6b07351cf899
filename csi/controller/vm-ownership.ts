// Which VMs of the infra namespace are this tenant's nodes. Cluster API's infrastructure providers (CAPK and
// kvcloud's) label each VM with its Cluster, and tenants hold no infra credentials to change that label, so in an
// infra namespace that several tenants share it is what tells one tenant's VMs from another's.
import { CLUSTER_NAME_LABEL } from '../../lib/controller/cluster-api-keys.js';
import type { ObjectMeta } from '../../lib/kube/object.js';

/**
 * Whether the VM is a node of the Cluster `clusterName` (--cluster-name). Without a cluster name, as upstream's
 * flags run the driver, the namespace is taken to be the tenant's alone and each of its VMs is the tenant's.
 */
export function isTenantVM(vm: { metadata: Pick<ObjectMeta, 'labels'> }, clusterName: string | undefined): boolean {
  if (clusterName === undefined) return true;
  return vm.metadata.labels?.[CLUSTER_NAME_LABEL] === clusterName;
}
