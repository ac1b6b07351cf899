import { expect } from 'chai';
import { CLUSTER_TYPE, type Cluster } from '../../lib/apis/cluster-api.js';
import { Manager } from '../../lib/controller/manager.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { ownerReferenceTo } from '../../lib/controller/owner-references.js';
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';
import { createLogger } from '../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../lib/observability/metrics.js';
import { FakeApiServer } from '../../lib/testing/fake-apiserver.js';
import { CLUSTER_AUTOSCALER_ANNOTATION } from './api/annotations.js';
import { setupClusterAutoscalerController } from './cluster-autoscaler-controller.js';
import { buildClusterAutoscalerObjects, CLUSTER_AUTOSCALER_RULES } from './cluster-autoscaler-objects.js';

const NS = 'tenants';
const SETTINGS = { image: 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1', extraArgs: ['--scan-interval=5s'] };
const TYPES: Record<string, TypeMeta & { resource: string }> = {
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', resource: 'serviceaccounts' },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', resource: 'roles' },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', resource: 'rolebindings' },
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments' },
};

const cluster = (name: string, annotations: Record<string, string> = {}): Cluster => ({
  ...CLUSTER_TYPE,
  metadata: { namespace: NS, name, uid: `uid-${name}`, annotations },
  spec: {},
});

interface DeploymentView extends KubeObject {
  spec: { template: { spec: { serviceAccountName: string; containers: { image: string; command: string[]; args: string[] }[]; volumes: { secret: { secretName: string } }[] } } };
}

