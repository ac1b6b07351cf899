// KubevirtCluster reconciler: the tenant cluster's infrastructure in the infra cluster. It keeps the SSH key pair
// for the bootstrap user, the <cluster>-lb Service in front of the control-plane VMs, the control-plane endpoint
// that Service yields, and the failure domains (infra zones); then reports the infrastructure provisioned. On
// deletion it also removes the template's extras (the tenant's CCM), also when another system manages the rest.
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';
import { objectKey, type KubeObject } from '../../../lib/kube/object.js';
import { NODE_TYPE, SERVICE_TYPE, TOPOLOGY_ZONE_LABEL as TOPOLOGY_ZONE, type Node, type Service } from '../../../lib/apis/core.js';
import type { Cluster } from '../../../lib/apis/cluster-api.js';
import { markFalse, markTrue, setReadySummary } from '../../../lib/controller/conditions.js';
import { mirrorV1Beta1Conditions } from '../../../lib/controller/conditions-v1beta1.js';
import { addFinalizer, removeFinalizer } from '../../../lib/controller/finalizers.js';
import { ownerCluster } from '../../../lib/controller/cluster-owners.js';
import { isPaused, reconcilePaused } from '../../../lib/controller/paused.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import type { Client } from '../../../lib/kube/client.js';
import { CLUSTER_FINALIZER, CLUSTER_NAME_LABEL, MANAGED_BY_ANNOTATION, type KubevirtCluster } from '../api/index.js';
import type { ClusterConnections, InfraTarget } from './cluster-connections.js';
import { CLUSTER_READY_SUMMARY, LOAD_BALANCER_AVAILABLE, Reasons } from './conditions.js';
import { controlPlaneServiceName, desiredControlPlaneService, endpointFromService } from './control-plane-service.js';
import { failureDomainsFromNodes } from './failure-domains.js';
import { ensureSSHKeys } from './ssh-keys.js';
import { deleteTemplateExtras } from './template-extras.js';

export interface KubevirtClusterDeps {
  client: Client;
  connections: ClusterConnections;
  /** Adds a KubevirtCluster key to this controller's queue (remote events). */
  enqueue: (key: string) => void;
}

export class KubevirtClusterReconciler implements Reconciler<KubevirtCluster> {
  // For external infra clusters: which KubevirtCluster a remote Service belongs to.
  private readonly remoteServices = new Map<string, string>();

  constructor(private readonly deps: KubevirtClusterDeps) {}

  async reconcile(kc: KubevirtCluster, ctx: ReconcileContext): Promise<Result> {
    const cluster = await ownerCluster(this.deps.client, kc);
    // Another system provides this infrastructure (e.g. a hosted control plane sets the endpoint); the contract
    // leaves it to them, all but the template's extras, which nothing else removes.
    if (kc.metadata.annotations?.[MANAGED_BY_ANNOTATION] !== undefined) return this.reconcileExternallyManaged(kc, cluster, ctx);
    if (kc.metadata.deletionTimestamp) {
      if (cluster && reconcilePaused(cluster, kc)) return done();
      return this.summarized(kc, () => this.reconcileDelete(kc, cluster, ctx));
    }
    if (!cluster) return done(); // Cluster API has not claimed it yet; the owner reference update brings us back
    if (reconcilePaused(cluster, kc)) return done();
    addFinalizer(kc, CLUSTER_FINALIZER);
    return this.summarized(kc, () => this.reconcileNormal(kc, cluster, ctx));
  }

  /** Only the finalizer, so that deletion removes the template's extras; no condition, endpoint or status. */
  private async reconcileExternallyManaged(kc: KubevirtCluster, cluster: Cluster | undefined, ctx: ReconcileContext): Promise<Result> {
    if (isPaused(cluster, kc)) return done();
    if (!kc.metadata.deletionTimestamp) {
      if (cluster) addFinalizer(kc, CLUSTER_FINALIZER);
      return done();
    }
    const clusterName = cluster?.metadata.name ?? kc.metadata.labels?.[CLUSTER_NAME_LABEL];
    if (clusterName) await this.deleteExtras(kc, clusterName, ctx);
    removeFinalizer(kc, CLUSTER_FINALIZER);
    return done();
  }

  private async deleteExtras(kc: KubevirtCluster, clusterName: string, ctx: ReconcileContext): Promise<void> {
    const deleted = await deleteTemplateExtras(this.deps.client, kc.metadata.namespace ?? '', clusterName);
    if (deleted > 0) ctx.events.normal('DeletedTemplateExtras', 'DeleteExtras', `deleted ${String(deleted)} objects the cluster template or its CCM added for cluster ${clusterName}`);
  }

  /** Ready and its v1beta1 mirror follow the conditions however `step` ends, a thrown error included. */
  private async summarized(kc: KubevirtCluster, step: () => Promise<Result>): Promise<Result> {
    try {
      return await step();
    } finally {
      setReadySummary(kc, CLUSTER_READY_SUMMARY);
      mirrorV1Beta1Conditions(kc, { readySummaryOf: CLUSTER_READY_SUMMARY.conditions });
    }
  }

