// A DataStore migration on real etcds and a real tenant apiserver: a TenantControlPlane on etcd A with a
// Namespace and ConfigMaps of its users is moved to etcd B by changing spec.dataStore. The test watches the
// status go Migrating then Ready, tries a user's write while Migrating (refused with the migration message), then
// checks what a user and an etcd operator would: every object readable and writable again through the same
// endpoint, the tenant's keys under its prefix in B and gone from A, its etcd user gone from A, and the DataStores'
// usedBy lists following the tenant.
import { expect } from 'chai';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { Client } from '../../../lib/kube/client.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import type { TenantControlPlane } from '../../../providers/controlplane/api/index.js';
import { WRITE_PERMISSIONS_POLICY } from '../../../providers/controlplane/tenant/write-permissions.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { installControlPlaneProvider } from '../../../localcloud/install-controlplane.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';

const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const DATASTORE = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'DataStore' };
const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const VERSION = upstreamVersion('KUBERNETES_VERSION');
const NAME = 'mover';
const CONFIGMAPS = 20;

interface Secret extends KubeObject {
  data?: Record<string, string>;
}
interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
type DataStoreObject = KubeObject & { status?: { usedBy?: string[] } };

function describeTCP(t: TenantControlPlane | undefined): string {
  if (!t) return 'not found';
  const conditions = (t.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`).join('; ');
  return `version=${JSON.stringify(t.status?.kubernetesResources?.version)} storage=${JSON.stringify({ ...t.status?.storage, setup: undefined })} ${conditions}`;
}

describe('TenantControlPlane DataStore migration', function () {
  this.timeout(10 * 60_000);
  let etcdA: SharedEtcd | undefined;
  let etcdB: SharedEtcd | undefined;
  // Declared before the cluster's teardown, so it runs first (mocha runs after hooks in declaration order): the
  // etcds go with their namespaces and files while the cluster still answers.
  after(async function () {
    for (const etcd of [etcdA, etcdB]) await etcd?.stop();
  });
  const suite = clusterSuite();
  let namespace: string;
  const transports: RestTransport[] = [];
  /** admin.conf: the identity users get, which the write block refuses; super-admin.conf: the operator's. */
  let user: Client | undefined;
  let superAdmin: Client | undefined;
  const suiteStart = Date.now();

  const get = () => suite.client.get<TenantControlPlane & KubeObject>(TCP, { namespace, name: NAME }, { direct: true });
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} did not start (see the before hook and the first test)`);
    return v;
  };
  const usedBy = async (name: string) => (await suite.client.get<DataStoreObject>(DATASTORE, { name }, { direct: true }))?.status?.usedBy ?? [];
  const clientFor = async (conf: string, what: string): Promise<Client> => {
    const transport = await RestTransport.fromKubeConfig(kubeConfigFromString(conf, what));
    transports.push(transport);
    return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
  };
  const keysUnder = async (etcd: SharedEtcd, prefix: string) =>
    (await etcd.etcdctl(etcd.root, 'get', prefix, '--prefix', '--keys-only')).split('\n').filter((l) => l.trim() !== '');

  before(async function () {
    this.timeout(5 * 60_000);
    etcdA = await startSharedEtcd(suite.client, 'etcd-a');
    etcdB = await startSharedEtcd(suite.client, 'etcd-b');
    await installControlPlaneProvider(suite.cluster, suite.client);
    await createReadyDataStore(suite.client, 'store-a', etcdA);
    await createReadyDataStore(suite.client, 'store-b', etcdB);
    namespace = await createNamespace(suite.client, 'tenants');
  });

  after(function () {
    for (const t of transports) t.close();
    // The cluster (with the tenant and its pods) goes with the suite's cluster teardown.
    console.log(`    suite took ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
  });

  it('runs a tenant on DataStore store-a with a Namespace and ConfigMaps of its users', async () => {
    await suite.client.create({
      apiVersion: 'kamaji.clastix.io/v1alpha1',
      kind: 'TenantControlPlane',
      metadata: { name: NAME, namespace },
      spec: {
        dataStore: 'store-a',
        controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
        kubernetes: { version: VERSION, kubelet: {} },
        networkProfile: { port: 6443 },
        addons: { coreDNS: {} },
      },
    } as KubeObject);
    const tcp = await waitFor(
      async () => {
        const t = await get();
        if (t?.status?.kubernetesResources?.version?.status !== 'Ready') throw new Error(describeTCP(t));
        return t;
      },
      { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${NAME} to be Ready` },
    );
    expect(tcp.status?.storage?.dataStoreName).to.equal('store-a');
    const kubeconfigs = (await suite.client.get<Secret>(SECRET_TYPE, { namespace, name: tcp.status?.kubeconfig?.admin?.secretName ?? '' }, { direct: true }))?.data ?? {};
    const text = (k: string) => Buffer.from(kubeconfigs[k] ?? '', 'base64').toString();
    user = await clientFor(text('admin.conf'), 'admin.conf');
    superAdmin = await clientFor(text('super-admin.conf'), 'super-admin.conf');
    await user.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    for (let i = 0; i < CONFIGMAPS; i++) {
      await user.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'shop' }, data: { index: String(i) } });
    }
    expect(await usedBy('store-a')).to.deep.equal([`${namespace}/${NAME}`]);
    expect(await usedBy('store-b')).to.deep.equal([]);
  });

  it('moves the tenant to store-b: Migrating (user writes refused) then Ready, every object still there', async () => {
    const reader = need(superAdmin, 'the tenant');
    const writer = need(user, 'the tenant');
    const schema = (await get())?.status?.storage?.setup?.schema ?? '';
    const started = Date.now();
    await suite.client.mergePatch(TCP, { namespace, name: NAME }, { spec: { dataStore: 'store-b' } });
    const seen: string[] = [];
    const refusals: string[] = [];
    let attempts = 0;
    let migratingAt = 0;
    const done = await waitFor(
      async () => {
        const t = await get();
        const status = t?.status?.kubernetesResources?.version?.status ?? '';
        const phase = t?.status?.storage?.migration?.phase ?? '';
        if (seen[seen.length - 1] !== `${status}/${phase}`) seen.push(`${status}/${phase}`);
        if (status === 'Migrating') {
          migratingAt ||= Date.now();
          // A user's write while the status says Migrating. Once the write block is loaded it must be refused;
          // before that (phase BlockingWrites) it may still pass, which is what the operator's probe waits out.
          if (phase !== 'BlockingWrites') {
            attempts++;
            await writer
              .create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `during-${attempts}`, namespace: 'shop' } })
              .then(
                () => refusals.push(`accepted during ${phase}`),
                (err: unknown) => refusals.push((err as Error).message),
              );
          }
        }
        if (status !== 'Ready' || phase !== 'Completed') throw new Error(`${describeTCP(t)}; seen ${seen.join(' -> ')}`);
        return t;
      },
      { timeoutMs: 4 * 60_000, intervalMs: 250, what: `TenantControlPlane ${NAME} to finish its migration` },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`    migration took ${seconds.toFixed(1)} s (Migrating seen after ${((migratingAt - started) / 1000).toFixed(1)} s); statuses: ${seen.join(' -> ')}`);
    console.log(`    ${attempts} user writes tried while Migrating; copied keys: ${String(done.status?.storage?.migration?.copiedKeys)}`);
    expect(seen.some((s) => s.startsWith('Migrating/')), 'status Migrating observed').to.equal(true);
    expect(attempts, 'a write tried while Migrating, past BlockingWrites').to.be.greaterThan(0);
    for (const r of refusals) expect(r).to.match(/read-only while TenantControlPlane .* migrates to another DataStore/);
    expect(done.status?.storage?.dataStoreName).to.equal('store-b');
    expect(done.status?.storage?.migration).to.include({ source: 'store-a', target: 'store-b', phase: 'Completed' });
    expect(done.status?.conditions?.find((c) => c.type === 'DataStoreMigrated')).to.include({ status: 'True', reason: 'Completed' });

    // Everything the users wrote before is there, served from store-b; nothing written during the block exists.
    await waitFor(
      async () => {
        const cms = await reader.list<ConfigMap>(CONFIGMAP, { namespace: 'shop', direct: true });
        const names = cms.map((c) => c.metadata.name ?? '').filter((n) => n.startsWith('cm-') || n.startsWith('during-'));
        if (names.length !== CONFIGMAPS || names.some((n) => n.startsWith('during-'))) throw new Error(`ConfigMaps in shop: ${names.join(', ')}`);
        return true;
      },
      { timeoutMs: 60_000, what: 'the tenant to serve every ConfigMap of shop after the move' },
    );
    expect((await reader.get<ConfigMap>(CONFIGMAP, { namespace: 'shop', name: `cm-${CONFIGMAPS - 1}` }, { direct: true }))?.data).to.deep.equal({ index: String(CONFIGMAPS - 1) });
    expect(await reader.get({ apiVersion: 'v1', kind: 'Namespace' }, { name: 'shop' }, { direct: true })).to.not.equal(undefined);
    // Users may write again.
    await waitFor(
      async () => {
        try {
          await writer.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after', namespace: 'shop' } });
          return true;
        } catch (err) {
          const policy = await reader.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' }, { name: WRITE_PERMISSIONS_POLICY }, { direct: true });
          throw new Error(`${(err as Error).message} (write-permissions policy ${policy ? 'present' : 'absent'})`, { cause: err });
        }
      },
      { timeoutMs: 30_000, what: 'a user write to be accepted after the migration' },
    );

    // The keys live in store-b under the tenant prefix and are gone from store-a, with the tenant's etcd user.
    const a = need(etcdA, 'etcd A');
    const b = need(etcdB, 'etcd B');
    const prefix = `/${schema}/`;
    const inB = await keysUnder(b, prefix);
    expect(inB).to.include(`${prefix}configmaps/shop/cm-0`);
    expect(inB).to.include(`${prefix}configmaps/shop/after`);
    expect(inB.every((k) => k.startsWith(prefix))).to.equal(true);
    expect(await keysUnder(a, prefix)).to.deep.equal([]);
    const etcdUser = done.status?.storage?.setup?.user ?? '';
    expect((await a.etcdctl(a.root, 'user', 'list')).split('\n')).to.not.include(etcdUser);
    expect((await b.etcdctl(b.root, 'user', 'list')).split('\n')).to.include(etcdUser);
    console.log(`    ${inB.length} keys under ${prefix} in store-b after the move`);

    await waitFor(
      async () => {
        const [ua, ub] = [await usedBy('store-a'), await usedBy('store-b')];
        if (ua.length !== 0 || ub.join() !== `${namespace}/${NAME}`) throw new Error(`usedBy store-a=${ua.join()} store-b=${ub.join()}`);
        return true;
      },
      { timeoutMs: 30_000, what: 'usedBy to follow the tenant to store-b' },
    );
    const events = await suite.client.list<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event' },
      { namespace, direct: true },
    );
    const mine = events.filter((e) => e.regarding?.name === NAME);
    for (const reason of ['MigrationStarted', 'DataStoreCopied', 'MigrationCompleted']) expect(mine.some((e) => e.reason === reason), `a ${reason} Event`).to.equal(true);
    console.log(`    ${mine.find((e) => e.reason === 'DataStoreCopied')?.note ?? ''}`);
  });
});
