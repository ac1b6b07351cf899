import { expect } from 'chai';
import { getCondition, type ObjectWithConditions } from '../../../lib/controller/conditions.js';
import { metaTime } from '../../../lib/kube/meta-time.js';
import { DATASTORE_REGISTRY_NAME, DATASTORE_REGISTRY_NAMESPACE, type DataStore, type TenantControlPlane } from '../api/index.js';
import { ControlPlaneEnv, dataStore, dataStoreCA, tenantControlPlane } from './reconcile-env.testdata.js';
import { DATASTORE_FINALIZER, DataStoreReconciler, dataStoresToRecount } from './datastore.js';

type DS = DataStore & { metadata: object };

const cond = (obj: ObjectWithConditions, type: string): string => {
  const c = getCondition(obj, type);
  return c ? `${c.status}/${c.reason}` : 'absent';
};

const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const HEALTH_CHECK_MS = 60_000;

/** A TenantControlPlane `name` in "tenants" with spec.dataStore and status.storage as given. */
function tenant(name: string, dataStoreName: string | undefined, storage?: NonNullable<TenantControlPlane['status']>['storage']): TenantControlPlane & { metadata: object } {
  return tenantControlPlane(6443, (t) => {
    t.metadata.name = name;
    if (dataStoreName === undefined) delete t.spec.dataStore;
    else t.spec.dataStore = dataStoreName;
    if (storage) t.status = { storage };
  });
}

