import { expect } from 'chai';
import { SECRET_TYPE, SERVICE_TYPE, NODE_TYPE, TOPOLOGY_ZONE_LABEL, type Node, type Secret, type Service } from '../../../lib/apis/core.js';
import { PAUSED_CONDITION } from '../../../lib/controller/paused.js';
import type { Condition } from '../../../lib/controller/conditions.js';
import type { RestRequest } from '../../../lib/kube/rest-transport.js';
import {
  CLUSTER_FINALIZER,
  KubevirtClusterGVK,
  CLUSTER_NAME_LABEL,
  MANAGED_BY_ANNOTATION,
  PAUSED_ANNOTATION,
  TEMPLATE_KIND_EXTRA_RESOURCE,
  TEMPLATE_KIND_LABEL,
  type KubevirtCluster,
} from '../api/index.js';
import { LOAD_BALANCER_AVAILABLE, Reasons } from './conditions.js';
import { desiredControlPlaneService } from './control-plane-service.js';
import { KubevirtClusterReconciler } from './kubevirtcluster.js';
import { TEMPLATE_EXTRA_KINDS } from './template-extras.js';
import {
  CLUSTER,
  NS,
  InfraEnv,
  cluster,
  conditionOf,
  infraKubeconfigSecret,
  kubevirtCluster,
  sshKeysSecret,
  v1beta1ConditionOf,
  type Pass,
} from './reconcile-env.testdata.js';

const LB = `${CLUSTER}-lb`;

/** The <cluster>-lb Service as the apiserver holds it once it has assigned a ClusterIP. */
function lbService(namespace = NS, clusterIP = '10.96.0.10'): Service {
  const desired = desiredControlPlaneService(kubevirtCluster(), CLUSTER, namespace);
  return { ...desired, spec: { ...desired.spec, clusterIP } };
}

function node(name: string, zone?: string): Node {
  return { ...NODE_TYPE, metadata: { name, ...(zone ? { labels: { [TOPOLOGY_ZONE_LABEL]: zone } } : {}) } };
}

/** Conditions of a KubevirtCluster that was provisioned in an earlier pass. */
function wasReady(): Condition[] {
  const at = '2026-01-01T00:00:00Z';
  return [
    { type: LOAD_BALANCER_AVAILABLE, status: 'True', reason: Reasons.loadBalancerAvailable, message: '', lastTransitionTime: at },
    { type: 'Ready', status: 'True', reason: 'InfoReported', message: '', lastTransitionTime: at },
  ];
}

function readyKubevirtCluster(spec: KubevirtCluster['spec'] = {}): KubevirtCluster {
  return {
    ...kubevirtCluster({ controlPlaneEndpoint: { host: '10.96.0.10', port: 6443 }, ...spec }, { finalizers: [CLUSTER_FINALIZER] }),
    status: { ready: true, initialization: { provisioned: true }, conditions: wasReady() },
  };
}

function v1beta1Ready(kc: KubevirtCluster | undefined): unknown {
  return v1beta1ConditionOf(kc, 'Ready')?.status;
}

