// The small MetalLB: gives each LoadBalancer Service of our class an IP from the pool in
// status.loadBalancer.ingress, and takes it back when the Service goes or stops being one. A restarted proxy
// first adopts the IPs Services already show, oldest Service first, so nobody's address changes under them.
import { objectKey, type ObjectRef } from '../../../lib/kube/object.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { AllocationFailure, LoadBalancerAllocator } from './loadbalancer-allocator.js';
import { ingressFor, ingressIPs, isOurLoadBalancer, requestedIP } from './loadbalancer-service.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { SERVICE, type Service } from './service-api.js';

// MetalLB's event reasons, so people who know it read ours the same way.
const ALLOCATED = 'IPAllocated';
const ALLOCATION_FAILED = 'AllocationFailed';

export interface LoadBalancerReconcilerDeps {
  allocator: LoadBalancerAllocator;
  loadBalancerClass: string;
  /** Enqueues a Service again: those waiting for an IP get another try whenever one is freed. */
  retry: (key: string) => void;
  metrics?: ProxyMetrics | undefined;
}

function describeFailure(failure: AllocationFailure, pool: string): string {
  switch (failure.reason) {
    case 'NotInPool':
      return `requested IP ${failure.ip} is not in the load-balancer pool ${pool}`;
    case 'InUse':
      return `requested IP ${failure.ip} is already assigned to Service ${failure.holder}`;
    case 'PoolExhausted':
      return `no free IP left in the load-balancer pool ${pool}`;
  }
}

function setIngress(service: Service, ip: string | undefined): void {
  const ingress = ingressFor(ip);
  service.status = { ...service.status, loadBalancer: ingress.length > 0 ? { ingress } : {} };
}

export class LoadBalancerReconciler implements Reconciler<Service> {
  private restored: Promise<void> | undefined;
  private readonly waiting = new Set<string>();

  constructor(private readonly deps: LoadBalancerReconcilerDeps) {}

  async reconcile(service: Service, ctx: ReconcileContext): Promise<Result> {
    await (this.restored ??= this.restore(ctx));
    const { allocator } = this.deps;
    if (!isOurLoadBalancer(service, this.deps.loadBalancerClass)) {
      this.release(ctx.key);
      // A Service that stopped being a LoadBalancer must not keep advertising our IP.
      if (service.spec?.type !== 'LoadBalancer' && ingressIPs(service).some((ip) => allocator.pool.contains(ip))) setIngress(service, undefined);
      return done();
    }

    const request = requestedIP(service);
    if (request.kind === 'invalid') {
      this.release(ctx.key);
      setIngress(service, undefined);
      ctx.events.warning(ALLOCATION_FAILED, 'AllocateIP', request.message);
      return done(); // only a spec change can fix it, and that triggers a reconcile
    }
    const allocation = allocator.allocate(ctx.key, request.kind === 'ip' ? request.ip : undefined);
    if (allocation.released !== undefined) this.wakeWaiting(ctx.key);
    this.updateGauge();
    if (!allocation.ok) {
      this.waiting.add(ctx.key);
      setIngress(service, undefined);
      ctx.events.warning(ALLOCATION_FAILED, 'AllocateIP', describeFailure(allocation.failure, allocator.pool.cidr));
      return done();
    }
    this.waiting.delete(ctx.key);
    if (ingressIPs(service).join(',') !== allocation.ip) {
      ctx.log.info({ ip: allocation.ip }, 'assigned load-balancer IP');
      ctx.events.normal(ALLOCATED, 'AllocateIP', `assigned IP ${allocation.ip} from pool ${allocator.pool.cidr}`);
    }
    setIngress(service, allocation.ip);
    return done();
  }

  reconcileMissing(ref: ObjectRef): Promise<Result> {
    this.release(objectKey(ref));
    return Promise.resolve(done());
  }

  // Runs once, before the first allocation, on a synced cache: every IP a Service of ours shows is taken first.
  private async restore(ctx: ReconcileContext): Promise<void> {
    const services = await ctx.cache.list<Service>(SERVICE);
    const ours = services
      .filter((s) => isOurLoadBalancer(s, this.deps.loadBalancerClass))
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || objectKey(a).localeCompare(objectKey(b)));
    let adopted = 0;
    for (const service of ours) {
      const ip = ingressIPs(service).find((i) => this.deps.allocator.pool.contains(i));
      if (ip !== undefined && this.deps.allocator.adopt(objectKey(service), ip)) adopted++;
    }
    this.updateGauge();
    ctx.log.info({ adopted }, 'adopted load-balancer IPs from existing Services');
  }

  private release(key: string): void {
    this.waiting.delete(key);
    if (this.deps.allocator.release(key) !== undefined) this.wakeWaiting(key);
    this.updateGauge();
  }

  private wakeWaiting(except: string): void {
    for (const key of this.waiting) if (key !== except) this.deps.retry(key);
  }

  private updateGauge(): void {
    this.deps.metrics?.loadBalancerIPs.set(this.deps.allocator.allocatedCount);
  }
}