describe('providers/autoscaler/cluster-autoscaler-objects', () => {
  const objects = buildClusterAutoscalerObjects(cluster('acme'), SETTINGS);

  it('names every object after the Cluster, in its namespace, controlled by it', () => {
    expect(objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name])).to.deep.equal([
      ['ServiceAccount', NS, 'acme-cluster-autoscaler'],
      ['Role', NS, 'acme-cluster-autoscaler'],
      ['RoleBinding', NS, 'acme-cluster-autoscaler'],
      ['Deployment', NS, 'acme-cluster-autoscaler'],
    ]);
    for (const o of objects) expect(o.metadata.ownerReferences).to.deep.equal([ownerReferenceTo(cluster('acme'), { controller: true })]);
  });

  it('runs the clusterapi provider as the ServiceAccount, on the tenant\'s kubeconfig, discovering only this Cluster\'s node groups', () => {
    const deployment = objects[3] as DeploymentView;
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).to.equal('acme-cluster-autoscaler');
    expect(pod.volumes.map((v) => v.secret.secretName)).to.deep.equal(['acme-kubeconfig']);
    expect(pod.containers[0]?.image).to.equal(SETTINGS.image);
    expect(pod.containers[0]?.args).to.deep.equal([
      '--cloud-provider=clusterapi',
      '--clusterapi-cloud-config-authoritative',
      '--kubeconfig=/etc/kubernetes/tenant/value',
      `--node-group-auto-discovery=clusterapi:namespace=${NS},clusterName=acme`,
      '--scan-interval=5s',
    ]);
  });

  it('grants nothing beyond the namespace\'s Cluster API machines and machine templates: no Secrets, no deletes', () => {
    expect(objects[1]).to.deep.include({ rules: CLUSTER_AUTOSCALER_RULES });
    const grants = CLUSTER_AUTOSCALER_RULES.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`)));
    expect(grants.filter((g) => g.endsWith(':delete') || g.endsWith(':create') || g.startsWith('secrets'))).to.deep.equal([]);
    expect(new Set(CLUSTER_AUTOSCALER_RULES.flatMap((r) => r.apiGroups))).to.deep.equal(new Set(['cluster.x-k8s.io', 'infrastructure.cluster.x-k8s.io']));
  });
});

describe('providers/autoscaler/cluster-autoscaler-controller', () => {
  let api: FakeApiServer;
  let manager: Manager;

  beforeEach(async () => {
    api = new FakeApiServer()
      .serve({ ...CLUSTER_TYPE, resource: 'clusters', namespaced: true, statusSubresource: true })
      .serve({ apiVersion: 'events.k8s.io/v1', kind: 'Event', resource: 'events', namespaced: true });
    for (const t of Object.values(TYPES)) api.serve({ ...t, namespaced: true });
    const { flags } = parseManagerFlags(['--metrics-bind-address=0', '--health-probe-bind-address=0']);
    manager = await Manager.create({ component: 'autoscaler', flags, transport: api, log: createLogger({ level: 'silent' }), metrics: new ToolkitMetrics() });
    setupClusterAutoscalerController(manager, SETTINGS);
    await manager.start();
  });
  afterEach(() => manager.stop());

  const get = (kind: string, name: string) => manager.client.get(TYPES[kind] ?? CLUSTER_TYPE, { namespace: NS, name }, { direct: true });
  const children = async (name: string) => {
    const found = await Promise.all(Object.keys(TYPES).map(async (k) => ((await get(k, name)) ? k : undefined)));
    return found.filter((k) => k !== undefined);
  };
  const eventually = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('creates the Deployment and its RBAC for a Cluster that asks, writes nothing more in steady state, and removes them when it stops asking', async () => {
    await manager.client.create(cluster('acme', { [CLUSTER_AUTOSCALER_ANNOTATION]: 'true' }));
    await manager.client.create(cluster('globex'));
    await eventually(async () => ((await children('acme-cluster-autoscaler')).length === 4 ? true : undefined), 'the four objects');
    const versions = async () => Promise.all(Object.keys(TYPES).map(async (k) => (await get(k, 'acme-cluster-autoscaler'))?.metadata.resourceVersion));
    const before = await versions();

    // Another reconcile of the same Cluster (an unrelated change) applies nothing.
    const live = await manager.client.get<Cluster>(CLUSTER_TYPE, { namespace: NS, name: 'acme' }, { direct: true });
    if (!live) throw new Error('no Cluster acme');
    await manager.client.update({ ...live, metadata: { ...live.metadata, labels: { touched: 'yes' }, annotations: { ...live.metadata.annotations, [CLUSTER_AUTOSCALER_ANNOTATION]: 'true', other: 'x' } } });
    // A child deleted behind our back comes back.
    await manager.client.delete(TYPES.Role ?? CLUSTER_TYPE, { namespace: NS, name: 'acme-cluster-autoscaler' });
    await eventually(async () => ((await get('Role', 'acme-cluster-autoscaler')) ? true : undefined), 'the Role back');
    const after = await versions();
    expect([after[0], after[2], after[3]], 'the untouched children were not written').to.deep.equal([before[0], before[2], before[3]]);
    expect(await children('globex-cluster-autoscaler'), 'a Cluster that does not ask gets nothing').to.deep.equal([]);

    const current = await manager.client.get<Cluster>(CLUSTER_TYPE, { namespace: NS, name: 'acme' }, { direct: true });
    if (!current) throw new Error('no Cluster acme');
    await manager.client.update({ ...current, metadata: { ...current.metadata, annotations: { other: 'x' } } });
    await eventually(async () => ((await children('acme-cluster-autoscaler')).length === 0 ? true : undefined), 'the objects removed');
  });

  it('neither adopts nor removes an object of that name that another owner made', async () => {
    await manager.client.create({ ...TYPES.ServiceAccount, metadata: { namespace: NS, name: 'globex-cluster-autoscaler' } });
    await manager.client.create(cluster('globex', { [CLUSTER_AUTOSCALER_ANNOTATION]: 'true' }));
    await eventually(async () => ((await children('globex-cluster-autoscaler')).length === 4 ? true : undefined), 'the objects');
    const live = await manager.client.get<Cluster>(CLUSTER_TYPE, { namespace: NS, name: 'globex' }, { direct: true });
    if (!live) throw new Error('no Cluster globex');
    await manager.client.update({ ...live, metadata: { ...live.metadata, annotations: {} } });
    await eventually(async () => ((await children('globex-cluster-autoscaler')).length === 1 ? true : undefined), 'all but the foreign ServiceAccount removed');
    expect(await children('globex-cluster-autoscaler')).to.deep.equal(['ServiceAccount']);
    expect((await get('ServiceAccount', 'globex-cluster-autoscaler'))?.metadata.ownerReferences).to.equal(undefined);
  });
});