describe('providers/infrastructure/controllers: KubevirtCluster reconciler', () => {
  let env: InfraEnv;
  let reconciler: KubevirtClusterReconciler;
  const pass = (): Promise<Pass<KubevirtCluster>> => env.pass(reconciler, KubevirtClusterGVK, CLUSTER);

  beforeEach(() => {
    env = new InfraEnv();
    reconciler = new KubevirtClusterReconciler({ client: env.client, connections: env.connections, enqueue: env.enqueue });
  });
  afterEach(async () => {
    await env.close();
  });

  describe('normal path', () => {
    it('creates the SSH key pair Secret and the <cluster>-lb Service, then waits for the Service address', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster());

      const { error, stored, events } = await pass();

      expect(error).to.equal(undefined);
      const keys = env.stored(SECRET_TYPE, `${CLUSTER}-ssh-keys`) as Secret | undefined;
      expect(Object.keys(keys?.data ?? {})).to.have.members(['pub', 'key']);
      expect(keys?.metadata.ownerReferences?.[0]).to.include({ kind: 'KubevirtCluster', name: CLUSTER, controller: true });
      const svc = env.stored(SERVICE_TYPE, LB) as Service | undefined;
      expect(svc?.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/cluster-name': CLUSTER, 'cluster.x-k8s.io/role': 'control-plane' });
      expect(stored?.metadata.finalizers).to.deep.equal([CLUSTER_FINALIZER]);
      expect(conditionOf(stored, LOAD_BALANCER_AVAILABLE)).to.deep.equal({ status: 'False', reason: Reasons.loadBalancerProvisioningFailed });
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
      expect(v1beta1ConditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: Reasons.loadBalancerProvisioningFailed });
      expect(stored?.status?.ready).to.equal(false);
      expect(events.map((e) => e.reason)).to.deep.equal(['CreatedSSHKeys', 'CreatedLoadBalancerService']);
    });

    it('sets the control-plane endpoint from the Service address and reports the infrastructure provisioned', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster());
      env.seed(sshKeysSecret());
      env.seed(lbService());

      const { stored, events } = await pass();

      expect(stored?.spec?.controlPlaneEndpoint).to.deep.equal({ host: '10.96.0.10', port: 6443 });
      expect(conditionOf(stored, LOAD_BALANCER_AVAILABLE)).to.deep.equal({ status: 'True', reason: Reasons.loadBalancerAvailable });
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'True', reason: 'InfoReported' });
      expect(stored?.status).to.deep.include({ ready: true, initialization: { provisioned: true } });
      expect(v1beta1Ready(stored)).to.equal('True');
      expect(events.map((e) => e.reason)).to.deep.equal(['ControlPlaneEndpointSet']);
    });

    it('keeps the SSH key pair Secret an earlier run created', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster());
      const keys = env.seed(sshKeysSecret());

      await pass();

      expect((env.stored(SECRET_TYPE, `${CLUSTER}-ssh-keys`) as Secret | undefined)?.data).to.deep.equal(keys.data);
    });

    it('reports the zones of the infra Nodes as failure domains, and drops them when the zones go', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster());
      env.seed(sshKeysSecret());
      env.seed(lbService());
      env.seed(node('n1', 'zone-b'));
      env.seed(node('n2', 'zone-a'));
      env.seed(node('n3', 'zone-a'));

      const first = await pass();
      expect(first.stored?.status?.failureDomains).to.deep.equal([
        { name: 'zone-a', controlPlane: true },
        { name: 'zone-b', controlPlane: true },
      ]);

      for (const n of ['n1', 'n2', 'n3']) await env.client.delete(NODE_TYPE, { name: n });
      const second = await pass();
      expect(second.stored?.status?.failureDomains).to.equal(undefined);
    });

    it('writes nothing in steady state', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster());
      env.seed(sshKeysSecret());
      env.seed(lbService());
      await pass();
      await pass(); // the endpoint written to spec moved the generation: conditions record the new one
      const writes = env.api.writes().length;

      const { stored } = await pass();

      expect(env.api.writes().length).to.equal(writes);
      expect(conditionOf(stored, 'Ready')?.status).to.equal('True');
    });

    it('restores a Service whose spec drifted from the template', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster({ controlPlaneServiceTemplate: { spec: { port: 443 } } }));
      env.seed(sshKeysSecret());
      env.seed(lbService());

      const { stored } = await pass();

      expect((env.stored(SERVICE_TYPE, LB) as Service | undefined)?.spec?.ports?.[0]).to.include({ port: 443, targetPort: 6443 });
      expect(stored?.spec?.controlPlaneEndpoint).to.deep.equal({ host: '10.96.0.10', port: 443 });
    });

    it('keeps a control-plane endpoint set by the user and still reports the Service ready', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster({ controlPlaneEndpoint: { host: 'api.acme.example', port: 6443 } }));
      env.seed(sshKeysSecret());

      const { stored } = await pass();

      expect(stored?.spec?.controlPlaneEndpoint).to.deep.equal({ host: 'api.acme.example', port: 6443 });
      expect(conditionOf(stored, 'Ready')?.status).to.equal('True');
    });

    it('creates the Service in the external infra cluster, in the namespace its kubeconfig Secret names', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster({ infraClusterSecretRef: { name: 'infra-kubeconfig' } }));
      env.seed(sshKeysSecret());
      env.seed(infraKubeconfigSecret('infra-kubeconfig', 'vms'));

      const { stored } = await pass();

      expect(env.infraApi.peek('v1', 'Service', `vms/${LB}`)).to.not.equal(undefined);
      expect(env.stored(SERVICE_TYPE, LB)).to.equal(undefined);
      expect(conditionOf(stored, LOAD_BALANCER_AVAILABLE)?.reason).to.equal(Reasons.loadBalancerProvisioningFailed);
    });
  });

  describe('pause and ownership', () => {
    const cases: { name: string; cluster: ReturnType<typeof cluster>; annotations?: Record<string, string> }[] = [
      { name: 'its Cluster has spec.paused', cluster: cluster({}, { paused: true }) },
      { name: 'it has the paused annotation', cluster: cluster(), annotations: { [PAUSED_ANNOTATION]: '' } },
    ];
    for (const tc of cases) {
      it(`only reports Paused while ${tc.name}`, async () => {
        env.seed(tc.cluster);
        env.seed(kubevirtCluster({}, tc.annotations ? { annotations: tc.annotations } : {}));

        const { stored } = await pass();

        expect(conditionOf(stored, PAUSED_CONDITION)).to.deep.equal({ status: 'True', reason: 'Paused' });
        expect(stored?.metadata.finalizers).to.equal(undefined);
        expect(env.stored(SERVICE_TYPE, LB)).to.equal(undefined);
        expect(env.stored(SECRET_TYPE, `${CLUSTER}-ssh-keys`)).to.equal(undefined);
      });
    }

    it('does nothing until a Cluster owns the KubevirtCluster', async () => {
      env.seed(kubevirtCluster({}, { ownerReferences: [] }));

      const { stored } = await pass();

      expect(env.api.writes()).to.have.length(0);
      expect(stored?.status).to.equal(undefined);
    });

    it('gives a KubevirtCluster managed by another system only its finalizer: no Service, Secret, endpoint or status', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster({}, { annotations: { [MANAGED_BY_ANNOTATION]: 'hosted-control-plane' } }));

      const { stored } = await pass();

      expect(stored?.metadata.finalizers).to.deep.equal([CLUSTER_FINALIZER]);
      expect(stored?.spec).to.deep.equal({});
      expect(stored?.status).to.equal(undefined);
      expect(env.api.writes().map((w) => `${w.method} ${w.path}`)).to.deep.equal([`PATCH /apis/infrastructure.cluster.x-k8s.io/v1alpha1/namespaces/${NS}/kubevirtclusters/${CLUSTER}`]);
      await pass();
      expect(env.api.writes(), 'steady state').to.have.length(1);
    });
  });

  describe('deletion', () => {
    /** A template's extra (the tenant's CCM objects) of `clusterName`, labelled as the templates label them. */
    const extra = (apiVersion: string, kind: string, name: string, clusterName = CLUSTER, extraLabel = true) =>
      env.seed({
        apiVersion,
        kind,
        metadata: { namespace: NS, name, labels: { [CLUSTER_NAME_LABEL]: clusterName, ...(extraLabel ? { [TEMPLATE_KIND_LABEL]: TEMPLATE_KIND_EXTRA_RESOURCE } : {}) } },
      });
    /** An infra Service the CCM made for a tenant Service of `clusterName`. */
    const ccmService = (name: string, clusterName = CLUSTER) =>
      env.seed({ ...SERVICE_TYPE, metadata: { namespace: NS, name, labels: { [CLUSTER_NAME_LABEL]: clusterName, 'cluster.x-k8s.io/tenant-service-name': 'web' } }, spec: { type: 'LoadBalancer' } });
    const seedExtras = () => {
      extra('apps/v1', 'Deployment', `${CLUSTER}-ccm`);
      extra('v1', 'ConfigMap', `${CLUSTER}-ccm-cloud-config`);
      extra('v1', 'ServiceAccount', `${CLUSTER}-ccm`);
      extra('rbac.authorization.k8s.io/v1', 'Role', `${CLUSTER}-ccm`);
      extra('rbac.authorization.k8s.io/v1', 'RoleBinding', `${CLUSTER}-ccm`);
      ccmService('a0123456789abcdef0123456789abcde');
      // Another cluster's, and one of ours a user made without the extra-resource label: both stay.
      extra('apps/v1', 'Deployment', 'other-ccm', 'other');
      ccmService('a1111111111111111111111111111111', 'other');
      extra('v1', 'ConfigMap', `${CLUSTER}-notes`, CLUSTER, false);
    };
    const left = async () => {
      const names: string[] = [];
      for (const type of [...TEMPLATE_EXTRA_KINDS, SERVICE_TYPE]) {
        for (const o of await env.client.list(type, { namespace: NS, direct: true })) names.push(`${type.kind} ${o.metadata.name ?? ''}`);
      }
      return names.sort();
    };

    it('removes the template\'s extras and the CCM\'s infra Services of a KubevirtCluster managed by another system, then its finalizer', async () => {
      env.seed(cluster());
      env.seed(kubevirtCluster({}, { annotations: { [MANAGED_BY_ANNOTATION]: 'kamaji' }, finalizers: [CLUSTER_FINALIZER], deletionTimestamp: '2026-01-02T00:00:00Z' }));
      seedExtras();

      const { stored, events, error } = await pass();

      expect(error).to.equal(undefined);
      expect(stored, 'the KubevirtCluster, its finalizer removed').to.equal(undefined);
      expect(await left()).to.deep.equal(['ConfigMap acme-notes', 'Deployment other-ccm', 'Service a1111111111111111111111111111111']);
      expect(events.map((e) => e.note)).to.deep.equal(['deleted 6 objects the cluster template or its CCM added for cluster acme']);
    });

    it('removes the template\'s extras of a KubevirtCluster it manages once the <cluster>-lb Service is gone', async () => {
      env.seed(cluster());
      env.seed({ ...readyKubevirtCluster(), metadata: { ...readyKubevirtCluster().metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
      seedExtras();

      await pass();

      expect(await left()).to.deep.equal(['ConfigMap acme-notes', 'Deployment other-ccm', 'Service a1111111111111111111111111111111']);
    });

    it('deletes the <cluster>-lb Service, then removes the finalizer once it is gone', async () => {
      env.seed(cluster());
      env.seed({ ...readyKubevirtCluster(), metadata: { ...readyKubevirtCluster().metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
      env.seed(lbService());

      const first = await pass();
      expect(env.stored(SERVICE_TYPE, LB)).to.equal(undefined);
      expect(first.stored?.metadata.finalizers).to.deep.equal([CLUSTER_FINALIZER]);
      expect(conditionOf(first.stored, LOAD_BALANCER_AVAILABLE), 'as CAPK reports a deletion').to.deep.equal({ status: 'False', reason: Reasons.deleting });
      expect(first.events.map((e) => e.reason)).to.deep.equal(['DeletedLoadBalancerService']);

      const second = await pass();
      expect(second.error).to.equal(undefined);
      expect(second.stored).to.equal(undefined);
    });

    it('removes the finalizer when the infra cluster cannot be reached any more, with a warning', async () => {
      env.seed(cluster());
      const kc = readyKubevirtCluster({ infraClusterSecretRef: { name: 'gone-kubeconfig' } });
      env.seed({ ...kc, metadata: { ...kc.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });

      const { stored, events } = await pass();

      expect(stored).to.equal(undefined);
      expect(events.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', 'InfraClusterUnavailable']]);
    });

    it('keeps the finalizer while its Cluster is paused', async () => {
      env.seed(cluster({}, { paused: true }));
      const kc = readyKubevirtCluster();
      env.seed({ ...kc, metadata: { ...kc.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } });
      env.seed(lbService());

      const { stored } = await pass();

      expect(stored?.metadata.finalizers).to.deep.equal([CLUSTER_FINALIZER]);
      expect(env.stored(SERVICE_TYPE, LB)).to.not.equal(undefined);
    });
  });

  describe('failures turn Ready False with the reason', () => {
    const isServiceWrite = (req: RestRequest): boolean => req.method !== 'GET' && /\/services(\/|$)/.test(req.path);
    const cases: { name: string; spec?: KubevirtCluster['spec']; setup: (env: InfraEnv) => void; reason: string; error: RegExp }[] = [
      {
        name: 'the infra cluster kubeconfig Secret is missing',
        spec: { infraClusterSecretRef: { name: 'missing-kubeconfig' } },
        setup: () => undefined,
        reason: Reasons.loadBalancerProvisioningFailed,
        error: /missing-kubeconfig not found/,
      },
      {
        name: 'the apiserver refuses to create the <cluster>-lb Service',
        setup: (e) => { e.api.failNext(isServiceWrite, 500); },
        reason: Reasons.loadBalancerProvisioningFailed,
        error: /injected failure/,
      },
      {
        name: 'the apiserver refuses to correct the drifted <cluster>-lb Service',
        spec: { controlPlaneServiceTemplate: { spec: { port: 443 } } },
        setup: (e) => {
          e.seed(lbService());
          e.api.failNext(isServiceWrite, 500);
        },
        reason: Reasons.loadBalancerProvisioningFailed,
        error: /injected failure/,
      },
    ];
    for (const tc of cases) {
      it(`when ${tc.name}`, async () => {
        env.seed(cluster());
        env.seed(readyKubevirtCluster(tc.spec));
        env.seed(sshKeysSecret());
        tc.setup(env);

        const { error, stored } = await pass();

        expect(error?.message).to.match(tc.error);
        expect(conditionOf(stored, LOAD_BALANCER_AVAILABLE)).to.deep.equal({ status: 'False', reason: tc.reason });
        expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
        expect(v1beta1ConditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: tc.reason });
      });
    }
  });
});
