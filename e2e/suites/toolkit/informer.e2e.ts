// The informer against a real apiserver in the failures it exists for: the apiserver restarting, a resource
// version compacted away (410), and a watch that goes silent. Each uses a private plane, because restarting
// and compacting would disturb other suites.
import { expect } from 'chai';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { Informer } from '../../../lib/controller/informer.js';
import { RestListWatcher } from '../../../lib/controller/list-watcher.js';
import { startPlane, type Plane } from '../../../localcloud/plane.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CONFIG_MAP, createNamespace, directClient, kubeConfigFor, type TestClient } from './support.js';
import { TcpProxy } from './tcp-proxy.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const NS = 'informer-e2e';

async function configMapInformer(
  transport: RestTransport,
  opts: { watchIdleTimeoutMs?: number; metadataOnly?: boolean } = {},
): Promise<Informer<ConfigMap>> {
  const mapping = await new RestMapper(transport).mappingFor(CONFIG_MAP);
  const { metadataOnly, ...informerOpts } = opts;
  const informer = new Informer<ConfigMap>({
    listWatcher: new RestListWatcher<ConfigMap>({ transport, mapping, namespace: NS, metadataOnly }),
    resource: 'ConfigMap.v1',
    backoff: { initialMs: 100, maxMs: 1000 },
    ...informerOpts,
  });
  informer.start();
  await informer.waitForSync();
  return informer;
}

function cm(name: string, value: string): ConfigMap {
  return { ...CONFIG_MAP, metadata: { namespace: NS, name }, data: { value } };
}

/** Waits until the informer's view equals `want` (name -> data.value), printing what it saw last. */
async function cacheShows(informer: Informer<ConfigMap>, want: Record<string, string>, what: string): Promise<void> {
  await waitFor(
    () => {
      const seen = Object.fromEntries(informer.store.list().map((o) => [o.metadata.name ?? '', o.data?.value ?? '']));
      if (JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(want).sort())) return true;
      throw new Error(`cache holds ${JSON.stringify(seen)}`);
    },
    { timeoutMs: 60_000, what },
  );
}

async function etcdRevision(plane: Plane): Promise<number> {
  const out = JSON.parse(await plane.etcdctl('endpoint', 'status', '--write-out=json')) as { Status: { header: { revision: number } } }[];
  const revision = out[0]?.Status.header.revision;
  if (revision === undefined) throw new Error('etcdctl endpoint status: no revision');
  return revision;
}

