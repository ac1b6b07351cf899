import { expect } from 'chai';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { CLUSTER_TYPE, type Cluster } from '../../../lib/apis/cluster-api.js';
import { KUBEVIRT_CLUSTER_TYPE } from '../../../lib/apis/kubevirt-infrastructure.js';
import { BLOCK_MOVE_ANNOTATION, MANAGED_BY_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import { getCondition, type ObjectWithConditions } from '../../../lib/controller/conditions.js';
import { metaTime } from '../../../lib/kube/meta-time.js';
import { PAUSED_ANNOTATION, type TenantControlPlane } from '../api/index.js';
import { KAMAJI_CONTROL_PLANE_KIND, KAMAJI_CONTROL_PLANE_TYPE, type KamajiControlPlane } from '../api/kamajicontrolplane.js';
import { KAMAJI_CONTROL_PLANE_CONDITIONS } from '../kamajicontrolplane/status.js';
import { ControlPlaneEnv, secret, tenantCA, tenantControlPlane } from './reconcile-env.testdata.js';
import { KAMAJI_CONTROL_PLANE_FINALIZER, KamajiControlPlaneReconciler, parseEndpoint } from './kamajicontrolplane.js';
import { PAUSED_FOR_CLUSTER } from './kamajicontrolplane-move.js';
import { TENANT_CONTROL_PLANE_TYPE } from '../api/index.js';

describe('controllers/kamajicontrolplane parseEndpoint', () => {
  const cases: { in: string | undefined; want: { host: string; port: number } | undefined }[] = [
    { in: '10.255.0.3:6443', want: { host: '10.255.0.3', port: 6443 } },
    { in: '[fd00::3]:6443', want: { host: 'fd00::3', port: 6443 } },
    { in: 'api.acme.example:443', want: { host: 'api.acme.example', port: 443 } },
    { in: '', want: undefined },
    { in: undefined, want: undefined },
    { in: '10.255.0.3', want: undefined },
  ];
  for (const tc of cases) {
    it(`reads ${JSON.stringify(tc.in)} as the TenantControlPlane reports it`, () => {
      expect(parseEndpoint(tc.in)).to.deep.equal(tc.want);
    });
  }
});

type KamajiControlPlaneObject = KamajiControlPlane & { metadata: object };

const NS = 'tenants';
const cond = (obj: ObjectWithConditions, type: string): string => {
  const c = getCondition(obj, type);
  return c ? `${c.status}/${c.reason}` : 'absent';
};

/** The Cluster "acme" whose control plane is the KamajiControlPlane "acme", on an externally managed KubevirtCluster. */
function cluster(paused = false): Cluster {
  return {
    ...CLUSTER_TYPE,
    metadata: { namespace: NS, name: 'acme', uid: 'cluster-uid' },
    spec: {
      ...(paused ? { paused: true } : {}),
      controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: KAMAJI_CONTROL_PLANE_KIND, name: 'acme' },
      infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtCluster', name: 'acme' },
    },
  };
}

function kamajiControlPlane(owned = true): KamajiControlPlaneObject {
  return {
    ...KAMAJI_CONTROL_PLANE_TYPE,
    metadata: {
      namespace: NS,
      name: 'acme',
      uid: 'kcp-uid',
      generation: 1,
      ...(owned ? { ownerReferences: [{ apiVersion: CLUSTER_TYPE.apiVersion, kind: 'Cluster', name: 'acme', uid: 'cluster-uid' }] } : {}),
    },
    spec: { version: 'v1.37.2', replicas: 1 },
  };
}

