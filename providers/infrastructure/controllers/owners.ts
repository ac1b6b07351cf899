// Walking up from our objects to Cluster API's: a KubevirtCluster's owner Cluster, a KubevirtMachine's owner
// Machine and that Machine's Cluster, read from the cache.
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { ownerOfType } from '../../../lib/controller/owner-references.js';
import type { PausableCluster } from '../../../lib/controller/paused.js';
import { CLUSTER_TYPE, MACHINE_TYPE, type Cluster, type Machine } from '../../../lib/apis/cluster-api.js';
import { CLUSTER_NAME_LABEL } from '../api/index.js';

export async function ownerCluster(client: Client, obj: KubeObject): Promise<Cluster | undefined> {
  const ref = ownerOfType(obj, CLUSTER_TYPE);
  if (!ref) return undefined;
  return client.get<Cluster>(CLUSTER_TYPE, { namespace: obj.metadata.namespace, name: ref.name });
}

export async function ownerMachine(client: Client, obj: KubeObject): Promise<Machine | undefined> {
  const ref = ownerOfType(obj, MACHINE_TYPE);
  if (!ref) return undefined;
  return client.get<Machine>(MACHINE_TYPE, { namespace: obj.metadata.namespace, name: ref.name });
}

export async function clusterOfMachine(client: Client, machine: Machine): Promise<Cluster | undefined> {
  const name = machine.spec?.clusterName ?? machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (!name) return undefined;
  return client.get<Cluster>(CLUSTER_TYPE, { namespace: machine.metadata.namespace, name });
}

/** The toolkit's pause check reads only spec.paused of the Cluster. */
export function pausable(cluster: Cluster): PausableCluster {
  return { metadata: cluster.metadata, spec: cluster.spec?.paused === undefined ? {} : { paused: cluster.spec.paused } };
}
