import { expect } from 'chai';
import { InformerCache } from '../../../lib/controller/informer-cache.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { FakeApiServer } from '../../../lib/testing/fake-apiserver.js';
import { FakeListWatcher } from '../../../lib/testing/fake-list-watcher.js';
import { WRITE_PERMISSIONS_POLICY } from '../tenant/write-permissions.js';
import { WritePermissionsWatch } from './write-permissions-watch.js';

const policy = (name: string, kind = 'ValidatingAdmissionPolicy'): KubeObject => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name } });

describe('controllers/write-permissions-watch', () => {
  let watchers: Map<string, FakeListWatcher<KubeObject>>;
  let cache: InformerCache;
  let tenant: RemoteCluster;
  let queued: string[];
  let next: () => Promise<void>;
  let ensure: (key: string) => Promise<void>;

  beforeEach(() => {
    watchers = new Map(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].map((k) => [k, new FakeListWatcher<KubeObject>()]));
    watchers.get('ValidatingAdmissionPolicy')?.upsert(policy(WRITE_PERMISSIONS_POLICY));
    watchers.get('ValidatingAdmissionPolicyBinding')?.upsert(policy(WRITE_PERMISSIONS_POLICY, 'ValidatingAdmissionPolicyBinding'));
    const api = new FakeApiServer();
    const mapper = new RestMapper(api);
    cache = new InformerCache({ transport: api, mapper, listWatcherFactory: (type) => Promise.resolve(watchers.get(type.kind) ?? new FakeListWatcher<KubeObject>()) });
    cache.start();
    tenant = { client: new Client({ transport: api, mapper, fieldManager: 'test', cache }), cache, namespace: undefined, healthy: () => Promise.resolve(true), close: () => cache.stop() };
    queued = [];
    let wake: () => void = () => undefined;
    next = () => new Promise<void>((resolve) => (wake = resolve));
    const watch = new WritePermissionsWatch((key) => {
      queued.push(key);
      wake();
    });
    ensure = (key: string) => watch.ensure(tenant, key);
  });
  afterEach(async () => {
    await cache.stop();
  });

  /** Waits for the informers to have listed and opened their watches, so pushed events reach the handlers. */
  async function watching(): Promise<void> {
    await cache.waitForSync();
    await Promise.all([...watchers.values()].map((w) => w.watchesOpened(1)));
  }

  it('queues the TenantControlPlane when the policy is deleted inside the tenant', async () => {
    await ensure('tenants/acme');
    await watching();
    const woken = next();
    watchers.get('ValidatingAdmissionPolicy')?.delete(WRITE_PERMISSIONS_POLICY);
    await woken;
    expect(queued).to.deep.equal(['tenants/acme']);
  });

  it('queues it when the binding is changed, once however often the pass registers the watch', async () => {
    await ensure('tenants/acme');
    await ensure('tenants/acme');
    await watching();
    const woken = next();
    watchers.get('ValidatingAdmissionPolicyBinding')?.upsert({ ...policy(WRITE_PERMISSIONS_POLICY, 'ValidatingAdmissionPolicyBinding'), spec: { validationActions: ['Warn'] } } as KubeObject);
    await woken;
    expect(queued).to.deep.equal(['tenants/acme']);
  });

  it('ignores the initial list and policies of other names', async () => {
    await ensure('tenants/acme');
    await watching();
    const woken = next();
    const vap = watchers.get('ValidatingAdmissionPolicy');
    vap?.upsert(policy('someone-elses'));
    vap?.delete('someone-elses');
    // Events of one informer arrive in order: once this one is seen, the two above were handled.
    vap?.delete(WRITE_PERMISSIONS_POLICY);
    await woken;
    expect(queued).to.deep.equal(['tenants/acme']);
  });
});
