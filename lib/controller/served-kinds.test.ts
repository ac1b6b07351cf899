import { expect } from 'chai';
import { RestMapper } from '../kube/rest-mapper.js';
import { createLogger } from '../observability/logger.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { ServedKinds } from './served-kinds.js';

const CLUSTER = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster' };
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };

function servedKinds(api: FakeApiServer): ServedKinds {
  return new ServedKinds({ mapper: new RestMapper(api), log: createLogger({ level: 'silent' }), poll: { initialMs: 5, maxMs: 20 } });
}

describe('lib/controller/served-kinds', () => {
  it('names the kinds discovery does not list', async () => {
    const api = new FakeApiServer().serve({ ...CONFIG_MAP, resource: 'configmaps', namespaced: true });
    expect(await servedKinds(api).missing([CONFIG_MAP, CLUSTER], new AbortController().signal)).to.deep.equal([CLUSTER]);
  });

  it('asks again while discovery fails instead of calling the kind missing', async () => {
    const api = new FakeApiServer().serve({ ...CLUSTER, resource: 'clusters', namespaced: true });
    api.failNext((r) => r.path === '/apis/cluster.x-k8s.io/v1beta2', 503, 'ServiceUnavailable');
    expect(await servedKinds(api).missing([CLUSTER], new AbortController().signal)).to.deep.equal([]);
    expect(api.requests.filter((r) => r.path === '/apis/cluster.x-k8s.io/v1beta2')).to.have.length(2);
  });

  it('waits until the kinds are served, asking discovery again with backoff', async () => {
    const api = new FakeApiServer();
    const served = servedKinds(api);
    const waiting = served.waitUntilServed([CLUSTER], new AbortController().signal);
    setTimeout(() => api.serve({ ...CLUSTER, resource: 'clusters', namespaced: true }), 50);
    expect(await waiting).to.equal(true);
  });

  it('gives up waiting when stopped', async () => {
    const stop = new AbortController();
    const waiting = servedKinds(new FakeApiServer()).waitUntilServed([CLUSTER], stop.signal);
    stop.abort();
    expect(await waiting).to.equal(false);
  });
});
