import { expect } from 'chai';
import type { KubeConfigSource } from './kubeconfig-source.js';
import { Client } from './client.js';
import { ClusterAccessCache, type ClusterConnection } from './cluster-access-cache.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { RestMapper } from './rest-mapper.js';

function kubeconfig(server: string, user = 'u'): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
users: [{ name: ${user}, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: ${user} } }]
current-context: ctx
`;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

class FakeConnection implements ClusterConnection {
  closed = false;
  up = true;
  constructor(
    readonly server: string,
    readonly namespace: string | undefined,
  ) {}
  healthy(): Promise<boolean> {
    return Promise.resolve(this.up);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('lib/kube/cluster-access-cache', () => {
  let api: FakeApiServer;
  let access: ClusterAccessCache<FakeConnection>;
  let connects: number;

  beforeEach(() => {
    api = new FakeApiServer().serve({ apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true });
    const client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
    connects = 0;
    access = new ClusterAccessCache<FakeConnection>({
      client,
      connect: (kc: KubeConfigSource, info) => {
        connects++;
        return Promise.resolve(new FakeConnection(kc.getCurrentCluster()?.server ?? '', info.namespace));
      },
      healthCheckIntervalMs: 10,
      failureThreshold: 2,
    });
  });
  afterEach(async () => {
    await access.close();
  });

  it('connects to a tenant through <cluster>-kubeconfig key "value" once and reuses the connection', async () => {
    api.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ns', name: 'acme-kubeconfig' }, data: { value: b64(kubeconfig('https://acme:6443')) } });
    const a = await access.tenant({ namespace: 'ns', name: 'acme' });
    const b = await access.tenant({ namespace: 'ns', name: 'acme' });
    expect(a).to.equal(b);
    expect(a.server).to.equal('https://acme:6443');
    expect(connects).to.equal(1);
  });

  it('rebuilds the connection when the kubeconfig Secret is rotated', async () => {
    const secret = api.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ns', name: 'acme-kubeconfig' }, data: { value: b64(kubeconfig('https://old:6443')) } });
    const old = await access.tenant({ namespace: 'ns', name: 'acme' });
    await new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 't' }).update({ ...secret, data: { value: b64(kubeconfig('https://new:6443')) } });
    const fresh = await access.tenant({ namespace: 'ns', name: 'acme' });
    expect(fresh.server).to.equal('https://new:6443');
    expect(old.closed).to.be.true;
  });

  it('reads an infra kubeconfig from key "kubeconfig" with the optional namespace', async () => {
    api.seed({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'ns', name: 'infra' },
      data: { kubeconfig: b64(kubeconfig('https://infra:6443')), namespace: b64('vms') },
    });
    const infra = await access.infra({ namespace: 'ns', name: 'infra' });
    expect(infra.server).to.equal('https://infra:6443');
    expect(infra.namespace).to.equal('vms');
  });

  it('explains a missing Secret or key', async () => {
    let error = '';
    await access.tenant({ namespace: 'ns', name: 'nope' }).catch((err: unknown) => (error = String(err)));
    expect(error).to.include('Secret ns/nope-kubeconfig not found');
    api.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ns', name: 'x-kubeconfig' }, data: { other: b64('x') } });
    await access.tenant({ namespace: 'ns', name: 'x' }).catch((err: unknown) => (error = String(err)));
    expect(error).to.include('has no "value" key');
  });

  it('drops a connection that keeps failing health checks, and closes one whose Cluster is forgotten', async () => {
    api.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ns', name: 'a-kubeconfig' }, data: { value: b64(kubeconfig('https://a:6443')) } });
    api.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ns', name: 'b-kubeconfig' }, data: { value: b64(kubeconfig('https://b:6443')) } });
    const a = await access.tenant({ namespace: 'ns', name: 'a' });
    const b = await access.tenant({ namespace: 'ns', name: 'b' });
    a.up = false;
    await until(() => a.closed, 'the unhealthy connection to be dropped');
    expect(access.keys()).to.deep.equal(['tenant:ns/b']);
    await access.forgetTenant({ namespace: 'ns', name: 'b' });
    expect(b.closed).to.be.true;
    expect(access.keys()).to.deep.equal([]);
  });
});