describe('controllers/datastore DataStoreReconciler', () => {
  let env: ControlPlaneEnv;
  let ca: { certPem: string; keyPem: string };
  before(async () => {
    ca = await dataStoreCA();
  });
  beforeEach(() => {
    env = new ControlPlaneEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  const reconciler = (defaultDataStore?: string) => new DataStoreReconciler({ client: env.client, pool: env.pool, log: env.log, defaultDataStore, healthCheckMs: HEALTH_CHECK_MS });
  const registry = () => env.get(CONFIGMAP, DATASTORE_REGISTRY_NAMESPACE, DATASTORE_REGISTRY_NAME)?.data;

  it('registers a reachable DataStore for admission, holds it with a finalizer and reports it Ready, checking again later', async () => {
    const ds: DS = env.api.seed(dataStore('etcd-a', ca));

    const res = await reconciler().reconcile(ds, env.ctx('etcd-a'));

    expect(res).to.deep.equal({ requeueAfter: HEALTH_CHECK_MS });
    expect(ds.metadata.finalizers).to.deep.equal([DATASTORE_FINALIZER]);
    expect(registry()).to.deep.equal({ 'etcd-a': 'etcd' });
    expect([cond(ds, 'Connected'), cond(ds, 'AuthEnabled'), cond(ds, 'Ready')]).to.deep.equal(['True/Connected', 'True/AuthEnabled', 'True/Ready']);
    expect(ds.status).to.deep.include({ ready: true, observedGeneration: 1 });
    expect(ds.status?.usedBy ?? []).to.deep.equal([]);
    expect(env.pool.credentials.get('etcd-a')?.endpoints).to.deep.equal(['etcd-a.etcd.invalid:2379']);
  });

  it('adds itself to a registry other DataStores are in, and writes nothing when nothing changed', async () => {
    env.api.seed({ ...CONFIGMAP, metadata: { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME }, data: { other: 'etcd' } });
    const ds: DS = env.api.seed(dataStore('etcd-a', ca));
    const r = reconciler();

    await r.reconcile(ds, env.ctx('etcd-a'));
    expect(registry()).to.deep.equal({ other: 'etcd', 'etcd-a': 'etcd' });
    const writes = env.api.writes().length;
    await r.reconcile(ds, env.ctx('etcd-a'));

    expect(env.api.writes().slice(writes)).to.deep.equal([]);
  });

  it('warns once that tenants are not isolated when etcd auth is off, and stays Ready', async () => {
    env.pool.etcd('etcd-a').authEnabled = false;
    const ds: DS = env.api.seed(dataStore('etcd-a', ca));
    const r = reconciler();

    await r.reconcile(ds, env.ctx('etcd-a'));
    await r.reconcile(ds, env.ctx('etcd-a'));

    expect(cond(ds, 'AuthEnabled')).to.equal('False/AuthDisabled');
    expect(cond(ds, 'Ready')).to.equal('True/Ready');
    expect(env.eventReasons('Warning')).to.deep.equal(['AuthDisabled']);
  });

  const failures: { name: string; arrange?: () => void; ds?: () => DataStore; message: string }[] = [
    { name: 'etcd cannot be reached', arrange: () => {
        env.pool.etcd('etcd-a').failNext('authEnabled', 'connection refused');
      }, message: 'connection refused' },
    { name: 'its credentials Secret is missing', ds: () => dataStore('etcd-a', ca, { caSecret: { namespace: 'kamaji-system', name: 'etcd-certs' } }), message: 'Secret kamaji-system/etcd-certs not found' },
  ];
  for (const tc of failures) {
    it(`reports ConnectionFailed and Ready False, with a warning, when ${tc.name}`, async () => {
      tc.arrange?.();
      const ds: DS = env.api.seed(tc.ds?.() ?? dataStore('etcd-a', ca));

      const res = await reconciler().reconcile(ds, env.ctx('etcd-a'));

      expect(res).to.deep.equal({ requeueAfter: HEALTH_CHECK_MS });
      expect(cond(ds, 'Connected')).to.equal('False/ConnectionFailed');
      expect(getCondition(ds, 'Connected')?.message).to.include(tc.message);
      expect(cond(ds, 'Ready')).to.equal('False/ConnectionFailed');
      expect(ds.status?.ready).to.equal(false);
      expect(env.eventReasons('Warning')).to.deep.equal(['ConnectionFailed']);
      expect(registry()).to.deep.equal({ 'etcd-a': 'etcd' }); // a DataStore down for a while is still a valid reference
    });
  }

  it('lists the tenants using it, a migrating tenant on both ends and a tenant on the operator default', async () => {
    env.api.seed(tenant('on-a', 'etcd-a'));
    env.api.seed(tenant('on-b', 'etcd-b'));
    env.api.seed(tenant('defaulted', undefined));
    env.api.seed(tenant('moving', 'etcd-b', { dataStoreName: 'etcd-a', migration: { source: 'etcd-a', target: 'etcd-b', phase: 'Copying' } }));
    env.api.seed(tenant('moved', 'etcd-b', { dataStoreName: 'etcd-b', migration: { source: 'etcd-a', target: 'etcd-b', phase: 'Completed' } }));
    const a: DS = env.api.seed(dataStore('etcd-a', ca));
    const b: DS = env.api.seed(dataStore('etcd-b', ca));

    await reconciler('etcd-a').reconcile(a, env.ctx('etcd-a'));
    await reconciler('etcd-a').reconcile(b, env.ctx('etcd-b'));

    expect(a.status?.usedBy).to.deep.equal(['tenants/defaulted', 'tenants/moving', 'tenants/on-a']);
    expect(b.status?.usedBy).to.deep.equal(['tenants/moved', 'tenants/moving', 'tenants/on-b']);
  });

  describe('deletion', () => {
    function deleting(): DS {
      const ds: DS = env.api.seed({ ...dataStore('etcd-a', ca), metadata: { name: 'etcd-a', finalizers: [DATASTORE_FINALIZER] } });
      ds.metadata.deletionTimestamp = metaTime();
      env.api.seed({ ...CONFIGMAP, metadata: { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME }, data: { 'etcd-a': 'etcd', other: 'etcd' } });
      return ds;
    }

    it('waits, keeping its finalizer and registry entry, while a tenant still uses it', async () => {
      env.api.seed(tenant('on-a', 'etcd-a'));
      const ds = deleting();

      const res = await reconciler().reconcile(ds, env.ctx('etcd-a'));

      expect(res.requeueAfter).to.equal(HEALTH_CHECK_MS);
      expect(ds.metadata.finalizers).to.deep.equal([DATASTORE_FINALIZER]);
      expect(ds.status?.usedBy).to.deep.equal(['tenants/on-a']);
      expect(registry()).to.deep.equal({ 'etcd-a': 'etcd', other: 'etcd' });
      expect(env.pool.forgotten).to.deep.equal([]);
    });

    it('once unused, leaves the registry, closes its connection and drops its finalizer', async () => {
      const ds = deleting();

      const res = await reconciler().reconcile(ds, env.ctx('etcd-a'));

      expect(res).to.deep.equal({});
      expect(ds.metadata.finalizers).to.deep.equal([]);
      expect(registry()).to.deep.equal({ other: 'etcd' });
      expect(env.pool.forgotten).to.deep.equal(['etcd-a']);
    });
  });
});

describe('controllers/datastore dataStoresToRecount', () => {
  const cases: { name: string; tcp: TenantControlPlane; want: string[] }[] = [
    { name: 'the DataStore of a settled tenant', tcp: tenant('t', 'etcd-a', { dataStoreName: 'etcd-a' }), want: ['etcd-a'] },
    { name: 'the operator default for a tenant naming none', tcp: tenant('t', undefined), want: ['default'] },
    { name: 'both ends of a running migration', tcp: tenant('t', 'etcd-b', { dataStoreName: 'etcd-a', migration: { source: 'etcd-a', target: 'etcd-b', phase: 'Switching' } }), want: ['etcd-a', 'etcd-b'] },
    {
      name: 'both ends of a completed migration, whose update takes the tenant off the source',
      tcp: tenant('t', 'etcd-b', { dataStoreName: 'etcd-b', migration: { source: 'etcd-a', target: 'etcd-b', phase: 'Completed' } }),
      want: ['etcd-a', 'etcd-b'],
    },
  ];
  for (const tc of cases) it(`recounts ${tc.name}`, () => expect(dataStoresToRecount(tc.tcp, 'default')).to.deep.equal(tc.want));
});
