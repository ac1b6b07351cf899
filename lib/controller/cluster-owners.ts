// Walking up from a provider's object to Cluster API's, as every provider's reconciler starts: the owner Cluster
// (of an InfraCluster or a control plane), the owner Machine (of an InfraMachine) and a Machine's Cluster. Reads go
// through the client, so a controller's cache serves them.
import { CLUSTER_TYPE, MACHINE_TYPE, type Cluster, type Machine } from '../apis/cluster-api.js';
import type { Client } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { CLUSTER_NAME_LABEL } from './cluster-api-keys.js';
import { ownerOfType } from './owner-references.js';

/** The Cluster that owns `obj` (Cluster API sets itself as owner once it has seen the reference), if any yet. */
export async function ownerCluster(client: Client, obj: KubeObject): Promise<Cluster | undefined> {
  const ref = ownerOfType(obj, CLUSTER_TYPE);
  if (!ref) return undefined;
  return client.get<Cluster>(CLUSTER_TYPE, { namespace: obj.metadata.namespace, name: ref.name });
}

/** The Machine that owns `obj`, if Cluster API has claimed it yet. */
export async function ownerMachine(client: Client, obj: KubeObject): Promise<Machine | undefined> {
  const ref = ownerOfType(obj, MACHINE_TYPE);
  if (!ref) return undefined;
  return client.get<Machine>(MACHINE_TYPE, { namespace: obj.metadata.namespace, name: ref.name });
}

/** A Machine's Cluster: spec.clusterName, else the cluster-name label. */
export async function clusterOfMachine(client: Client, machine: Machine): Promise<Cluster | undefined> {
  const name = machine.spec?.clusterName ?? machine.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (!name) return undefined;
  return client.get<Cluster>(CLUSTER_TYPE, { namespace: machine.metadata.namespace, name });
}
