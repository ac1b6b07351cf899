import { expect } from 'chai';
import type { KubeObject } from '../kube/object.js';
import { FakeListWatcher } from '../testing/fake-list-watcher.js';
import { byLabel, byOwnerUid } from './indexers.js';
import { Informer } from './informer.js';

interface Thing extends KubeObject {
  data?: { v: number };
}

function thing(name: string, v = 0, extra: Partial<Thing['metadata']> = {}): Thing {
  return { apiVersion: 'v1', kind: 'Thing', metadata: { namespace: 'ns', name, ...extra }, data: { v } };
}

async function eventually(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function recorder(): { log: string[]; handler: Parameters<Informer<Thing>['addEventHandler']>[0] } {
  const log: string[] = [];
  return {
    log,
    handler: {
      onAdd: (o, initial) => log.push(`add ${o.metadata.name ?? ''}${initial ? ' (initial)' : ''}`),
      onUpdate: (old, o) => log.push(`update ${o.metadata.name ?? ''} ${old.data?.v ?? '-'}->${o.data?.v ?? '-'}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name ?? ''}`),
    },
  };
}

describe('lib/controller/informer', () => {
  let fake: FakeListWatcher<Thing>;
  let informer: Informer<Thing>;
  const fast = { initialMs: 1, maxMs: 5 };

  beforeEach(() => {
    fake = new FakeListWatcher<Thing>();
  });
  afterEach(async () => {
    await informer.stop();
  });

  it('lists, reports synced, then applies watch events from the list resourceVersion', async () => {
    fake.upsert(thing('a'));
    fake.upsert(thing('b'));
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    expect(informer.hasSynced()).to.be.false;
    informer.start();
    await informer.waitForSync();
    expect(informer.store.keys().sort()).to.deep.equal(['ns/a', 'ns/b']);
    await fake.watchesOpened(1);
    expect(fake.watches[0]?.fromResourceVersion).to.equal('102');
    fake.upsert(thing('a', 1));
    fake.upsert(thing('c'));
    fake.delete('ns/b');
    await eventually(() => rec.log.length === 5, 'five events');
    expect(rec.log).to.deep.equal(['add a (initial)', 'add b (initial)', 'update a 0->1', 'add c', 'delete b']);
    expect(informer.stats.resourceVersion).to.equal('105');
  });

  it('moves its resourceVersion on bookmarks and resumes a broken watch from there without relisting', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    informer.start();
    await fake.watchesOpened(1);
    fake.bookmark();
    fake.bookmark();
    await eventually(() => informer.stats.resourceVersion === '102', 'bookmark');
    fake.current?.fail(new Error('connection reset'));
    await fake.watchesOpened(2);
    expect(fake.watches[1]?.fromResourceVersion).to.equal('102');
    expect(fake.lists).to.equal(1);
    expect(informer.stats.watchEnds.error).to.equal(1);
  });

  it('relists after a 410 and turns what changed while it was away into add, update and delete events', async () => {
    fake.upsert(thing('keep'));
    fake.upsert(thing('change'));
    fake.upsert(thing('remove'));
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    informer.start();
    await fake.watchesOpened(1);
    rec.log.length = 0;
    // Changes the informer never hears about, then the apiserver says its version is gone.
    fake.upsert(thing('change', 7), { quiet: true });
    fake.delete('ns/remove', { quiet: true });
    fake.upsert(thing('new'), { quiet: true });
    fake.expire();
    await fake.watchesOpened(2);
    expect(fake.lists).to.equal(2);
    expect(informer.stats.relistsAfterGone).to.equal(1);
    expect(rec.log.sort()).to.deep.equal(['add new', 'delete remove', 'update change 0->7']);
    expect(informer.store.keys().sort()).to.deep.equal(['ns/change', 'ns/keep', 'ns/new']);
    expect(fake.watches[1]?.fromResourceVersion).to.equal('106');
  });

  it('relists when the watch request itself answers 410', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    fake.watchFailures.push(FakeListWatcher.gone());
    informer.start();
    await fake.watchesOpened(1);
    expect(fake.lists).to.equal(2);
  });

  it('keeps retrying a failing list with backoff and serves nothing until the first list succeeds', async () => {
    fake.upsert(thing('a'));
    fake.listFailures.push(new Error('connection refused'), new Error('connection refused'));
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    informer.start();
    await informer.waitForSync();
    expect(fake.lists).to.equal(3);
    expect(informer.store.keys()).to.deep.equal(['ns/a']);
  });

  it('keeps serving its cache while the apiserver is unreachable', async () => {
    fake.upsert(thing('a'));
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    informer.start();
    await fake.watchesOpened(1);
    for (let i = 0; i < 5; i++) fake.watchFailures.push(new Error('connection refused'));
    fake.current?.fail(new Error('connection reset'));
    expect(informer.store.get('ns/a')).to.not.equal(undefined);
    await fake.watchesOpened(2);
    expect(informer.hasSynced()).to.be.true;
    expect(informer.store.get('ns/a')).to.not.equal(undefined);
  });

  it('replaces a watch that has gone silent once the idle timeout passes', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast, watchIdleTimeoutMs: 30 });
    informer.start();
    await fake.watchesOpened(2);
    expect(informer.stats.watchEnds.watchdog).to.be.greaterThan(0);
    expect(fake.lists).to.equal(1);
  });

  it('does not let a silent-watch reconnect hide events: a change made meanwhile still arrives', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast, watchIdleTimeoutMs: 30 });
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    informer.start();
    await fake.watchesOpened(2);
    fake.upsert(thing('late'));
    await eventually(() => rec.log.includes('add late'), 'the add after the watchdog');
  });

  it('files objects under owner UID and label indexes and keeps them current', async () => {
    fake.upsert(thing('a', 0, { labels: { cluster: 'acme' }, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u1' }] }));
    fake.upsert(thing('b', 0, { labels: { cluster: 'acme' } }));
    informer = new Informer({
      listWatcher: fake,
      resource: 'Thing',
      backoff: fast,
      indexers: { owner: byOwnerUid, cluster: byLabel('cluster') },
    });
    informer.start();
    await fake.watchesOpened(1);
    expect(informer.store.byIndex('owner', 'u1').map((o) => o.metadata.name)).to.deep.equal(['a']);
    expect(informer.store.byIndex('cluster', 'acme')).to.have.length(2);
    fake.upsert(thing('b', 1, { labels: { cluster: 'other' } }));
    await eventually(() => informer.store.byIndex('cluster', 'acme').length === 1, 'reindex');
    expect(informer.store.byIndex('cluster', 'other').map((o) => o.metadata.name)).to.deep.equal(['b']);
  });

  it('replays the cache to a handler registered after sync', async () => {
    fake.upsert(thing('a'));
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    informer.start();
    await informer.waitForSync();
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    expect(rec.log).to.deep.equal(['add a (initial)']);
  });

  it('keeps running when a handler throws', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    const rec = recorder();
    informer.addEventHandler({ onAdd: () => { throw new Error('boom'); } });
    informer.addEventHandler(rec.handler);
    informer.start();
    await fake.watchesOpened(1);
    fake.upsert(thing('a'));
    await eventually(() => rec.log.includes('add a'), 'the add');
  });

  it('stops its watch on stop()', async () => {
    informer = new Informer({ listWatcher: fake, resource: 'Thing', backoff: fast });
    informer.start();
    await fake.watchesOpened(1);
    await informer.stop();
    expect(fake.watches[0]?.closed).to.be.true;
  });
});
