import { expect } from 'chai';
import { SECRET_TYPE } from '../apis/core.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import type { KubeObject } from '../kube/object.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { FakeListWatcher } from '../testing/fake-list-watcher.js';
import { InformerCache } from './informer-cache.js';
import { labelIndexName, byLabel, OWNER_UID_INDEX } from './indexers.js';

const CM = { apiVersion: 'v1', kind: 'ConfigMap' };

function cm(namespace: string, name: string, labels: Record<string, string> = {}, owner?: string): KubeObject {
  return {
    ...CM,
    metadata: { namespace, name, labels, ...(owner ? { ownerReferences: [{ apiVersion: 'x/v1', kind: 'X', name: 'o', uid: owner }] } : {}) },
  };
}

describe('lib/controller/informer-cache', () => {
  let watchers: Map<string, FakeListWatcher<KubeObject>>;
  let cache: InformerCache;

  beforeEach(() => {
    watchers = new Map([
      ['ConfigMap', new FakeListWatcher<KubeObject>()],
      ['Secret', new FakeListWatcher<KubeObject>()],
    ]);
    const api = new FakeApiServer();
    cache = new InformerCache({
      transport: api,
      mapper: new RestMapper(api),
      readSyncTimeoutMs: 50,
      listWatcherFactory: (type) => Promise.resolve(watchers.get(type.kind) ?? new FakeListWatcher<KubeObject>()),
    });
    const cms = watchers.get('ConfigMap');
    cms?.upsert(cm('a', 'one', { app: 'web', tier: 'front' }, 'owner-1'));
    cms?.upsert(cm('a', 'two', { app: 'db' }));
    cms?.upsert(cm('b', 'three', { app: 'web' }, 'owner-1'));
  });
  afterEach(async () => {
    await cache.stop();
  });

  it('lists by namespace and label selector, like a direct list would', async () => {
    cache.start();
    const names = (objs: KubeObject[]): string[] => objs.map((o) => o.metadata.name ?? '').sort();
    expect(names(await cache.list(CM, { namespace: 'a' }))).to.deep.equal(['one', 'two']);
    expect(names(await cache.list(CM, { labelSelector: 'app=web' }))).to.deep.equal(['one', 'three']);
    expect(names(await cache.list(CM, { namespace: 'a', labelSelector: 'app in (web,db),tier' }))).to.deep.equal(['one']);
  });

  it('hands out copies, so a caller mutating its result cannot corrupt the cache', async () => {
    cache.start();
    const got = await cache.get(CM, { namespace: 'a', name: 'one' });
    if (!got) throw new Error('missing');
    got.metadata.labels = { mutated: 'yes' };
    expect((await cache.get(CM, { namespace: 'a', name: 'one' }))?.metadata.labels).to.deep.equal({ app: 'web', tier: 'front' });
  });

  it('finds children by owner UID and objects by a registered label index', async () => {
    await cache.addIndex(CM, labelIndexName('app'), byLabel('app'));
    cache.start();
    expect((await cache.byIndex(CM, OWNER_UID_INDEX, 'owner-1')).map((o) => o.metadata.name).sort()).to.deep.equal(['one', 'three']);
    expect((await cache.byIndex(CM, labelIndexName('app'), 'db')).map((o) => o.metadata.name)).to.deep.equal(['two']);
  });

  it('fails a read, instead of hanging, when the kind never syncs', async () => {
    watchers.get('Secret')?.listFailures.push(...Array.from({ length: 100 }, () => new Error('forbidden')));
    cache.start();
    let error = '';
    await cache.get(SECRET_TYPE, { namespace: 'a', name: 's' }).catch((err: unknown) => (error = String(err)));
    expect(error).to.match(/has not synced after 50ms/);
  });

  it('refuses reads before start', async () => {
    let error = '';
    await cache.get(CM, { namespace: 'a', name: 'one' }).catch((err: unknown) => (error = String(err)));
    expect(error).to.match(/cache not started/);
  });

  it('reports which kinds it is still waiting for', async () => {
    watchers.get('Secret')?.listFailures.push(...Array.from({ length: 100 }, () => new Error('forbidden')));
    await cache.informerFor(CM);
    await cache.informerFor(SECRET_TYPE);
    cache.start();
    await (await cache.informerFor(CM)).waitForSync();
    expect(cache.syncedNow()).to.deep.equal({ synced: false, waitingFor: ['v1/Secret'] });
  });
});
