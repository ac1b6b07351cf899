// Wires the KamajiControlPlane controller: the KamajiControlPlane, the TenantControlPlanes and Secrets it controls,
// its Cluster (mapped through spec.controlPlaneRef) and the KubevirtCluster of that Cluster. Without Cluster API
// (or our KamajiControlPlane CRD) the kinds are not served and their informers could never sync: the manager then
// starts the controller once they are, and until then the operator serves TenantControlPlanes only.
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { CLUSTER_TYPE, type Cluster } from '../../../lib/apis/cluster-api.js';
import { KUBEVIRT_CLUSTER_TYPE } from '../../../lib/apis/kubevirt-infrastructure.js';
import type { Manager } from '../../../lib/controller/manager.js';
import type { Predicate } from '../../../lib/controller/predicates.js';
import { PAUSED_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import { groupOf, type KubeObject } from '../../../lib/kube/object.js';
import { TENANT_CONTROL_PLANE_TYPE } from '../api/index.js';
import {
  KAMAJI_CONTROL_PLANE_API_VERSION,
  KAMAJI_CONTROL_PLANE_KIND,
  KAMAJI_CONTROL_PLANE_TYPE,
  type KamajiControlPlane,
} from '../api/kamajicontrolplane.js';
import { KamajiControlPlaneReconciler } from './kamajicontrolplane.js';

export interface KamajiControlPlaneOptions {
  kubeconfigValidityMs?: number | undefined;
}

// The Cluster's status churns with every Machine; only what changes our work matters.
const clusterChanged: Predicate<Cluster> = {
  update: (old, obj) =>
    old.metadata.generation !== obj.metadata.generation || old.metadata.annotations?.[PAUSED_ANNOTATION] !== obj.metadata.annotations?.[PAUSED_ANNOTATION],
};

function controlPlaneKey(cluster: Cluster): string[] {
  const ref = cluster.spec?.controlPlaneRef;
  if (ref?.kind !== KAMAJI_CONTROL_PLANE_KIND || ref.apiGroup !== groupOf(KAMAJI_CONTROL_PLANE_API_VERSION)) return [];
  return [`${cluster.metadata.namespace ?? ''}/${ref.name}`];
}

export function setupKamajiControlPlaneController(manager: Manager, opts: KamajiControlPlaneOptions = {}): void {
  manager
    .controller<KamajiControlPlane & { metadata: object }>('kamajicontrolplane')
    .for(KAMAJI_CONTROL_PLANE_TYPE)
    .owns(TENANT_CONTROL_PLANE_TYPE)
    .owns(SECRET_TYPE)
    .watches<Cluster>(CLUSTER_TYPE, controlPlaneKey, { predicates: [clusterChanged] })
    // An externally managed KubevirtCluster appearing (or losing its endpoint) wakes the control plane of its
    // Cluster; the infrastructure provider that serves the kind may be installed later than we are, or never. The
    // Cluster watch above has created the Clusters' informer by the time this one delivers anything.
    .watches<KubeObject>(
      KUBEVIRT_CLUSTER_TYPE,
      (kc) =>
        (manager.cache.createdInformer<Cluster>(CLUSTER_TYPE)?.store.list() ?? [])
          .filter((c) => c.metadata.namespace === kc.metadata.namespace && c.spec?.infrastructureRef?.kind === KUBEVIRT_CLUSTER_TYPE.kind && c.spec.infrastructureRef.name === kc.metadata.name)
          .flatMap(controlPlaneKey),
      { whenServed: true },
    )
    .startWhenServed()
    .complete(new KamajiControlPlaneReconciler({ client: manager.client, kubeconfigValidityMs: opts.kubeconfigValidityMs }));
}
