// A hosted control plane knows the endpoint before the infrastructure does: when the Cluster's KubevirtCluster
// is marked externally managed (cluster.x-k8s.io/managed-by), the infrastructure provider leaves it alone and
// this step fills in what it would have: spec.controlPlaneEndpoint, and the status Cluster API reads (ready for
// the v1beta1 contract, initialization.provisioned for v1beta2), as cluster-api-control-plane-provider-kamaji
// does for KubevirtCluster. Other infrastructure kinds set the endpoint themselves.
import type { Cluster } from '../../../lib/apis/cluster-api.js';
import { INFRASTRUCTURE_GROUP, KUBEVIRT_CLUSTER_TYPE, type KubevirtClusterContract } from '../../../lib/apis/kubevirt-infrastructure.js';
import { MANAGED_BY_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import type { Client } from '../../../lib/kube/client.js';

export type InfraOutcome =
  | { state: 'NotKubevirt' | 'ProviderManaged' | 'Patched' | 'UpToDate' }
  | { state: 'WaitingForInfrastructureCluster' | 'EndpointMismatch'; message: string };

export function isKubevirtClusterRef(cluster: Cluster): boolean {
  const ref = cluster.spec?.infrastructureRef;
  return ref?.kind === KUBEVIRT_CLUSTER_TYPE.kind && ref.apiGroup === INFRASTRUCTURE_GROUP;
}

/** Writes the endpoint and provisioned status into an externally managed KubevirtCluster; reads from the cache. */
export async function patchInfrastructureCluster(client: Client, cluster: Cluster, endpoint: { host: string; port: number }): Promise<InfraOutcome> {
  if (!isKubevirtClusterRef(cluster)) return { state: 'NotKubevirt' };
  const name = cluster.spec?.infrastructureRef?.name ?? '';
  const ref = { namespace: cluster.metadata.namespace, name };
  const kc = await client.get<KubevirtClusterContract>(KUBEVIRT_CLUSTER_TYPE, ref);
  if (!kc) return { state: 'WaitingForInfrastructureCluster', message: `KubevirtCluster ${name} does not exist yet` };
  if (kc.metadata.annotations?.[MANAGED_BY_ANNOTATION] === undefined) return { state: 'ProviderManaged' };
  let wrote = false;
  const current = kc.spec?.controlPlaneEndpoint;
  if (current?.host !== endpoint.host || current.port !== endpoint.port) {
    // The KubevirtCluster's admission keeps a set endpoint immutable: a different one cannot be corrected here.
    if (current?.host) {
      return { state: 'EndpointMismatch', message: `KubevirtCluster ${name} has endpoint ${current.host}:${String(current.port)}, the control plane serves ${endpoint.host}:${String(endpoint.port)}` };
    }
    await client.mergePatch(KUBEVIRT_CLUSTER_TYPE, ref, { spec: { controlPlaneEndpoint: endpoint } });
    wrote = true;
  }
  if (kc.status?.ready !== true || kc.status.initialization?.provisioned !== true) {
    await client.mergePatch(KUBEVIRT_CLUSTER_TYPE, ref, { status: { ready: true, initialization: { provisioned: true } } }, { subresource: 'status' });
    wrote = true;
  }
  return { state: wrote ? 'Patched' : 'UpToDate' };
}
