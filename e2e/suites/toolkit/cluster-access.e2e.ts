// The cluster access cache with real kubeconfig Secrets: a tenant reached through `<cluster>-kubeconfig`, the
// connection reused, rebuilt when the Secret is rotated to another identity, and closed when forgotten.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import type { KubeObject } from '../../../lib/kube/object.js';
import { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import { connectRemoteCluster, type RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { createNamespace, deleteNamespace, directClient, uniqueName, type TestClient } from './support.js';

interface SelfSubjectReview extends KubeObject {
  status?: { userInfo?: { username?: string } };
}

async function whoAmI(remote: RemoteCluster): Promise<string | undefined> {
  const review = await remote.client.create<SelfSubjectReview>({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: {},
  });
  return review.status?.userInfo?.username;
}

describe('toolkit: cluster access cache against real kubeconfig Secrets', function () {
  this.timeout(5 * 60_000);
  let plane: Plane;
  let api: TestClient;
  let access: ClusterAccessCache<RemoteCluster>;
  const ns = uniqueName('access');

  before(async function () {
    this.timeout(20 * 60_000);
    plane = await sharedPlane();
    api = await directClient(plane);
    await createNamespace(api.client, ns);
    access = new ClusterAccessCache<RemoteCluster>({
      client: api.client,
      connect: (kc) => connectRemoteCluster(kc, { fieldManager: 'kvcloud-e2e' }),
    });
  });
  after(async () => {
    await access.close();
    await deleteNamespace(api.client, ns);
    api.transport.close();
  });

  async function writeTenantSecret(user: string): Promise<void> {
    const kubeconfig = await readFile(await plane.kubeconfigFor(user, ['system:authenticated']), 'utf8');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: ns, name: 'acme-kubeconfig' }, data: { value: Buffer.from(kubeconfig).toString('base64') } };
    await api.client.apply(secret);
  }

  it('connects as the Secret’s identity, reuses the connection, follows a rotation and closes on forget', async () => {
    const cluster = { namespace: ns, name: 'acme' };
    await writeTenantSecret('tenant-admin-1');
    const first = await access.tenant(cluster);
    expect(await whoAmI(first)).to.equal('tenant-admin-1');
    expect(await access.tenant(cluster)).to.equal(first);

    await writeTenantSecret('tenant-admin-2');
    const rotated = await access.tenant(cluster);
    expect(rotated).to.not.equal(first);
    expect(await whoAmI(rotated)).to.equal('tenant-admin-2');

    await access.forgetTenant(cluster);
    expect(access.keys()).to.deep.equal([]);
  });
});
