import { expect } from 'chai';
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE, SERVICE_TYPE } from '../../../lib/apis/core.js';
import { DELETE_FOR_MOVE_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import { getCondition, type ObjectWithConditions } from '../../../lib/controller/conditions.js';
import type { Result } from '../../../lib/controller/reconciler.js';
import { metaTime } from '../../../lib/kube/meta-time.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { DATASTORE_TYPE, PAUSED_ANNOTATION, type TenantControlPlane } from '../api/index.js';
import { tenantPrefix } from '../datastore/etcd-driver.js';
import { WRITE_PERMISSIONS_POLICY } from '../tenant/write-permissions.js';
import type { Deployment } from '../management/deployment.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { SecretData } from '../pki/index.js';
import { ControlPlaneEnv, dataStore, dataStoreCA, secret, TenantAPIServer, tenantCA, tenantControlPlane } from './reconcile-env.testdata.js';
import { MIGRATION_CONDITION } from './datastore-migration.js';
import { PAUSED_FOR_CLUSTER } from './kamajicontrolplane-move.js';
import { RELEASED_LABEL } from './move-handover.js';
import { CONDITIONS, TCP_FINALIZER, TenantControlPlaneReconciler, type TenantControlPlaneDeps } from './tenantcontrolplane.js';

type TCP = TenantControlPlane & { metadata: object };

const NS = 'tenants';
const USER = { user: 'tenants_acme', schema: 'tenants_acme' };
const PREFIX = tenantPrefix(USER.schema);
const POLL_MS = 2000;
/** What a pass that waits for a watch returns: only the certificates' renewal, far off, would bring it back. */
const UNTIL_RENEWAL: Result = { requeueAfter: 2_147_483_647 };

const cond = (obj: ObjectWithConditions, type: string): string => {
  const c = getCondition(obj, type);
  return c ? `${c.status}/${c.reason}` : 'absent';
};
const versionOf = (tcp: TCP) => tcp.status?.kubernetesResources?.version;

/**
 * What every test starts from, made once: the DataStores' CAs, the tenant CA and the tenant apiserver serving a
 * certificate of it, and the Secrets a first pass issues for "acme" (issuing them is most of a first pass's time).
 */
interface Fixture {
  apiserver: TenantAPIServer;
  tenantCA: SecretData;
  dataStoreCAs: Record<string, { certPem: string; keyPem: string }>;
  secrets: KubeObject[];
}
let fixture: Fixture;

interface CreateOptions {
  deps?: Partial<TenantControlPlaneDeps>;
  /** False: the Service has no load-balancer ingress. */
  loadBalancer?: boolean;
  /** Start without the certificate and kubeconfig Secrets, so the first pass issues them. */
  freshCredentials?: boolean;
  patch?: (t: TenantControlPlane) => void;
}

/** One tenant "acme" (uid fixed, so the fixture's Secrets are its own) on DataStore etcd-a, its Service given 127.0.0.1. */
class Tenant {
  readonly env = new ControlPlaneEnv();
  readonly apiserver = fixture.apiserver;
  reconciler: TenantControlPlaneReconciler;
  tcp: TCP;

  constructor(private readonly opts: CreateOptions = {}) {
    this.apiserver.ready = true;
    this.apiserver.requests.length = 0;
    this.env.api.seed(dataStore('etcd-a', this.ca('etcd-a')));
    // The tenant CA is in place already, so the test's tenant apiserver can serve a certificate the probe trusts.
    this.env.api.seed(secret(NS, 'acme-ca', fixture.tenantCA));
    if (!opts.freshCredentials) for (const s of fixture.secrets) this.env.api.seed(s);
    if (opts.loadBalancer !== false) {
      this.env.api.seed({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { namespace: NS, name: 'acme' },
        spec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
      });
    }
    this.tcp = this.env.api.seed(
      tenantControlPlane(this.apiserver.port, (tcp) => {
        tcp.metadata.uid = 'acme-uid';
        opts.patch?.(tcp);
      }),
    );
    this.reconciler = this.newReconciler();
  }

  ca(dataStoreName: string): { certPem: string; keyPem: string } {
    const ca = fixture.dataStoreCAs[dataStoreName];
    if (!ca) throw new Error(`no CA for DataStore ${dataStoreName} in the fixture`);
    return ca;
  }

  /** A reconciler as after an operator restart: nothing remembered but what the objects say. */
  newReconciler(): TenantControlPlaneReconciler {
    return new TenantControlPlaneReconciler({
      client: this.env.client,
      pool: this.env.pool,
      tenants: this.env.tenant.access,
      log: this.env.log,
      deleteDataOnRemoval: true,
      pollMs: POLL_MS,
      ...this.opts.deps,
    });
  }

  /** One reconcile; the object keeps what the reconciler set, as the toolkit's patch and the cache would. */
  pass(): Promise<Result> {
    return this.reconciler.reconcile(this.tcp, this.env.ctx(`${NS}/acme`));
  }

  /** The Deployment controller's part: every pod of the current template ready. */
  rollOut(): void {
    const d = this.env.get(DEPLOYMENT_TYPE, NS, 'acme') as Deployment | undefined;
    if (!d) throw new Error('no Deployment acme yet');
    const replicas = d.spec?.replicas ?? 1;
    this.env.api.seed({ ...d, status: { observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } });
  }

  /** Passes until Ready: the first waits for the pods, the second finds them ready and the apiserver answering. */
  async ready(): Promise<Result> {
    await this.pass();
    this.rollOut();
    const res = await this.pass();
    expect(cond(this.tcp, 'Ready')).to.equal('True/Ready');
    return res;
  }

  addDataStore(name: string, driver: 'etcd' | 'MySQL' = 'etcd'): void {
    const ds = dataStore(name, fixture.dataStoreCAs[name] ?? this.ca('etcd-b'));
    this.env.api.seed({ ...ds, spec: { ...ds.spec, driver } });
  }

  close(): Promise<void> {
    return this.env.close();
  }
}

async function prepareFixture(): Promise<Fixture> {
  const [a, b, tenant] = await Promise.all([dataStoreCA(), dataStoreCA(), tenantCA()]);
  fixture = { apiserver: await TenantAPIServer.start(tenant.ca), tenantCA: tenant.data, dataStoreCAs: { 'etcd-a': a, 'etcd-b': b }, secrets: [] };
  const first = new Tenant({ freshCredentials: true });
  await first.pass();
  const issued = await first.env.client.list<KubeObject>(SECRET_TYPE, { namespace: NS });
  await first.close();
  return { ...fixture, secrets: issued.filter((s) => s.metadata.name !== 'acme-ca') };
}

describe('controllers/tenantcontrolplane TenantControlPlaneReconciler', () => {
  let t: Tenant;
  before(async () => {
    fixture = await prepareFixture();
  });
  after(async () => {
    await fixture.apiserver.close();
  });
  afterEach(async () => {
    await t.close();
  });

  describe('the normal path', () => {
    it('sets up endpoint, certificates, etcd user and Deployment, then waits for the pods without touching the tenant', async () => {
      t = new Tenant({ freshCredentials: true });
      const res = await t.pass();

      expect(res).to.deep.equal(UNTIL_RENEWAL); // the Deployment watch reports the pods
      expect(t.tcp.metadata.finalizers).to.deep.equal([TCP_FINALIZER]);
      expect(t.tcp.status?.controlPlaneEndpoint).to.equal(`127.0.0.1:${t.apiserver.port}`);
      expect(t.tcp.status?.storage).to.deep.include({ dataStoreName: 'etcd-a', driver: 'etcd' });
      expect(t.tcp.status?.storage?.setup).to.deep.include(USER);
      expect(t.env.pool.etcd('etcd-a').hasTenant(USER)).to.equal(true);
      for (const [type, want] of [
        [CONDITIONS.dataStore, 'True/DataStoreFound'],
        [CONDITIONS.endpoint, 'True/EndpointAvailable'],
        [CONDITIONS.certificates, 'True/CertificatesIssued'],
        [CONDITIONS.storage, 'True/DataStoreSetupDone'],
        [CONDITIONS.deployment, 'False/WaitingForPods'],
        [CONDITIONS.apiServer, 'absent'],
        ['Ready', 'False/WaitingForPods'],
      ] as const) {
        expect(cond(t.tcp, type), type).to.equal(want);
      }
      expect(versionOf(t.tcp)).to.deep.equal({ status: 'Provisioning' });

      const deployment = (t.env.get(DEPLOYMENT_TYPE, NS, 'acme') as Deployment | undefined);
      expect(deployment?.metadata.ownerReferences?.[0]).to.include({ kind: 'TenantControlPlane', name: 'acme', uid: t.tcp.metadata.uid, controller: true });
      const args = deployment?.spec?.template.spec?.containers.find((c) => c.name === 'kube-apiserver')?.args ?? [];
      expect(args).to.include.members(['--etcd-servers=https://etcd-a.etcd.invalid:2379', `--etcd-prefix=${PREFIX}`]);
      expect(t.env.get(SECRET_TYPE, NS, 'acme-admin-kubeconfig')?.metadata.ownerReferences?.[0]).to.include({ uid: t.tcp.metadata.uid, controller: true });
      expect(t.env.tenant.connects).to.equal(0);
      expect(t.apiserver.requests).to.deep.equal([]);
      expect(t.env.eventReasons()).to.include.members(['SecretCreated', 'DataStoreSetupDone']);
    });

    it('once the pods are ready and /readyz answers, applies the tenant objects and reports Ready with the version', async () => {
      t = new Tenant();
      const res = await t.ready();

      for (const type of [...Object.values(CONDITIONS), 'Ready']) expect(cond(t.tcp, type), type).to.match(/^True\//);
      expect(cond(t.tcp, CONDITIONS.apiServer)).to.equal('True/APIServerReady');
      expect(getCondition(t.tcp, CONDITIONS.apiServer)?.message).to.include('v1.37.2');
      expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.37.2', status: 'Ready' });
      expect(t.apiserver.requests).to.deep.equal(['/readyz', '/version']);
      // kubeadm's objects are in the tenant; with nothing blocked, no write-permissions policy is.
      expect(t.env.tenant.api.peek('v1', 'ConfigMap', 'kube-system/kubeadm-config')).to.not.equal(undefined);
      expect(t.env.tenant.createRefusal()).to.equal(undefined);
      expect(t.tcp.status?.kubernetesResources?.deployment).to.deep.include({ readyReplicas: 1, updatedReplicas: 1 });
      expect(res).to.deep.equal({ requeueAfter: 5 * 60_000 }); // a Ready tenant is looked at again now and then
    });

    it('writes nothing in a steady pass: not to the management cluster, not to the tenant, not to etcd', async () => {
      t = new Tenant();
      await t.ready();
      const writes = t.env.api.writes().length;
      const tenantWrites = t.env.tenant.api.writes().length;
      const etcdCalls = t.env.pool.etcd('etcd-a').calls.length;

      await t.pass();

      expect(t.env.api.writes().slice(writes)).to.deep.equal([]);
      expect(t.env.tenant.api.writes().slice(tenantWrites)).to.deep.equal([]);
      expect(t.env.pool.etcd('etcd-a').calls.slice(etcdCalls)).to.deep.equal([`tenantIntact ${USER.user}`]);
      expect(cond(t.tcp, 'Ready')).to.equal('True/Ready');
    });

    it('reads WriteLimited instead of Ready, and the tenant refuses the blocked writes, when spec.writePermissions blocks some', async () => {
      t = new Tenant({ patch: (tcp) => (tcp.spec.writePermissions = { blockCreation: true }) });
      await t.ready();
      expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.37.2', status: 'WriteLimited' });
      expect(t.env.tenant.createRefusal()).to.include('spec.writePermissions.blockCreation');
      expect(t.env.eventReasons()).to.include('WritesBlocked');
    });

    it('serves a tenant with no spec.dataStore from the operator default DataStore and records it', async () => {
      t = new Tenant({ deps: { defaultDataStore: 'etcd-a' }, patch: (tcp) => delete tcp.spec.dataStore });
      await t.pass();
      expect(cond(t.tcp, CONDITIONS.dataStore)).to.equal('True/DataStoreFound');
      expect(t.tcp.status?.storage?.dataStoreName).to.equal('etcd-a');
      expect(t.env.pool.etcd('etcd-a').hasTenant(USER)).to.equal(true);
    });

    it('recreates an etcd user deleted by hand and says so with a warning', async () => {
      t = new Tenant();
      await t.ready();
      t.env.pool.etcd('etcd-a').users.delete(USER.user);

      await t.pass();

      expect(t.env.pool.etcd('etcd-a').hasTenant(USER)).to.equal(true);
      expect(t.env.eventReasons('Warning')).to.deep.equal(['DataStoreSetupRepaired']);
      expect(cond(t.tcp, CONDITIONS.storage)).to.equal('True/DataStoreSetupDone');
    });
  });

  describe('waiting and failing: the step, its reason and Ready False', () => {
    const cases: {
      name: string;
      create?: CreateOptions;
      arrange?: (t: Tenant) => void | Promise<void>;
      /** Run one pass and roll the pods out first, to reach the steps after the Deployment. */
      podsReady?: boolean;
      condition: string;
      reason: string;
      result: Result;
      version?: { version?: string; status: string };
      warning?: string;
    }[] = [
      {
        name: 'no DataStore named and no operator default',
        create: { patch: (tcp) => delete tcp.spec.dataStore },
        condition: CONDITIONS.dataStore,
        reason: 'NoDataStore',
        result: {},
      },
      {
        name: 'the DataStore does not exist (its watch brings the tenant back)',
        create: { patch: (tcp) => (tcp.spec.dataStore = 'etcd-missing') },
        condition: CONDITIONS.dataStore,
        reason: 'DataStoreNotFound',
        result: {},
      },
      {
        name: "the DataStore's credentials Secret is missing",
        arrange: (t) => void t.env.api.seed(dataStore('etcd-a', t.ca('etcd-a'), { caSecret: { namespace: 'kamaji-system', name: 'etcd-certs' } })),
        condition: CONDITIONS.dataStore,
        reason: 'DataStoreCredentialsUnavailable',
        result: { requeueAfter: POLL_MS },
      },
      {
        name: 'the Service has no load-balancer ingress yet',
        create: { loadBalancer: false },
        condition: CONDITIONS.endpoint,
        reason: 'WaitingForLoadBalancer',
        result: {},
        version: { status: 'Provisioning' },
      },
      {
        name: 'the DataStore gives no CA key to sign the tenant etcd certificate with',
        arrange: (t) => void t.env.api.seed(dataStore('etcd-a', t.ca('etcd-a'), { withoutCAKey: true })),
        condition: CONDITIONS.certificates,
        reason: 'WaitingForDataStoreCA',
        result: {},
      },
      {
        name: 'etcd refuses to create the tenant user',
        arrange: (t) => {
          t.env.pool.etcd('etcd-a').failNext('ensureTenant', 'etcdserver: permission denied');
        },
        condition: CONDITIONS.storage,
        reason: 'DataStoreSetupFailed',
        result: { requeueAfter: POLL_MS },
        warning: 'DataStoreSetupFailed',
      },
      {
        name: 'no control plane pod is ready',
        condition: CONDITIONS.deployment,
        reason: 'WaitingForPods',
        result: UNTIL_RENEWAL,
        version: { status: 'Provisioning' },
      },
      {
        name: 'the tenant apiserver does not answer /readyz with ok',
        arrange: (t) => void (t.apiserver.ready = false),
        podsReady: true,
        condition: CONDITIONS.apiServer,
        reason: 'APIServerNotReady',
        result: { requeueAfter: POLL_MS },
        version: { status: 'Provisioning' },
      },
      {
        name: 'the tenant apiserver refuses the tenant objects',
        arrange: (t) => {
          t.env.tenant.api.failNext((req) => req.method === 'PATCH', 500);
        },
        podsReady: true,
        condition: CONDITIONS.tenant,
        reason: 'TenantResourcesFailed',
        result: { requeueAfter: POLL_MS },
        version: { version: 'v1.37.2', status: 'Ready' },
      },
      {
        name: "a Pod range overlapping the management cluster's (--management-pod-cidr): nothing deployed",
        create: {
          deps: { managementRanges: { podCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/16'] } },
          patch: (tcp) => (tcp.spec.networkProfile = { ...tcp.spec.networkProfile, podCidr: '10.244.0.0/16' }),
        },
        condition: CONDITIONS.deployment,
        reason: 'NetworkOverlapsManagement',
        result: {},
        warning: 'NetworkOverlapsManagement',
      },
    ];
    for (const tc of cases) {
      it(`${tc.name}: ${tc.condition} False/${tc.reason}`, async () => {
        t = new Tenant(tc.create);
        if (tc.podsReady) {
          await t.pass();
          t.rollOut();
        }
        await tc.arrange?.(t);

        const res = await t.pass();

        expect(cond(t.tcp, tc.condition)).to.equal(`False/${tc.reason}`);
        expect(cond(t.tcp, 'Ready')).to.equal(`False/${tc.reason}`);
        expect(t.tcp.status?.observedGeneration).to.equal(1);
        expect(res).to.deep.equal(tc.result);
        if (tc.version) expect(versionOf(t.tcp)).to.deep.equal(tc.version);
        if (tc.warning) expect(t.env.eventReasons('Warning')).to.include(tc.warning);
      });
    }
  });

  it('leaves a paused tenant alone and says so', async () => {
    t = new Tenant({ patch: (tcp) => (tcp.metadata.annotations = { [PAUSED_ANNOTATION]: '' }) });
    const res = await t.pass();

    expect(res).to.deep.equal({});
    expect(cond(t.tcp, 'Paused')).to.equal('True/Paused');
    expect(t.tcp.metadata.finalizers).to.equal(undefined);
    expect(t.env.api.writes()).to.deep.equal([]);
    expect(t.env.pool.etcd('etcd-a').calls).to.deep.equal([]);
  });

  describe('clusterctl move: the running control plane outlives the source copy', () => {
    const ownerUIDs = (type: { apiVersion: string; kind: string }) => (t.env.get(type, NS, 'acme')?.metadata.ownerReferences ?? []).map((r) => r.uid);
    const releasedLabel = (type: { apiVersion: string; kind: string }) => t.env.get(type, NS, 'acme')?.metadata.labels?.[RELEASED_LABEL];
    const pause = (value: string) => (t.tcp.metadata.annotations = { ...t.tcp.metadata.annotations, [PAUSED_ANNOTATION]: value });

    it('paused with its Cluster, releases its Deployment and Service and keeps the operator\'s kubeconfig before it reports Paused', async () => {
      t = new Tenant();
      await t.ready();
      pause(PAUSED_FOR_CLUSTER);

      expect(await t.pass()).to.deep.equal({});

      expect(cond(t.tcp, 'Paused')).to.equal('True/Paused');
      for (const type of [DEPLOYMENT_TYPE, SERVICE_TYPE]) {
        expect(ownerUIDs(type), `${type.kind} owners`).to.not.include('acme-uid');
        expect(releasedLabel(type), `${type.kind} label`).to.equal('acme-uid');
      }
      const kept = t.env.get(SECRET_TYPE, NS, 'handover-acme') as { data?: Record<string, string>; metadata: KubeObject['metadata'] } | undefined;
      const admin = t.env.get(SECRET_TYPE, NS, 'acme-admin-kubeconfig') as { data?: Record<string, string> } | undefined;
      expect(kept?.data?.['super-admin.conf']).to.be.a('string').and.equal(admin?.data?.['super-admin.conf']);
      expect(kept?.metadata.ownerReferences?.map((r) => r.uid)).to.deep.equal([t.env.get(DEPLOYMENT_TYPE, NS, 'acme')?.metadata.uid]);
      expect(t.env.eventReasons()).to.include('ControlPlaneReleased');

      const writes = t.env.api.writes().length;
      await t.pass();
      expect(t.env.api.writes().slice(writes), 'a second paused pass').to.deep.equal([]);
    });

    it('keeps them released when clusterctl, about to delete it, replaces its annotations with delete-for-move alone', async () => {
      t = new Tenant();
      await t.ready();
      pause(PAUSED_FOR_CLUSTER);
      await t.pass();
      t.tcp.metadata.annotations = { [DELETE_FOR_MOVE_ANNOTATION]: '' };
      const writes = t.env.api.writes().length;

      await t.pass();

      expect(t.env.api.writes().slice(writes), 'writes').to.deep.equal([]);
      expect(ownerUIDs(DEPLOYMENT_TYPE)).to.not.include('acme-uid');
      expect(releasedLabel(DEPLOYMENT_TYPE)).to.equal('acme-uid');
      expect(t.env.get(SECRET_TYPE, NS, 'handover-acme')).to.not.equal(undefined);
      expect(cond(t.tcp, 'Paused')).to.equal('True/Paused');
    });

    it('releases them on delete-for-move even when it never saw the pause', async () => {
      t = new Tenant();
      await t.ready();
      t.tcp.metadata.annotations = { [DELETE_FOR_MOVE_ANNOTATION]: '' };

      await t.pass();

      expect(ownerUIDs(SERVICE_TYPE)).to.not.include('acme-uid');
      expect(releasedLabel(SERVICE_TYPE)).to.equal('acme-uid');
    });

    it('leaves its children controlled on a pause someone else set (another value of the annotation)', async () => {
      t = new Tenant();
      await t.ready();
      pause('');

      await t.pass();

      expect(cond(t.tcp, 'Paused')).to.equal('True/Paused');
      expect(ownerUIDs(DEPLOYMENT_TYPE)).to.include('acme-uid');
      expect(t.env.get(SECRET_TYPE, NS, 'handover-acme')).to.equal(undefined);
    });

    it('arriving paused in a move\'s target, with nothing running there, reports Paused and writes nothing', async () => {
      t = new Tenant({ patch: (tcp) => (tcp.metadata.annotations = { [PAUSED_ANNOTATION]: PAUSED_FOR_CLUSTER }) });

      await t.pass();

      expect(cond(t.tcp, 'Paused')).to.equal('True/Paused');
      expect(t.env.api.writes()).to.deep.equal([]);
    });

    it('resumed where it was paused (no move), takes its Deployment and Service back and drops the kept kubeconfig', async () => {
      t = new Tenant();
      await t.ready();
      pause(PAUSED_FOR_CLUSTER);
      await t.pass();
      const { [PAUSED_ANNOTATION]: _resumed, ...rest } = t.tcp.metadata.annotations ?? {};
      t.tcp.metadata.annotations = rest;

      await t.pass();

      for (const type of [DEPLOYMENT_TYPE, SERVICE_TYPE]) {
        expect(ownerUIDs(type), `${type.kind} owners`).to.include('acme-uid');
        expect(releasedLabel(type), `${type.kind} label`).to.equal(undefined);
      }
      expect(t.env.get(SECRET_TYPE, NS, 'handover-acme')).to.equal(undefined);
      expect(t.env.eventReasons()).to.include('ControlPlaneTakenBack');
      expect(cond(t.tcp, 'Ready')).to.equal('True/Ready');
    });
  });

  describe('deletion', () => {
    /** A tenant set up on etcd-a, holding keys there, with an open connection to it, now being deleted. */
    async function deleting(opts: CreateOptions = {}): Promise<Tenant> {
      const tenant = new Tenant(opts);
      const etcd = tenant.env.pool.etcd('etcd-a');
      etcd.users.set(USER.user, new Set([USER.schema]));
      etcd.roles.set(USER.schema, true);
      etcd.keys.set(`${PREFIX}registry/configmaps/default/app`, 'v');
      etcd.keys.set('/tenants_other/registry/x', 'v');
      const admin = { namespace: NS, name: 'acme-admin-kubeconfig' };
      await tenant.env.tenant.access.kubeconfigSecret(admin, 'super-admin.conf');
      tenant.tcp.metadata.finalizers = [TCP_FINALIZER];
      tenant.tcp.metadata.deletionTimestamp = metaTime();
      tenant.tcp.status = {
        storage: { dataStoreName: 'etcd-a', driver: 'etcd', setup: { ...USER, checksum: 'set-up' } },
        kubeconfig: { admin: { secretName: admin.name, checksum: 'c' } },
      };
      return tenant;
    }

    const cases = [
      { name: 'removes the etcd user and the keys from its DataStore', deleteDataOnRemoval: true, keysLeft: ['/tenants_other/registry/x'] },
      { name: 'removes the etcd user and keeps the keys when told to keep data', deleteDataOnRemoval: false, keysLeft: [`${PREFIX}registry/configmaps/default/app`, '/tenants_other/registry/x'] },
    ];
    for (const tc of cases) {
      it(`${tc.name}, forgets the tenant connections and drops its finalizer`, async () => {
        t = await deleting({ deps: { deleteDataOnRemoval: tc.deleteDataOnRemoval } });
        expect(t.env.tenant.access.keys()).to.have.length(1);

        const res = await t.pass();

        expect(res).to.deep.equal({});
        const etcd = t.env.pool.etcd('etcd-a');
        expect(etcd.calls.at(-1)).to.equal(`removeTenant ${USER.user} deleteData=${String(tc.deleteDataOnRemoval)}`);
        expect(etcd.hasTenant(USER)).to.equal(false);
        expect(etcd.keysUnder('/')).to.deep.equal(tc.keysLeft);
        expect(t.tcp.metadata.finalizers).to.deep.equal([]);
        expect(t.env.tenant.access.keys()).to.deep.equal([]);
        expect(cond(t.tcp, CONDITIONS.apiServer)).to.equal('Unknown/Deleting');
        expect(t.env.eventReasons()).to.include('DataStoreCleaned');
      });
    }

    it('keeps its finalizer and retries when the DataStore refuses the cleanup', async () => {
      t = await deleting();
      t.env.pool.etcd('etcd-a').failNext('removeTenant', 'context deadline exceeded');

      const res = await t.pass();

      expect(res).to.deep.equal({ requeueAfter: POLL_MS });
      expect(t.tcp.metadata.finalizers).to.deep.equal([TCP_FINALIZER]);
      expect(cond(t.tcp, CONDITIONS.storage)).to.equal('False/DataStoreCleanupFailed');
      expect(t.env.eventReasons('Warning')).to.deep.equal(['DataStoreCleanupFailed']);
    });

    it('lets go at once when its DataStore is already gone', async () => {
      t = await deleting();
      await t.env.client.delete(DATASTORE_TYPE, { name: 'etcd-a' });
      const calls = t.env.pool.etcd('etcd-a').calls.length;

      await t.pass();

      expect(t.env.pool.etcd('etcd-a').calls.slice(calls)).to.deep.equal([]);
      expect(t.tcp.metadata.finalizers).to.deep.equal([]);
    });

    it('keeps the etcd user and keys of a tenant clusterctl move deletes from the source: it lives on in the target', async () => {
      t = await deleting();
      t.tcp.metadata.annotations = { [DELETE_FOR_MOVE_ANNOTATION]: '' };
      const etcd = t.env.pool.etcd('etcd-a');
      const calls = etcd.calls.length;

      await t.pass();

      expect(etcd.calls.slice(calls)).to.deep.equal([]);
      expect(etcd.hasTenant(USER)).to.equal(true);
      expect(etcd.keysUnder('/')).to.deep.equal([`${PREFIX}registry/configmaps/default/app`, '/tenants_other/registry/x']);
      expect(t.tcp.metadata.finalizers).to.deep.equal([]);
      expect(t.env.eventReasons()).to.not.include('DataStoreCleaned');
    });

    it('cleans both DataStores of a migration that is still running', async () => {
      t = await deleting();
      t.addDataStore('etcd-b');
      t.tcp.status = { ...t.tcp.status, storage: { ...t.tcp.status?.storage, migration: { source: 'etcd-a', target: 'etcd-b', phase: 'Copying' } } };

      await t.pass();

      expect(t.env.pool.etcd('etcd-a').calls.at(-1)).to.equal(`removeTenant ${USER.user} deleteData=true`);
      expect(t.env.pool.etcd('etcd-b').calls).to.deep.equal([`removeTenant ${USER.user} deleteData=true`]);
      expect(t.tcp.metadata.finalizers).to.deep.equal([]);
    });
  });

  describe('DataStore migration', () => {
    /** A Ready tenant on etcd-a with two keys, asked to move to etcd-b. */
    async function migrating(): Promise<Tenant> {
      const tenant = new Tenant();
      await tenant.ready();
      tenant.addDataStore('etcd-b');
      tenant.env.pool.etcd('etcd-a').keys.set(`${PREFIX}registry/configmaps/default/a`, 'A');
      tenant.env.pool.etcd('etcd-a').keys.set(`${PREFIX}registry/configmaps/default/b`, 'B');
      tenant.tcp.spec.dataStore = 'etcd-b';
      tenant.tcp.metadata.generation = 2;
      return tenant;
    }
    const phaseOf = (tcp: TCP) => tcp.status?.storage?.migration?.phase;

    it('blocks the users\' writes first and reads Migrating while they are blocked', async () => {
      t = await migrating();

      const res = await t.pass();

      expect(res).to.deep.equal({ requeueAfter: 1 });
      expect(phaseOf(t.tcp)).to.equal('Copying');
      expect(t.tcp.status?.storage?.migration).to.include({ source: 'etcd-a', target: 'etcd-b' });
      expect(t.env.tenant.createRefusal()).to.include('migrates to another DataStore');
      expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.37.2', status: 'Migrating' });
      expect(cond(t.tcp, MIGRATION_CONDITION)).to.equal('False/Copying');
      expect(t.env.eventReasons()).to.include('MigrationStarted');
      expect(t.tcp.status?.storage?.dataStoreName).to.equal('etcd-a');
    });

    it('does not copy before the tenant apiserver refuses writes (it loads the policy asynchronously)', async () => {
      t = await migrating();
      t.env.tenant.policyLoaded = false;

      const res = await t.pass();

      expect(res).to.deep.equal({ requeueAfter: 500 });
      expect(phaseOf(t.tcp)).to.equal('BlockingWrites');
      expect(cond(t.tcp, MIGRATION_CONDITION)).to.equal('False/WaitingForWriteBlock');
      expect(t.env.pool.etcd('etcd-b').keys.size).to.equal(0);
    });

    const refusals = [
      { name: 'a DataStore that does not exist', target: 'etcd-missing', reason: 'TargetDataStoreNotFound' },
      { name: 'a DataStore of another driver', target: 'mysql', driver: 'MySQL' as const, reason: 'DriverMismatch' },
    ];
    for (const tc of refusals) {
      it(`refuses a move to ${tc.name} and keeps serving the tenant from its DataStore`, async () => {
        t = new Tenant();
        await t.ready();
        if (tc.driver) t.addDataStore(tc.target, tc.driver);
        t.tcp.spec.dataStore = tc.target;

        await t.pass();

        expect(cond(t.tcp, MIGRATION_CONDITION)).to.equal(`False/${tc.reason}`);
        expect(t.env.eventReasons('Warning')).to.deep.equal([tc.reason]);
        expect(t.tcp.status?.storage?.migration).to.equal(undefined);
        expect(t.tcp.status?.storage?.dataStoreName).to.equal('etcd-a');
        expect(cond(t.tcp, 'Ready')).to.equal('True/Ready');
        expect(versionOf(t.tcp)?.status).to.equal('Ready');
      });
    }

    for (const restart of [false, true]) {
      it(
        'copies the keys and rolls the pods over to the target; the pass that sees them rolled out ends in Cleaning, not ' +
          `Migrating, while the write block applied in that pass still holds; the Cleaning pass lifts it${restart ? ' (operator restarted before it)' : ''}`,
        async () => {
          t = await migrating();
          await t.pass(); // BlockingWrites -> Copying
          await t.pass(); // Copying -> Switching
          expect(phaseOf(t.tcp)).to.equal('Switching');
          expect(t.env.pool.etcd('etcd-b').keysUnder(PREFIX)).to.deep.equal([`${PREFIX}registry/configmaps/default/a`, `${PREFIX}registry/configmaps/default/b`]);
          expect(t.tcp.status?.storage?.migration?.copiedKeys).to.equal(2);

          const waiting = await t.pass(); // the Deployment now points at etcd-b and rolls
          expect(waiting).to.deep.equal(UNTIL_RENEWAL);
          expect(phaseOf(t.tcp)).to.equal('Switching');
          const args = (t.env.get(DEPLOYMENT_TYPE, NS, 'acme') as Deployment | undefined)?.spec?.template.spec?.containers.find((c) => c.name === 'kube-apiserver')?.args;
          expect(args).to.include('--etcd-servers=https://etcd-b.etcd.invalid:2379');
          expect(versionOf(t.tcp)?.status).to.equal('Migrating');

          t.rollOut();
          if (restart) t.reconciler = t.newReconciler();
          const tenantRequests = t.env.tenant.api.requests.length;
          await t.pass(); // Switching -> Cleaning

          expect(phaseOf(t.tcp)).to.equal('Cleaning');
          expect(t.tcp.status?.storage?.dataStoreName).to.equal('etcd-b');
          expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.37.2', status: 'Ready' });
          expect(t.env.tenant.createRefusal()).to.include('migrates to another DataStore');
          // The source's etcd user is gone already (an old pod can no longer write there); its keys stay until Cleaning.
          expect(t.env.pool.etcd('etcd-a').hasTenant(USER)).to.equal(false);
          expect(t.env.pool.etcd('etcd-a').keysUnder(PREFIX)).to.have.length(2);
          if (restart) {
            const policyApplies = t.env.tenant.api.requests
              .slice(tenantRequests)
              .filter((r) => r.method === 'PATCH' && r.path.endsWith(`/validatingadmissionpolicies/${WRITE_PERMISSIONS_POLICY}`));
            expect(policyApplies, 'the write block applied in this pass').to.have.length(1);
          }

          await t.pass(); // Cleaning -> Completed

          expect(t.env.tenant.createRefusal()).to.equal(undefined);
          expect(phaseOf(t.tcp)).to.equal('Completed');
          expect(cond(t.tcp, MIGRATION_CONDITION)).to.equal('True/Completed');
          expect(versionOf(t.tcp)?.status).to.equal('Ready');
          expect(t.env.pool.etcd('etcd-a').keysUnder(PREFIX)).to.deep.equal([]);
          expect(t.env.pool.etcd('etcd-b').hasTenant(USER)).to.equal(true);
          expect(t.env.eventReasons()).to.include.members(['DataStoreCopied', 'MigrationCompleted']);
        },
      );
    }

    it('lifts the write block again when the tenant still refuses writes while Cleaning', async () => {
      t = await migrating();
      for (let i = 0; i < 3; i++) await t.pass();
      t.rollOut();
      await t.pass();
      expect(phaseOf(t.tcp)).to.equal('Cleaning');
      // The lift reached an old pod only: the tenant still refuses writes.
      t.env.tenant.stillRefusing = 'this tenant cluster is read-only while TenantControlPlane tenants/acme migrates to another DataStore';

      const res = await t.pass();

      expect(res).to.deep.equal({ requeueAfter: 1000 });
      expect(phaseOf(t.tcp)).to.equal('Cleaning');
      expect(getCondition(t.tcp, MIGRATION_CONDITION)?.message).to.include('lifting the write block again');
      t.env.tenant.stillRefusing = undefined;
      await t.pass();
      expect(phaseOf(t.tcp)).to.equal('Completed');
    });

    const failures = [
      { name: 'the copy', phase: 'Copying', dataStore: 'etcd-b', method: 'kv.DeleteRange', passes: 1, reason: 'CopyFailed' },
      { name: 'the cleanup of the source', phase: 'Cleaning', dataStore: 'etcd-a', method: 'removeTenant', passes: 4, reason: 'CleanupFailed' },
    ];
    for (const tc of failures) {
      it(`fails the pass with ${tc.reason} when ${tc.name} fails, staying in ${tc.phase} to retry`, async () => {
        t = await migrating();
        for (let i = 0; i < tc.passes; i++) {
          await t.pass();
          if (i === 2) t.rollOut();
        }
        expect(phaseOf(t.tcp)).to.equal(tc.phase);
        t.env.pool.etcd(tc.dataStore).failNext(tc.method, 'etcdserver: request timed out');

        const err = await rejection(t.pass(), `${tc.phase} pass`);

        expect(err.message).to.include('request timed out');
        expect(phaseOf(t.tcp)).to.equal(tc.phase);
        expect(cond(t.tcp, MIGRATION_CONDITION)).to.equal(`False/${tc.reason}`);
        expect(t.env.eventReasons('Warning')).to.deep.equal([tc.reason]);
      });
    }
  });

  describe('what follows the rolled-out version and what a tenant admin may remove', () => {
    const kubeProxyImage = () =>
      (t.env.tenant.api.peek('apps/v1', 'DaemonSet', 'kube-system/kube-proxy') as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec
        ?.template?.spec?.containers?.[0]?.image;
    const kubeadmVersion = () => /kubernetesVersion: (\S+)/.exec(String((t.env.tenant.api.peek('v1', 'ConfigMap', 'kube-system/kubeadm-config') as { data?: Record<string, string> } | undefined)?.data?.ClusterConfiguration))?.[1];

    it('keeps kube-proxy and kubeadm-config at the old version until every apiserver pod runs the new one', async () => {
      t = new Tenant({ patch: (tcp) => { tcp.spec.kubernetes.version = 'v1.36.0'; tcp.spec.addons = { kubeProxy: {} }; } });
      await t.ready();
      expect([kubeProxyImage(), kubeadmVersion()]).to.deep.equal(['registry.k8s.io/kube-proxy:v1.36.0', 'v1.36.0']);

      t.tcp.spec.kubernetes.version = 'v1.37.2';
      t.tcp.metadata.generation = (t.tcp.metadata.generation ?? 1) + 1;
      await t.pass(); // the Deployment takes the new template; its old pod still serves
      expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.36.0', status: 'Upgrading' });
      expect([kubeProxyImage(), kubeadmVersion()]).to.deep.equal(['registry.k8s.io/kube-proxy:v1.36.0', 'v1.36.0']);

      t.rollOut();
      await t.pass();
      expect(versionOf(t.tcp)).to.deep.equal({ version: 'v1.37.2', status: 'Ready' });
      expect([kubeProxyImage(), kubeadmVersion()]).to.deep.equal(['registry.k8s.io/kube-proxy:v1.37.2', 'v1.37.2']);
    });

    it('applies the write-permissions policy again when it was deleted inside the tenant, though the spec did not change', async () => {
      t = new Tenant({ patch: (tcp) => (tcp.spec.writePermissions = { blockCreation: true }) });
      await t.ready();
      await t.env.tenant.client.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' }, { name: WRITE_PERMISSIONS_POLICY });
      expect(t.env.tenant.createRefusal()).to.equal(undefined);

      await t.pass();

      expect(t.env.tenant.createRefusal()).to.include('spec.writePermissions.blockCreation');
      expect(t.env.eventReasons('Warning')).to.deep.equal(['WritePermissionsRestored']);
      const tenantWrites = t.env.tenant.api.writes().length;
      await t.pass();
      expect(t.env.tenant.api.writes().slice(tenantWrites), 'tenant writes once restored').to.deep.equal([]);
    });
  });
});
