import { expect } from 'chai';
import { SERVICE_TYPE, type Service } from '../../lib/apis/core.js';
import { getCondition } from '../../lib/controller/conditions.js';
import { CcmEnv, CLUSTER, INFRA_NS } from '../reconcile-env.testdata.js';
import { infraServiceName } from './infra-service.js';
import { ServiceReconciler } from './service-controller.js';

const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

function tenantService(name: string, spec: Service['spec'] = {}, annotations?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', ...(annotations ? { annotations } : {}) },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31080 }], ...spec },
  };
}

function stored(pass: { stored: Service | undefined }): Service {
  if (!pass.stored) throw new Error('the tenant Service is gone');
  return pass.stored;
}

describe('service-lb-controller', () => {
  let env: CcmEnv;
  let now: number;
  let reconciler: ServiceReconciler;
  const ref = (name: string) => ({ namespace: 'shop', name });
  const infraOf = (tenant: Service | undefined) => env.infraApi.peek('v1', 'Service', `${INFRA_NS}/${infraServiceName(tenant ?? { metadata: {} })}`) as Service | undefined;
  const assignAddress = (tenant: Service | undefined, ip: string) => {
    const infra = infraOf(tenant);
    if (!infra) throw new Error('no infra Service');
    env.infraApi.seed({ ...infra, status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } });
  };

  beforeEach(() => {
    env = new CcmEnv();
    now = Date.now();
    reconciler = new ServiceReconciler({ infra: env.infra, namespace: INFRA_NS, clusterName: CLUSTER, config: env.config, now: () => now });
  });

  it('adds the cleanup finalizer before it creates anything on the infra side', async () => {
    env.tenantApi.seed(tenantService('web'));
    const pass = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(pass.stored?.metadata.finalizers).to.deep.equal([FINALIZER]);
    expect(pass.infraWrites).to.have.length(0);
  });

  it('creates the infra Service, says it waits for an address, then shows the address; steady state writes nothing', async () => {
    env.tenantApi.seed(tenantService('web', {}, { 'example.com/tier': 'gold' }));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const waiting = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const infra = infraOf(waiting.stored);
    expect(infra?.metadata.labels).to.include({ 'cluster.x-k8s.io/tenant-service-name': 'web', 'cluster.x-k8s.io/tenant-service-namespace': 'shop', 'cluster.x-k8s.io/cluster-name': CLUSTER });
    expect(infra?.metadata.annotations).to.include({ 'example.com/tier': 'gold' });
    expect(getCondition(waiting.stored, 'LoadBalancerReady')).to.include({ status: 'False', reason: 'WaitingForAddress' });
    // The timeout runs 5 minutes from the infra Service's creationTimestamp, which the fake apiserver stamps from the
    // real clock in whole seconds: up to a second before the reconciler's fixed `now`, or as much after it as the
    // passes took, when the clock crossed into the next second meanwhile.
    expect(waiting.result?.requeueAfter).to.be.within(299_000, 300_000 + (Date.now() - now));
    expect(waiting.events.map((e) => e.reason)).to.deep.equal(['EnsuringLoadBalancer']);

    assignAddress(waiting.stored, '192.0.2.7');
    const ready = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(ready.stored?.status?.loadBalancer?.ingress).to.deep.equal([{ ip: '192.0.2.7', ipMode: 'VIP' }]);
    expect(getCondition(ready.stored, 'LoadBalancerReady')).to.include({ status: 'True', reason: 'Provisioned' });
    expect(ready.events.map((e) => e.reason)).to.deep.equal(['EnsuredLoadBalancer']);

    const steady = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(steady.tenantWrites, 'tenant writes').to.have.length(0);
    expect(steady.infraWrites, 'infra writes').to.have.length(0);
    expect(steady.events).to.have.length(0);
  });

  it('keeps annotations in sync: a changed and a removed tenant annotation reach the infra Service', async () => {
    env.tenantApi.seed(tenantService('web', {}, { 'example.com/a': '1', 'example.com/b': '2' }));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const first = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const live = stored(first);
    env.tenantApi.seed({ ...live, metadata: { ...live.metadata, annotations: { 'example.com/a': 'changed' } } });
    const second = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(second.infraWrites).to.have.length(1);
    const annotations = infraOf(second.stored)?.metadata.annotations ?? {};
    expect(annotations['example.com/a']).to.equal('changed');
    expect(annotations).to.not.have.property('example.com/b');
  });

  it('says the address timed out once creationPollTimeout has passed without one, with a Warning', async () => {
    env.tenantApi.seed(tenantService('web'));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    now += 301_000;
    const late = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(getCondition(late.stored, 'LoadBalancerReady')).to.include({ status: 'False', reason: 'AddressTimedOut' });
    expect(late.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(['Warning/AddressTimedOut']);
    expect(late.result?.requeueAfter).to.equal(undefined);
  });

  it('leaves a Service of a foreign loadBalancerClass alone: no finalizer, no infra Service', async () => {
    env.tenantApi.seed(tenantService('theirs', { loadBalancerClass: 'metallb.io/metallb' }));
    const pass = await env.pass(reconciler, SERVICE_TYPE, ref('theirs'));
    expect(pass.tenantWrites).to.have.length(0);
    expect(pass.infraWrites).to.have.length(0);
  });

  it('a Service whose infra apply fails reports it and retries, while another Service is served', async () => {
    env.tenantApi.seed(tenantService('stuck'));
    env.tenantApi.seed(tenantService('fine'));
    await env.pass(reconciler, SERVICE_TYPE, ref('stuck'));
    await env.pass(reconciler, SERVICE_TYPE, ref('fine'));
    env.infraApi.failNext((req) => req.method === 'PATCH' && req.path.includes('/services/'), 500);
    const stuck = await env.pass(reconciler, SERVICE_TYPE, ref('stuck'));
    expect(stuck.error?.message).to.match(/apply infra Service .*injected failure/);
    expect(getCondition(stuck.stored, 'LoadBalancerReady')).to.include({ status: 'False', reason: 'InfraServiceFailed' });
    expect(stuck.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(['Warning/InfraServiceFailed']);
    const fine = await env.pass(reconciler, SERVICE_TYPE, ref('fine'));
    expect(fine.error).to.equal(undefined);
    expect(infraOf(fine.stored)).to.not.equal(undefined);
  });

  it('refuses a Service without NodePorts with a condition and an Event', async () => {
    env.tenantApi.seed(tenantService('no-ports', { allocateLoadBalancerNodePorts: false, ports: [{ name: 'http', port: 80 }] }));
    await env.pass(reconciler, SERVICE_TYPE, ref('no-ports'));
    const pass = await env.pass(reconciler, SERVICE_TYPE, ref('no-ports'));
    expect(getCondition(pass.stored, 'LoadBalancerReady')).to.include({ status: 'False', reason: 'NoNodePorts' });
    expect(pass.infraWrites).to.have.length(0);
  });

  it('on deletion removes the infra Service first and the finalizer only once it is gone', async () => {
    env.tenantApi.seed(tenantService('web'));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    await env.tenant.delete(SERVICE_TYPE, ref('web'));
    const deleting = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    // The fake infra apiserver removes it at once (no finalizer); the real one may take longer, so one pass
    // deletes and the next, woken by the infra watch, lets go.
    expect(deleting.infraWrites.map((w) => w.method)).to.deep.equal(['DELETE']);
    expect(deleting.stored?.metadata.finalizers).to.deep.equal([FINALIZER]);
    const released = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(released.stored).to.equal(undefined);
  });

  it('when a Service stops being a LoadBalancer, removes the infra Service, its address and the finalizer', async () => {
    env.tenantApi.seed(tenantService('web'));
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const created = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    assignAddress(created.stored, '192.0.2.8');
    const ready = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const live = stored(ready);
    env.tenantApi.seed({ ...live, spec: { ...live.spec, type: 'ClusterIP' } });
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const after = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(infraOf(live)).to.equal(undefined);
    expect(after.stored?.metadata.finalizers ?? []).to.deep.equal([]);
    expect(after.stored?.status?.loadBalancer?.ingress).to.equal(undefined);
    expect(getCondition(after.stored, 'LoadBalancerReady')).to.equal(undefined);
  });

  it('leaves an infra Service of the same name that serves another cluster alone', async () => {
    env.tenantApi.seed(tenantService('web'));
    const first = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    env.infraApi.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: infraServiceName(stored(first)), namespace: INFRA_NS, labels: { 'cluster.x-k8s.io/cluster-name': 'other' } }, spec: { type: 'LoadBalancer' } });
    const pass = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(pass.infraWrites).to.have.length(0);
    expect(getCondition(pass.stored, 'LoadBalancerReady')).to.include({ status: 'False', reason: 'NameConflict' });
  });

  it('refuses tenant labels and annotations that could reach other tenants, with one Warning per change', async () => {
    const web = tenantService('web', {}, { 'metallb.universe.tf/allow-shared-ip': 'shared', 'example.com/tier': 'gold' });
    web.metadata.labels = { 'cluster.x-k8s.io/cluster-name': 'globex' };
    env.tenantApi.seed(web);
    await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const pass = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    const infra = infraOf(pass.stored);
    expect(infra?.metadata.labels?.['cluster.x-k8s.io/cluster-name']).to.equal(CLUSTER);
    expect(infra?.metadata.annotations).to.include({ 'example.com/tier': 'gold' }).and.not.have.property('metallb.universe.tf/allow-shared-ip');
    const refused = pass.events.filter((e) => e.reason === 'RefusedMetadata');
    expect(refused.map((e) => e.type)).to.deep.equal(['Warning']);
    expect(refused[0]?.note).to.include('annotation metallb.universe.tf/allow-shared-ip').and.include('label cluster.x-k8s.io/cluster-name');
    const again = await env.pass(reconciler, SERVICE_TYPE, ref('web'));
    expect(again.events.filter((e) => e.reason === 'RefusedMetadata'), 'reported once').to.have.length(0);
  });
});