describe('controllers/kamajicontrolplane KamajiControlPlaneReconciler', () => {
  let env: ControlPlaneEnv;
  let kcp: KamajiControlPlaneObject;
  let reconciler: KamajiControlPlaneReconciler;
  beforeEach(() => {
    env = new ControlPlaneEnv();
    reconciler = new KamajiControlPlaneReconciler({ client: env.client, pollMs: 1000 });
    env.api.seed({ ...KUBEVIRT_CLUSTER_TYPE, metadata: { namespace: NS, name: 'acme', annotations: { [MANAGED_BY_ANNOTATION]: 'kamaji' } }, spec: {} });
  });
  afterEach(async () => {
    await env.close();
  });
  const pass = () => reconciler.reconcile(kcp, env.ctx(`${NS}/acme`));
  const liveTCP = () => env.get(TENANT_CONTROL_PLANE_TYPE, NS, 'acme') as (TenantControlPlane & { metadata: object }) | undefined;

  it('waits for Cluster API to set the owner Cluster, creating nothing', async () => {
    env.api.seed(cluster());
    kcp = env.api.seed(kamajiControlPlane(false));

    expect(await pass()).to.deep.equal({});

    expect(cond(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated)).to.equal('False/WaitingForCluster');
    expect(kcp.metadata.finalizers).to.equal(undefined);
    expect(liveTCP()).to.equal(undefined);
  });

  it('leaves the control plane of a paused Cluster alone and says so', async () => {
    env.api.seed(cluster(true));
    kcp = env.api.seed(kamajiControlPlane());

    expect(await pass()).to.deep.equal({});

    expect(cond(kcp, 'Paused')).to.equal('True/Paused');
    expect(kcp.metadata.finalizers).to.equal(undefined);
    expect(liveTCP()).to.equal(undefined);
    expect(env.api.writes()).to.deep.equal([]);
  });

  it('applies a TenantControlPlane with its own name and itself as controller, then waits for its endpoint; again, it writes nothing', async () => {
    env.api.seed(cluster());
    kcp = env.api.seed(kamajiControlPlane());

    expect(await pass()).to.deep.equal({});

    const tcp = liveTCP();
    expect(tcp?.metadata.ownerReferences).to.deep.equal([
      { apiVersion: KAMAJI_CONTROL_PLANE_TYPE.apiVersion, kind: KAMAJI_CONTROL_PLANE_KIND, name: 'acme', uid: 'kcp-uid', controller: true, blockOwnerDeletion: true },
    ]);
    expect(tcp?.spec.kubernetes.version).to.equal('v1.37.2');
    expect(kcp.metadata.finalizers).to.deep.equal([KAMAJI_CONTROL_PLANE_FINALIZER]);
    expect(cond(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated)).to.equal('True/TenantControlPlaneApplied');
    expect(cond(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.addressReady)).to.equal('False/WaitingForEndpoint');
    expect(env.eventReasons()).to.deep.equal(['TenantControlPlaneCreated']);

    const writes = env.api.writes().length;
    await pass();
    expect(env.api.writes().slice(writes)).to.deep.equal([]);
  });

  it('does not take over a TenantControlPlane of the same name that it does not control', async () => {
    env.api.seed(cluster());
    kcp = env.api.seed(kamajiControlPlane());
    env.api.seed(tenantControlPlane(6443));

    await pass();

    expect(cond(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated)).to.equal('False/TenantControlPlaneNotOwned');
    expect(liveTCP()?.metadata.ownerReferences).to.equal(undefined);
    expect(env.api.writes()).to.deep.equal([]);
  });

  it('once the TenantControlPlane has an endpoint and a CA: sets the endpoint, fills the KubevirtCluster and writes <cluster>-ca and <cluster>-kubeconfig', async () => {
    env.api.seed(cluster());
    kcp = env.api.seed(kamajiControlPlane());
    await pass();
    const tcp = liveTCP();
    if (!tcp) throw new Error('no TenantControlPlane');
    env.api.seed({ ...tcp, status: { controlPlaneEndpoint: '10.255.0.3:6443' } });
    env.api.seed(secret(NS, 'acme-ca', (await tenantCA()).data));

    const res = await pass();

    expect(kcp.spec.controlPlaneEndpoint).to.deep.equal({ host: '10.255.0.3', port: 6443 });
    const kc = env.get(KUBEVIRT_CLUSTER_TYPE, NS, 'acme');
    expect(kc?.spec).to.deep.equal({ controlPlaneEndpoint: { host: '10.255.0.3', port: 6443 } });
    expect(kc?.status).to.deep.equal({ ready: true, initialization: { provisioned: true } });
    const kubeconfig = env.get(SECRET_TYPE, NS, 'acme-kubeconfig');
    expect(kubeconfig?.metadata.ownerReferences?.[0]).to.include({ kind: KAMAJI_CONTROL_PLANE_KIND, uid: 'kcp-uid', controller: true });
    for (const [type, want] of [
      [KAMAJI_CONTROL_PLANE_CONDITIONS.addressReady, 'True/EndpointReady'],
      [KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, 'True/Patched'],
      [KAMAJI_CONTROL_PLANE_CONDITIONS.kubeadmResources, 'True/SecretsWritten'],
    ] as const) {
      expect(cond(kcp, type), type).to.equal(want);
    }
    expect(res.requeueAfter).to.be.greaterThan(0); // the kubeconfig's client certificate renewal
  });

  describe('clusterctl move: block-move until the TenantControlPlane is paused with its Cluster', () => {
    /** The TenantControlPlane this KamajiControlPlane controls, with Kamaji's pause annotation and Paused condition as given. */
    const controlledTCP = (paused?: string, pausedCondition?: 'True' | 'False') =>
      env.api.seed(
        tenantControlPlane(6443, (t) => {
          t.metadata.ownerReferences = [{ apiVersion: KAMAJI_CONTROL_PLANE_TYPE.apiVersion, kind: KAMAJI_CONTROL_PLANE_KIND, name: 'acme', uid: 'kcp-uid', controller: true }];
          if (paused !== undefined) t.metadata.annotations = { [PAUSED_ANNOTATION]: paused };
          if (pausedCondition) t.status = { conditions: [{ type: 'Paused', status: pausedCondition, reason: 'Paused', message: '', lastTransitionTime: metaTime() }] };
        }),
      );
    const withBlockMove = (k: KamajiControlPlaneObject): KamajiControlPlaneObject => ({ ...k, metadata: { ...k.metadata, annotations: { [BLOCK_MOVE_ANNOTATION]: '' } } });

    it('holds block-move while its Cluster runs, so clusterctl waits for the pause, on itself only', async () => {
      env.api.seed(cluster());
      kcp = env.api.seed(kamajiControlPlane());

      await pass();

      expect(kcp.metadata.annotations).to.include({ [BLOCK_MOVE_ANNOTATION]: '' });
      expect(liveTCP()?.metadata.annotations?.[BLOCK_MOVE_ANNOTATION], 'not copied to the TenantControlPlane, where nothing would lift it').to.equal(undefined);
    });

    it('pauses its TenantControlPlane when the Cluster is paused and keeps block-move until that reports Paused', async () => {
      env.api.seed(cluster(true));
      kcp = env.api.seed(withBlockMove(kamajiControlPlane()));
      controlledTCP();

      await pass();

      expect(liveTCP()?.metadata.annotations).to.include({ [PAUSED_ANNOTATION]: PAUSED_FOR_CLUSTER });
      expect(kcp.metadata.annotations, 'still blocking: the TenantControlPlane may be mid-pass').to.include({ [BLOCK_MOVE_ANNOTATION]: '' });
      expect(env.eventReasons()).to.deep.equal(['TenantControlPlanePaused']);

      // Its reconciler saw the annotation and reports Paused: the move may go.
      controlledTCP(PAUSED_FOR_CLUSTER, 'True');
      const writes = env.api.writes().length;
      await pass();

      expect(kcp.metadata.annotations?.[BLOCK_MOVE_ANNOTATION]).to.equal(undefined);
      expect(env.api.writes().slice(writes), 'nothing written but our own metadata, which the toolkit patches').to.deep.equal([]);
    });

    it('keeps block-move while the paused TenantControlPlane has not reported Paused yet', async () => {
      env.api.seed(cluster(true));
      kcp = env.api.seed(withBlockMove(kamajiControlPlane()));
      controlledTCP(PAUSED_FOR_CLUSTER, 'False');

      await pass();

      expect(kcp.metadata.annotations).to.include({ [BLOCK_MOVE_ANNOTATION]: '' });
      expect(env.api.writes()).to.deep.equal([]);
    });

    it('resumes the TenantControlPlane it paused once the Cluster runs again (in the target after a move), and holds block-move again', async () => {
      env.api.seed(cluster());
      kcp = env.api.seed(kamajiControlPlane());
      controlledTCP(PAUSED_FOR_CLUSTER, 'True');

      await pass();

      expect(liveTCP()?.metadata.annotations?.[PAUSED_ANNOTATION]).to.equal(undefined);
      expect(kcp.metadata.annotations).to.include({ [BLOCK_MOVE_ANNOTATION]: '' });
      expect(env.eventReasons()).to.include('TenantControlPlaneResumed');
    });

    it('never lifts a pause someone else set on the TenantControlPlane', async () => {
      env.api.seed(cluster());
      kcp = env.api.seed(kamajiControlPlane());
      controlledTCP('maintenance', 'True');

      await pass();

      expect(liveTCP()?.metadata.annotations).to.include({ [PAUSED_ANNOTATION]: 'maintenance' });
      expect(env.eventReasons()).to.not.include('TenantControlPlaneResumed');
    });
  });

  describe('deletion', () => {
    async function deleting(): Promise<void> {
      env.api.seed(cluster());
      kcp = env.api.seed(kamajiControlPlane());
      await pass();
      // The TenantControlPlane's own finalizer holds it while its datastore is cleaned.
      const tcp = liveTCP();
      if (!tcp) throw new Error('no TenantControlPlane');
      env.api.seed({ ...tcp, metadata: { ...tcp.metadata, finalizers: ['kamaji.clastix.io/finalizer'] } });
      kcp.metadata.deletionTimestamp = metaTime();
    }

    it('deletes its TenantControlPlane once and keeps its finalizer while that is still there', async () => {
      await deleting();

      expect(await pass()).to.deep.equal({});
      expect(liveTCP()?.metadata.deletionTimestamp).to.be.a('string');
      const writes = env.api.writes().length;
      await pass();

      expect(env.api.writes().slice(writes)).to.deep.equal([]);
      expect(kcp.metadata.finalizers).to.deep.equal([KAMAJI_CONTROL_PLANE_FINALIZER]);
      expect(cond(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.available)).to.equal('False/Deleting');
      expect(env.eventReasons()).to.deep.equal(['TenantControlPlaneCreated', 'TenantControlPlaneDeleting']);
    });

    it('drops its finalizer once the TenantControlPlane is gone', async () => {
      await deleting();
      await pass();
      const tcp = liveTCP();
      if (!tcp) throw new Error('no TenantControlPlane');
      env.api.seed({ ...tcp, metadata: { ...tcp.metadata, finalizers: [] } });
      await env.client.delete(TENANT_CONTROL_PLANE_TYPE, { namespace: NS, name: 'acme' });

      await pass();

      expect(liveTCP()).to.equal(undefined);
      expect(kcp.metadata.finalizers).to.deep.equal([]);
    });
  });
});