describe('toolkit: informer against a real apiserver', function () {
  this.timeout(5 * 60_000);
  let plane: Plane;
  let api: TestClient;
  let client: Client;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async function () {
    this.timeout(20 * 60_000); // the first run may build the upstream binaries
    plane = await startPlane({ controllerManager: false });
    api = await directClient(plane);
    client = api.client;
    await createNamespace(client, NS);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const names = (await client.list<ConfigMap>(CONFIG_MAP, { namespace: NS })).map((o) => o.metadata.name ?? '');
    for (const name of names.filter((n) => n !== 'kube-root-ca.crt')) await client.delete(CONFIG_MAP, { namespace: NS, name });
  });
  after(async () => {
    api.transport.close();
    await plane.stop();
  });

  it('keeps serving reads while the apiserver restarts and catches up with what changed afterwards', async () => {
    // kube-root-ca.crt is published by kube-controller-manager, which this plane does not run.
    await client.create(cm('one', '1'));
    await client.create(cm('two', '2'));
    const transport = await RestTransport.fromKubeConfig(kubeConfigFor(plane));
    const informer = await configMapInformer(transport);
    cleanups.push(() => informer.stop(), () => { transport.close(); });
    await cacheShows(informer, { one: '1', two: '2' }, 'the initial list');

    const restarted = plane.restartApiServer();
    await waitFor(() => (informer.stats.watchEnds.error + informer.stats.watchEnds.closed > 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the informer to notice its watch ended',
    });
    // The apiserver is down or starting: reads still come from the cache.
    expect(informer.hasSynced()).to.be.true;
    expect(informer.store.get(`${NS}/one`)?.data?.value).to.equal('1');
    await restarted;

    await client.create(cm('three', '3'));
    await client.mergePatch(CONFIG_MAP, { namespace: NS, name: 'one' }, { data: { value: 'changed' } });
    await client.delete(CONFIG_MAP, { namespace: NS, name: 'two' });
    await cacheShows(informer, { one: 'changed', three: '3' }, 'the informer to catch up after the restart');
    expect(informer.stats.watchStarts).to.be.greaterThan(1);
  });

  it('relists after 410 Gone when its resourceVersion was compacted away while it was disconnected', async () => {
    await client.create(cm('kept', 'old'));
    await client.create(cm('removed', 'x'));
    const proxy = await TcpProxy.start(plane.server);
    const transport = await RestTransport.fromKubeConfig(kubeConfigFor(plane, proxy.url));
    const informer = await configMapInformer(transport);
    cleanups.push(() => proxy.close(), () => informer.stop(), () => { transport.close(); });
    const deleted: string[] = [];
    informer.addEventHandler({ onDelete: (o) => deleted.push(o.metadata.name ?? '') });
    await cacheShows(informer, { kept: 'old', removed: 'x' }, 'the initial list');
    const versionBefore = informer.stats.resourceVersion;

    proxy.cut();
    await client.mergePatch(CONFIG_MAP, { namespace: NS, name: 'kept' }, { data: { value: 'new' } });
    await client.delete(CONFIG_MAP, { namespace: NS, name: 'removed' });
    await client.create(cm('added', 'y'));
    const revision = await etcdRevision(plane);
    await plane.etcdctl('compact', String(revision));
    // A fresh apiserver has no watch cache reaching back to our version, so the watch must hit the compaction.
    await plane.restartApiServer();
    expect(Number(versionBefore)).to.be.below(revision);
    proxy.open();

    await cacheShows(informer, { kept: 'new', added: 'y' }, 'the relist to bring the cache up to date');
    expect(informer.stats.relistsAfterGone).to.be.at.least(1);
    expect(informer.stats.lists).to.be.at.least(2);
    expect(deleted).to.deep.equal(['removed']);
  });

  it('replaces a watch that went silent and receives the events that were stuck in it', async () => {
    const proxy = await TcpProxy.start(plane.server);
    const transport = await RestTransport.fromKubeConfig(kubeConfigFor(plane, proxy.url));
    const informer = await configMapInformer(transport, { watchIdleTimeoutMs: 4000 });
    cleanups.push(() => proxy.close(), () => informer.stop(), () => { transport.close(); });
    // An event just before the stall proves the watch is live, so the stall begins inside an open watch.
    await client.create(cm('before-stall', 'a'));
    await cacheShows(informer, { 'before-stall': 'a' }, 'the live watch to deliver an event');

    proxy.blackhole();
    const firedBefore = informer.stats.watchEnds.watchdog;
    await client.create(cm('during-stall', 'z'));
    await waitFor(() => (informer.stats.watchEnds.watchdog > firedBefore ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the watchdog to tear down the silent watch',
    });
    expect(informer.store.get(`${NS}/during-stall`), 'the event cannot have passed the blackhole').to.equal(undefined);
    proxy.open();
    await cacheShows(informer, { 'before-stall': 'a', 'during-stall': 'z' }, 'the reconnected watch to deliver the stuck event');
  });

  it('caches only metadata when asked, from both the list and the watch', async () => {
    await client.create(cm('listed', 'big'));
    const transport = await RestTransport.fromKubeConfig(kubeConfigFor(plane));
    const informer = await configMapInformer(transport, { metadataOnly: true });
    cleanups.push(() => informer.stop(), () => { transport.close(); });
    await client.create({ ...cm('watched', 'big'), metadata: { namespace: NS, name: 'watched', labels: { seen: 'yes' } } });
    await waitFor(() => informer.store.get(`${NS}/watched`), { timeoutMs: 30_000, what: 'the watched object' });
    for (const name of ['listed', 'watched']) {
      const obj = informer.store.get(`${NS}/${name}`) as ConfigMap & { kind?: string };
      expect(obj.kind, name).to.equal('PartialObjectMetadata');
      expect(obj.data, name).to.equal(undefined);
      expect(obj.metadata.resourceVersion, name).to.be.a('string');
    }
    expect(informer.store.get(`${NS}/watched`)?.metadata.labels).to.deep.equal({ seen: 'yes' });
  });
});