  private async reconcileNormal(kc: KubevirtCluster, cluster: Cluster, ctx: ReconcileContext): Promise<Result> {
    const clusterName = cluster.metadata.name ?? '';
    if (await ensureSSHKeys(this.deps.client, kc, clusterName)) {
      ctx.events.normal('CreatedSSHKeys', 'CreateSSHKeys', `created the SSH key pair Secret for cluster ${clusterName}`);
    }

    let infra: InfraTarget;
    try {
      infra = await this.deps.connections.infra(kc.spec?.infraClusterSecretRef, kc.metadata.namespace ?? '');
    } catch (err) {
      // CAPK's LoadBalancerAvailable has one reason for every retried failure; the message tells them apart.
      markFalse(kc, LOAD_BALANCER_AVAILABLE, Reasons.loadBalancerProvisioningFailed, `the infra cluster cannot be used: ${(err as Error).message}`);
      throw err;
    }
    const namespace = kc.spec?.controlPlaneServiceTemplate?.metadata?.namespace ?? infra.namespace;
    if (infra.remote) await this.watchRemote(infra.remote, kc, `${namespace}/${controlPlaneServiceName(clusterName)}`);

    let service: Service;
    try {
      service = await this.ensureService(infra, kc, clusterName, namespace, ctx);
    } catch (err) {
      markFalse(kc, LOAD_BALANCER_AVAILABLE, Reasons.loadBalancerProvisioningFailed, (err as Error).message);
      throw err;
    }
    const nodes = await infra.client.list<Node>(NODE_TYPE);

    const domains = failureDomainsFromNodes(nodes);
    kc.status ??= {};
    if (domains.length > 0) kc.status.failureDomains = domains;
    else delete kc.status.failureDomains;

    const current = kc.spec?.controlPlaneEndpoint;
    if (!current?.host) {
      const endpoint = endpointFromService(service, nodes);
      if (!endpoint) {
        markFalse(kc, LOAD_BALANCER_AVAILABLE, Reasons.loadBalancerProvisioningFailed, `Service ${namespace}/${controlPlaneServiceName(clusterName)} has no address yet`);
        kc.status.ready = false;
        return done(); // the Service's update brings us back
      }
      kc.spec = { ...kc.spec, controlPlaneEndpoint: endpoint };
      ctx.events.normal('ControlPlaneEndpointSet', 'SetEndpoint', `control-plane endpoint ${endpoint.host}:${String(endpoint.port)}`);
    }
    markTrue(kc, LOAD_BALANCER_AVAILABLE, Reasons.loadBalancerAvailable);
    kc.status.ready = true;
    kc.status.initialization = { ...kc.status.initialization, provisioned: true };
    return done();
  }

  /** Server-side apply, so a label, annotation or setting dropped from controlPlaneServiceTemplate leaves the Service. */
  private async ensureService(infra: InfraTarget, kc: KubevirtCluster, clusterName: string, namespace: string, ctx: ReconcileContext): Promise<Service> {
    const desired = desiredControlPlaneService(kc, clusterName, namespace);
    const { object, created } = await applyIfChanged(infra.client, desired);
    if (created) ctx.events.normal('CreatedLoadBalancerService', 'CreateService', `created control-plane Service ${namespace}/${desired.metadata.name ?? ''}`);
    return object;
  }

  private async reconcileDelete(kc: KubevirtCluster, cluster: Cluster | undefined, ctx: ReconcileContext): Promise<Result> {
    markFalse(kc, LOAD_BALANCER_AVAILABLE, Reasons.deleting, 'deleting the control-plane Service');
    const clusterName = cluster?.metadata.name ?? kc.metadata.labels?.[CLUSTER_NAME_LABEL];
    if (clusterName) {
      let infra: InfraTarget | undefined;
      try {
        infra = await this.deps.connections.infra(kc.spec?.infraClusterSecretRef, kc.metadata.namespace ?? '');
      } catch (err) {
        // The infra kubeconfig is gone (often deleted with the namespace): nothing reachable is left to remove.
        ctx.events.warning('InfraClusterUnavailable', 'DeleteService', `cannot reach the infra cluster to delete the control-plane Service: ${(err as Error).message}`);
      }
      if (infra) {
        const namespace = kc.spec?.controlPlaneServiceTemplate?.metadata?.namespace ?? infra.namespace;
        const ref = { namespace, name: controlPlaneServiceName(clusterName) };
        const live = await infra.client.get<Service>(SERVICE_TYPE, ref);
        if (live) {
          if (!live.metadata.deletionTimestamp) {
            await infra.client.delete(SERVICE_TYPE, ref);
            ctx.events.normal('DeletedLoadBalancerService', 'DeleteService', `deleted control-plane Service ${namespace}/${ref.name}`);
          }
          return done(); // its deletion event brings us back
        }
      }
      await this.deleteExtras(kc, clusterName, ctx);
      await this.deps.connections.forgetTenant({ namespace: kc.metadata.namespace, name: clusterName });
    }
    // The SSH key Secret is owned by the KubevirtCluster: the garbage collector removes it with us.
    removeFinalizer(kc, CLUSTER_FINALIZER);
    return done();
  }

  private async watchRemote(remote: RemoteCluster, kc: KubevirtCluster, serviceKey: string): Promise<void> {
    const key = objectKey(kc);
    this.remoteServices.set(serviceKey, key);
    const byService = (obj: KubeObject): readonly string[] => {
      const owner = this.remoteServices.get(objectKey(obj));
      return owner ? [owner] : [];
    };
    await this.deps.connections.watch(remote, 'kubevirtcluster-service', SERVICE_TYPE, byService, this.deps.enqueue);
    // Zones come and go with the infra Nodes; only label changes matter, not heartbeats.
    const everyCluster = (): readonly string[] => [...new Set(this.remoteServices.values())];
    await this.deps.connections.watch(remote, 'kubevirtcluster-nodes', NODE_TYPE, everyCluster, this.deps.enqueue, (old, obj) => old.metadata.labels?.[TOPOLOGY_ZONE] !== obj.metadata.labels?.[TOPOLOGY_ZONE]);
  }
}
