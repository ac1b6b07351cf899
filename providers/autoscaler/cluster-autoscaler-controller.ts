// Keeps a cluster-autoscaler Deployment, with its least-privilege RBAC, beside every Cluster that asks for one
// (CLUSTER_AUTOSCALER_ANNOTATION), and takes it away when the Cluster stops asking. A controller rather than objects
// in the cluster templates: it serves every flavor and ClusterClass alike, and its objects are owned by the Cluster,
// so they go with it whichever way the Cluster is deleted.
import type { Cluster } from '../../lib/apis/cluster-api.js';
import { CLUSTER_TYPE } from '../../lib/apis/cluster-api.js';
import type { Manager } from '../../lib/controller/manager.js';
import { hasOwnerReference } from '../../lib/controller/owner-references.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { applyIfChanged } from '../../lib/kube/applied-hash.js';
import { typeMetaOf } from '../../lib/kube/object.js';
import { CLUSTER_AUTOSCALER_ANNOTATION } from './api/annotations.js';
import { buildClusterAutoscalerObjects, clusterAutoscalerName, type ClusterAutoscalerSettings } from './cluster-autoscaler-objects.js';

const OWNED_TYPES = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
];

export const wantsClusterAutoscaler = (cluster: Cluster): boolean => cluster.metadata.annotations?.[CLUSTER_AUTOSCALER_ANNOTATION] === 'true';

export class ClusterAutoscalerReconciler implements Reconciler<Cluster> {
  constructor(private readonly settings: ClusterAutoscalerSettings) {}

  async reconcile(cluster: Cluster, ctx: ReconcileContext): Promise<Result> {
    // A Cluster being deleted: the garbage collector removes what it owns.
    if (cluster.metadata.deletionTimestamp) return done();
    const objects = buildClusterAutoscalerObjects(cluster, this.settings);
    const name = clusterAutoscalerName(cluster.metadata.name ?? '');
    if (wantsClusterAutoscaler(cluster)) {
      let created = false;
      for (const obj of objects) {
        // Never adopt: an object of that name that this Cluster does not own is someone else's.
        const live = await ctx.client.get(typeMetaOf(obj), { namespace: obj.metadata.namespace, name });
        if (live && !hasOwnerReference(live, cluster)) {
          ctx.events.warning('ClusterAutoscalerNameTaken', 'Create', `${obj.kind} ${name} exists and is not this Cluster's: left alone`);
          continue;
        }
        created = (await applyIfChanged(ctx.client, obj)).created || created;
      }
      if (created) ctx.events.normal('ClusterAutoscalerCreated', 'Create', `created Deployment ${name} with its ServiceAccount, Role and RoleBinding`);
      return done();
    }
    let removed = false;
    for (const obj of [...objects].reverse()) {
      const ref = { namespace: obj.metadata.namespace, name };
      const live = await ctx.client.get(typeMetaOf(obj), ref);
      if (live && hasOwnerReference(live, cluster)) removed = (await ctx.client.delete(typeMetaOf(obj), ref)) || removed;
    }
    if (removed) ctx.events.normal('ClusterAutoscalerRemoved', 'Delete', `removed Deployment ${name} with its ServiceAccount, Role and RoleBinding`);
    return done();
  }
}

/** Registers the controller; the Cluster is only read, so nothing is patched after a reconcile. */
export function setupClusterAutoscalerController(manager: Manager, settings: ClusterAutoscalerSettings): void {
  let builder = manager.controller<Cluster>('cluster-autoscaler').for(CLUSTER_TYPE, {
    predicates: [{ update: (old, obj) => wantsClusterAutoscaler(old) !== wantsClusterAutoscaler(obj) || old.metadata.uid !== obj.metadata.uid }],
  });
  for (const type of OWNED_TYPES) builder = builder.owns(type);
  builder.withoutAutomaticPatch().startWhenServed().complete(new ClusterAutoscalerReconciler(settings));
}
