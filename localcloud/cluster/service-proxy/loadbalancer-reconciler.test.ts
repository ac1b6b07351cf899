import { expect } from 'chai';
import { objectKey } from '../../../lib/kube/object.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { IPv4Range } from './ipv4-range.js';
import { LoadBalancerAllocator } from './loadbalancer-allocator.js';
import { LoadBalancerReconciler } from './loadbalancer-reconciler.js';
import type { Service } from './service-api.js';

interface RecordedEvent {
  type: string;
  reason: string;
  note: string;
}

/** Services as the informer cache holds them, and what the reconciler did to them. */
class Env {
  readonly services = new Map<string, Service>();
  readonly events: RecordedEvent[] = [];
  readonly retried: string[] = [];
  reconciler = this.newReconciler();

  newReconciler(): LoadBalancerReconciler {
    const allocator = new LoadBalancerAllocator(IPv4Range.parse('10.255.255.0/24'));
    return new LoadBalancerReconciler({ allocator, loadBalancerClass: 'kvcloud.io/local-lb', retry: (key) => this.retried.push(key) });
  }

  add(name: string, created: string, spec: Service['spec'] = { type: 'LoadBalancer' }, ingressIP?: string): void {
    const svc: Service = {
      metadata: { namespace: 'ns', name, creationTimestamp: created },
      spec,
      status: { loadBalancer: ingressIP ? { ingress: [{ ip: ingressIP, ipMode: 'VIP' }] } : {} },
    };
    this.services.set(objectKey(svc), svc);
  }

  /** Reconciles one Service and stores the status it ends with, as the toolkit's patch would. */
  async reconcile(name: string): Promise<string[]> {
    const key = `ns/${name}`;
    const svc = structuredClone(this.services.get(key));
    if (!svc) throw new Error(`no Service ${key}`);
    await this.reconciler.reconcile(svc, this.context(key));
    this.services.set(key, svc);
    return (svc.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip ?? ''}/${i.ipMode ?? ''}`);
  }

  async remove(name: string): Promise<void> {
    this.services.delete(`ns/${name}`);
    await this.reconciler.reconcileMissing({ namespace: 'ns', name });
  }

  private context(key: string): ReconcileContext {
    const record = (type: string) => (reason: string, _action: string, note: string) => this.events.push({ type, reason, note });
    const ctx = {
      key,
      log: createLogger({ level: 'silent' }),
      events: { normal: record('Normal'), warning: record('Warning'), record: () => undefined },
      cache: { list: () => Promise.resolve([...this.services.values()].map((s) => structuredClone(s))) },
    };
    return ctx as unknown as ReconcileContext;
  }
}

describe('service-proxy/loadbalancer-reconciler', () => {
  let env: Env;
  beforeEach(() => {
    env = new Env();
  });

  it('writes the lowest free pool IP as a VIP ingress and says so in an Event', async () => {
    env.add('web', '2026-01-01T00:00:00Z');
    expect(await env.reconcile('web')).to.deep.equal(['10.255.255.1/VIP']);
    expect(env.events).to.deep.equal([{ type: 'Normal', reason: 'IPAllocated', note: 'assigned IP 10.255.255.1 from pool 10.255.255.0/24' }]);
    expect(await env.reconcile('web')).to.deep.equal(['10.255.255.1/VIP']);
    expect(env.events).to.have.length(1);
  });

  it('after a restart keeps every IP Services show, the older Service winning a duplicate, before allocating new ones', async () => {
    env.add('young', '2026-01-02T00:00:00Z', undefined, '10.255.255.1');
    env.add('old', '2026-01-01T00:00:00Z', undefined, '10.255.255.1');
    env.add('other', '2026-01-01T00:00:00Z', undefined, '10.255.255.2');
    env.add('new', '2026-01-03T00:00:00Z');
    env.reconciler = env.newReconciler();
    expect(await env.reconcile('new')).to.deep.equal(['10.255.255.3/VIP']);
    expect(await env.reconcile('young')).to.deep.equal(['10.255.255.4/VIP']);
    expect(await env.reconcile('old')).to.deep.equal(['10.255.255.1/VIP']);
    expect(await env.reconcile('other')).to.deep.equal(['10.255.255.2/VIP']);
  });

  it('gives a Service asking for a taken IP none and a Warning, and retries it once the IP is freed', async () => {
    env.add('a', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', loadBalancerIP: '10.255.255.7' });
    env.add('b', '2026-01-02T00:00:00Z', { type: 'LoadBalancer', loadBalancerIP: '10.255.255.7' });
    expect(await env.reconcile('a')).to.deep.equal(['10.255.255.7/VIP']);
    expect(await env.reconcile('b')).to.deep.equal([]);
    expect(env.events.at(-1)).to.deep.equal({ type: 'Warning', reason: 'AllocationFailed', note: 'requested IP 10.255.255.7 is already assigned to Service ns/a' });
    await env.remove('a');
    expect(env.retried).to.deep.equal(['ns/b']);
    expect(await env.reconcile('b')).to.deep.equal(['10.255.255.7/VIP']);
  });

  it('warns about a request outside the pool and assigns nothing', async () => {
    env.add('web', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', loadBalancerIP: '192.0.2.1' });
    expect(await env.reconcile('web')).to.deep.equal([]);
    expect(env.events).to.deep.equal([{ type: 'Warning', reason: 'AllocationFailed', note: 'requested IP 192.0.2.1 is not in the load-balancer pool 10.255.255.0/24' }]);
  });

  it('takes the IP back from a Service that stopped being a LoadBalancer, for the next one to reuse', async () => {
    env.add('web', '2026-01-01T00:00:00Z');
    await env.reconcile('web');
    const svc = env.services.get('ns/web');
    if (svc?.spec) svc.spec.type = 'ClusterIP';
    expect(await env.reconcile('web')).to.deep.equal([]);
    env.add('next', '2026-01-02T00:00:00Z');
    expect(await env.reconcile('next')).to.deep.equal(['10.255.255.1/VIP']);
  });

  it('leaves a Service of another loadBalancerClass to its own implementation', async () => {
    env.add('theirs', '2026-01-01T00:00:00Z', { type: 'LoadBalancer', loadBalancerClass: 'example.com/lb' }, '203.0.113.9');
    expect(await env.reconcile('theirs')).to.deep.equal(['203.0.113.9/VIP']);
    expect(env.events).to.deep.equal([]);
  });
});
