// Tenant LoadBalancer Services -> infra LoadBalancer Services. Each tenant Service is reconciled on its own (a
// Service whose infra side fails or waits for an address never holds up the others), waits are conditions on the
// tenant Service rather than blocking polls, and the infra Service's changes come back through a watch.
import { SERVICE_TYPE, type Service } from '../../lib/apis/core.js';
import { getCondition, removeCondition, setCondition } from '../../lib/controller/conditions.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { applyIfChanged } from '../../lib/kube/applied-hash.js';
import type { Client } from '../../lib/kube/client.js';
import { objectKey } from '../../lib/kube/object.js';
import { LOAD_BALANCER_CLEANUP_FINALIZER, LOAD_BALANCER_READY_CONDITION } from '../api/labels.js';
import type { CloudConfig } from '../config/cloud-config.js';
import { tenantMetadata } from './tenant-metadata.js';
import { buildInfraService, infraServiceName, ownership, portsWithoutNodePort, tenantIngress, tenantKeyOf } from './infra-service.js';

export interface ServiceControllerDeps {
  /** The infra cluster, reads served from its namespaced cache. */
  infra: Client;
  namespace: string;
  clusterName: string;
  config: CloudConfig;
  now?: () => number;
}

export class ServiceReconciler implements Reconciler<Service> {
  /** Refused metadata already reported per tenant Service uid, so a repeat reconcile does not repeat the Event. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly deps: ServiceControllerDeps) {}

  async reconcile(service: Service, ctx: ReconcileContext): Promise<Result> {
    const own = ownership(service, this.deps.config.loadBalancer.classes);
    if (service.metadata.deletionTimestamp || !own.ours) return this.reconcileDelete(service, ctx);
    return this.reconcileNormal(service, own.infraClass, ctx);
  }

  // The tenant Service is going away, or stopped being a LoadBalancer of ours (type or class changed): remove the
  // infra Service, and only once it is gone let go of the tenant Service.
  private async reconcileDelete(service: Service, ctx: ReconcileContext): Promise<Result> {
    if (!hasFinalizer(service, LOAD_BALANCER_CLEANUP_FINALIZER)) return done();
    const ref = { namespace: this.deps.namespace, name: infraServiceName(service) };
    // Direct: a Service created moments ago may not be in the cache yet, and leaking it is worse than one read.
    const live = await this.deps.infra.get<Service>(SERVICE_TYPE, ref, { direct: true });
    if (live && tenantKeyOf(live, this.deps.clusterName) === objectKey(service)) {
      if (!live.metadata.deletionTimestamp) {
        await this.deps.infra.delete(SERVICE_TYPE, ref, { preconditions: { uid: live.metadata.uid ?? '' } });
        ctx.log.info({ infraService: objectKey(ref) }, 'deleted infra Service');
        ctx.events.normal('DeletingLoadBalancer', 'DeleteLoadBalancer', `deleting infra Service ${objectKey(ref)}`);
      }
      return done(); // its removal from the infra cache brings us back
    }
    removeFinalizer(service, LOAD_BALANCER_CLEANUP_FINALIZER);
    this.reported.delete(service.metadata.uid ?? '');
    if (!service.metadata.deletionTimestamp) {
      if (service.status?.loadBalancer?.ingress) service.status.loadBalancer = {};
      removeCondition(service, LOAD_BALANCER_READY_CONDITION);
    }
    ctx.events.normal('DeletedLoadBalancer', 'DeleteLoadBalancer', `infra Service ${objectKey(ref)} is gone`);
    return done();
  }

  private async reconcileNormal(service: Service, infraClass: string | undefined, ctx: ReconcileContext): Promise<Result> {
    // Persist the finalizer before anything exists on the infra side, so a deletion can never leak it; the update
    // it causes brings us back.
    if (addFinalizer(service, LOAD_BALANCER_CLEANUP_FINALIZER)) return done();

    const missing = portsWithoutNodePort(service);
    if (missing.length > 0) {
      const note = `ports ${missing.map((p) => p.name ?? String(p.port)).join(', ')} have no NodePort (allocateLoadBalancerNodePorts: false); the infra load balancer reaches the VMs through NodePorts`;
      this.notReady(service, ctx, 'NoNodePorts', note);
      return done();
    }

    const { config, namespace, clusterName } = this.deps;
    const desired = buildInfraService(service, {
      namespace,
      clusterName,
      loadBalancer: config.loadBalancer,
      infraLabels: config.infraLabels,
      infraAnnotations: config.infraAnnotations,
      infraClass,
    });
    this.reportRefused(service, ctx);
    const ref = { namespace, name: desired.metadata.name ?? '' };
    const existing = await this.deps.infra.get<Service>(SERVICE_TYPE, ref);
    if (existing && tenantKeyOf(existing, clusterName) !== objectKey(service)) {
      this.notReady(service, ctx, 'NameConflict', `infra Service ${objectKey(ref)} exists and serves something else; it is left alone`);
      return done();
    }

    let infra: Service;
    try {
      const applied = await applyIfChanged(this.deps.infra, desired);
      infra = applied.object;
      if (applied.created) {
        ctx.log.info({ infraService: objectKey(ref) }, 'created infra Service');
        ctx.events.normal('EnsuringLoadBalancer', 'EnsureLoadBalancer', `created infra Service ${objectKey(ref)}`);
      } else if (applied.wrote) {
        ctx.log.info({ infraService: objectKey(ref) }, 'updated infra Service');
      }
    } catch (err) {
      const message = (err as Error).message;
      this.notReady(service, ctx, 'InfraServiceFailed', `apply infra Service ${objectKey(ref)}: ${message}`);
      throw new Error(`apply infra Service ${objectKey(ref)}: ${message}`, { cause: err });
    }

    const ingress = tenantIngress(infra);
    if (ingress.length > 0 || (service.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
      (service.status ??= {}).loadBalancer = ingress.length > 0 ? { ingress } : {};
    }
    if (ingress.length > 0) {
      const addresses = ingress.map((i) => i.ip ?? i.hostname).join(', ');
      if (getCondition(service, LOAD_BALANCER_READY_CONDITION)?.status !== 'True') {
        ctx.events.normal('EnsuredLoadBalancer', 'EnsureLoadBalancer', `infra Service ${objectKey(ref)} serves ${addresses}`);
      }
      setCondition(service, { type: LOAD_BALANCER_READY_CONDITION, status: 'True', reason: 'Provisioned', message: `infra Service ${objectKey(ref)} serves ${addresses}` });
      return done();
    }

    // Time passing is the one thing no watch tells us: look again when the creation timeout runs out.
    const created = Date.parse(infra.metadata.creationTimestamp ?? '');
    const timeoutMs = config.loadBalancer.creationPollTimeout * 1000;
    const left = Number.isNaN(created) ? timeoutMs : created + timeoutMs - (this.deps.now ?? Date.now)();
    if (left > 0) {
      this.notReady(service, ctx, 'WaitingForAddress', `infra Service ${objectKey(ref)} has no address from the infra cluster's load balancer yet`, false);
      return requeueAfter(left);
    }
    this.notReady(service, ctx, 'AddressTimedOut', `infra Service ${objectKey(ref)} got no address within ${String(config.loadBalancer.creationPollTimeout)}s; is a load balancer implementation serving its class in the infra cluster?`);
    return done();
  }

  // The refused keys are left off the infra Service by buildInfraService; the tenant learns why once per change.
  private reportRefused(service: Service, ctx: ReconcileContext): void {
    const note = tenantMetadata(service).refused.join(', ');
    const uid = service.metadata.uid ?? '';
    if (note === (this.reported.get(uid) ?? '')) return;
    this.reported.set(uid, note);
    if (note) ctx.events.warning('RefusedMetadata', 'EnsureLoadBalancer', `${note} not carried to the infra Service: they could reach other tenants' objects in the shared infra namespace`);
  }

  private notReady(service: Service, ctx: ReconcileContext, reason: string, message: string, warn = true): void {
    const changed = setCondition(service, { type: LOAD_BALANCER_READY_CONDITION, status: 'False', reason, message });
    if (warn && changed) ctx.events.warning(reason, 'EnsureLoadBalancer', message);
  }
}
