// The EndpointSlice controller (enableEPSController): fills the selectorless infra Service of a tenant Service
// with the VMs that host the tenant Service's ready endpoints, so externalTrafficPolicy: Local reaches only VMs
// that answer locally. Keyed by tenant Service; tenant EndpointSlices, infra Services and slices, and VMIs all map
// back to it. Every VM is resolved inside this cluster: a tenant Node or EndpointSlice naming another cluster's
// VM is refused with an Event on the tenant Service.
import { NODE_TYPE, SERVICE_TYPE, type Node, type Service } from '../../lib/apis/core.js';
import { ENDPOINT_SLICE_TYPE, SERVICE_NAME_LABEL, type EndpointSlice } from '../../lib/apis/discovery.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { applyIfChanged } from '../../lib/kube/applied-hash.js';
import type { Client } from '../../lib/kube/client.js';
import { objectKey } from '../../lib/kube/object.js';
import { CLUSTER_NAME_LABEL } from '../api/labels.js';
import type { CloudConfig } from '../config/cloud-config.js';
import { belongsToCluster } from '../instances/cluster-scope.js';
import { findInstance } from '../instances/instance-metadata.js';
import { buildInfraEndpointSlices, hasNoSelector, nodesWithReadyEndpoints, ownSlicesSelector } from './infra-endpointslices.js';
import { infraServiceName, ownership, tenantKeyOf } from './infra-service.js';

export interface EndpointSliceControllerDeps {
  /** The infra cluster, reads served from its namespaced cache. */
  infra: Client;
  namespace: string;
  clusterName: string;
  config: CloudConfig;
}

export class EndpointSliceReconciler implements Reconciler<Service> {
  /** Refusals already reported per tenant Service uid, so a repeat reconcile does not repeat the Event. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly deps: EndpointSliceControllerDeps) {}

  async reconcile(service: Service, ctx: ReconcileContext): Promise<Result> {
    const { infra: client, namespace, clusterName } = this.deps;
    const infraName = infraServiceName(service);
    const infra = await client.get<Service>(SERVICE_TYPE, { namespace, name: infraName });
    const existing = await client.list<EndpointSlice>(ENDPOINT_SLICE_TYPE, { namespace, labelSelector: ownSlicesSelector(infraName, clusterName) });
    const desired = infra && this.fillsEndpoints(service, infra) ? buildInfraEndpointSlices(infra, await this.hosts(service, ctx), clusterName) : [];

    for (const slice of desired) {
      const ref = { namespace, name: slice.metadata.name ?? '' };
      const live = await client.get<EndpointSlice>(ENDPOINT_SLICE_TYPE, ref);
      if (live && live.metadata.labels?.[CLUSTER_NAME_LABEL] !== clusterName) {
        ctx.events.warning('NameConflict', 'SyncEndpointSlices', `infra EndpointSlice ${objectKey(ref)} exists and is not this cluster's; it is left alone`);
        continue;
      }
      const applied = await applyIfChanged(client, slice);
      if (applied.wrote) ctx.log.info({ endpointSlice: objectKey(ref), endpoints: slice.endpoints?.length ?? 0 }, applied.created ? 'created infra EndpointSlice' : 'updated infra EndpointSlice');
    }
    // Ours by label (cluster, managed-by, infra Service), and no longer wanted: the Service got a selector, went
    // away, or needs fewer slices or other families.
    const wanted = new Set(desired.map((s) => s.metadata.name));
    for (const stale of existing.filter((s) => !wanted.has(s.metadata.name))) {
      await client.delete(ENDPOINT_SLICE_TYPE, { namespace, name: stale.metadata.name ?? '' }, { preconditions: { uid: stale.metadata.uid ?? '' } });
      ctx.log.info({ endpointSlice: objectKey(stale) }, 'deleted infra EndpointSlice');
    }
    if (desired.length === 0) this.reported.delete(service.metadata.uid ?? '');
    return done();
  }

  // Only the infra Service this cluster made for this tenant Service, while both live and it has no selector.
  private fillsEndpoints(service: Service, infra: Service): boolean {
    return (
      !service.metadata.deletionTimestamp &&
      !infra.metadata.deletionTimestamp &&
      ownership(service, this.deps.config.loadBalancer.classes).ours &&
      tenantKeyOf(infra, this.deps.clusterName) === objectKey(service) &&
      hasNoSelector(infra)
    );
  }

  /** The VMIs of this cluster behind the tenant Nodes that host ready endpoints of `service`. */
  private async hosts(service: Service, ctx: ReconcileContext): Promise<VirtualMachineInstance[]> {
    const tenantSlices = await ctx.client.list<EndpointSlice>(ENDPOINT_SLICE_TYPE, {
      namespace: service.metadata.namespace,
      labelSelector: `${SERVICE_NAME_LABEL}=${service.metadata.name ?? ''}`,
    });
    const vmis = await this.deps.infra.list<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: this.deps.namespace });
    const hosts = new Map<string, VirtualMachineInstance>();
    const refused: string[] = [];
    for (const nodeName of nodesWithReadyEndpoints(tenantSlices)) {
      const node = await ctx.client.get<Node>(NODE_TYPE, { name: nodeName });
      const vmi = node ? findInstance(node, vmis) : vmis.find((v) => v.metadata.name === nodeName);
      if (!vmi) continue; // not a VM (yet); the VMI's arrival brings us back
      if (belongsToCluster(vmi, this.deps.clusterName)) hosts.set(vmi.metadata.name ?? '', vmi);
      else refused.push(`${nodeName} -> ${vmi.metadata.name ?? ''}`);
    }
    const note = refused.join(', ');
    if (note !== (this.reported.get(service.metadata.uid ?? '') ?? '')) {
      this.reported.set(service.metadata.uid ?? '', note);
      if (note) {
        ctx.events.warning('RefusedInstance', 'SyncEndpointSlices', `endpoints on ${note} name VMs of another cluster in infra namespace ${this.deps.namespace}; they are left out`);
      }
    }
    return [...hosts.values()];
  }
}
