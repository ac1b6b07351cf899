import { expect } from 'chai';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import {
  installTestInfrastructure,
  markTestClusterProvisioned,
  markTestControlPlaneInitialized,
  testClusterYaml,
  testControlPlaneYaml,
} from '../../harness/clusterctl/test-infrastructure.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';

interface CapiCluster {
  spec?: { paused?: boolean };
  status?: { phase?: string; initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean } };
}

const NAMESPACE = 'default';

async function getCluster(kubeconfig: string, name: string): Promise<CapiCluster | undefined> {
  const out = await kubectl(kubeconfig, ['get', 'clusters.v1beta2.cluster.x-k8s.io', '-n', NAMESPACE, name, '-o', 'json', '--ignore-not-found']);
  return out.trim() === '' ? undefined : (JSON.parse(out) as CapiCluster);
}

describe('clusterctl move between two local management clusters', () => {
  const clusters: Cluster[] = [];
  let repo: ClusterctlRepository | undefined;
  before(async function () {
    this.timeout(20 * 60_000);
    const local = await createClusterctlRepository();
    repo = local;
    const started = Date.now();
    // Started one after the other so a failure of the second still leaves the first in `clusters` to stop.
    for (let i = 0; i < 2; i++) clusters.push(await startCluster());
    const inits = await Promise.all(clusters.map((c) => clusterctlInit(local, c.plane.kubeconfigPath)));
    // Both need the infrastructure kinds: clusterctl moves the TestCluster along with its Cluster.
    await Promise.all(clusters.map((c) => installTestInfrastructure(c.plane.kubeconfigPath)));
    console.log(
      `      two clusters with Cluster API ready in ${((Date.now() - started) / 1000).toFixed(1)} s (inits ${inits.map((i) => i.seconds.toFixed(1)).join(' s, ')} s, concurrently)`,
    );
  });
  after(async function () {
    this.timeout(2 * 60_000);
    for (const c of clusters) await c.stop();
    await repo?.remove();
  });

  it('runs the two clusters side by side, each with its own service range', () => {
    const [source, target] = clusters;
    expect(source?.network.serviceCIDR).to.not.equal(target?.network.serviceCIDR);
    expect(source?.network.serviceDevice).to.not.equal(target?.network.serviceDevice);
  });

  it('moves a bare Cluster (stand-in infrastructure and control plane, no machines): it exists in the target, unpaused, and is gone from the source', async function () {
    this.timeout(5 * 60_000);
    const [source, target] = clusters;
    if (!source || !target || !repo) throw new Error('the clusters did not start (see the before hook)');
    const from = source.plane.kubeconfigPath;
    const to = target.plane.kubeconfigPath;
    await kubectl(
      from,
      ['apply', '-f', '-'],
      [
        testClusterYaml(NAMESPACE, 'bare'),
        '---',
        testControlPlaneYaml(NAMESPACE, 'bare'),
        '---',
        'apiVersion: cluster.x-k8s.io/v1beta2',
        'kind: Cluster',
        'metadata:',
        '  name: bare',
        `  namespace: ${NAMESPACE}`,
        'spec:',
        '  infrastructureRef: {apiGroup: infrastructure.kvcloud.test, kind: TestCluster, name: bare}',
        '  controlPlaneRef: {apiGroup: controlplane.kvcloud.test, kind: TestControlPlane, name: bare}',
        '',
      ].join('\n'),
    );
    await markTestClusterProvisioned(from, NAMESPACE, 'bare');
    await markTestControlPlaneInitialized(from, NAMESPACE, 'bare');
    // clusterctl refuses to move a Cluster whose infrastructure or control plane is still being provisioned.
    await waitFor(
      async () => {
        const init = (await getCluster(from, 'bare'))?.status?.initialization;
        return init?.infrastructureProvisioned && init.controlPlaneInitialized ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the bare Cluster to report its infrastructure provisioned and control plane initialized' },
    );

    const started = Date.now();
    const { stdout, stderr } = await repo.clusterctl(['move', '--kubeconfig', from, '--to-kubeconfig', to, '-n', NAMESPACE]);
    console.log(`      clusterctl move took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(`${stdout}${stderr}`).to.match(/Moving Cluster API objects Clusters=1/);

    const moved = await getCluster(to, 'bare');
    expect(moved, 'the Cluster in the target').to.not.equal(undefined);
    expect(moved?.spec?.paused ?? false, 'unpaused in the target').to.equal(false);
    const infra = await kubectl(to, ['get', 'testclusters.infrastructure.kvcloud.test', '-n', NAMESPACE, 'bare', '-o', 'name']);
    expect(infra.trim(), 'its TestCluster moved along').to.equal('testcluster.infrastructure.kvcloud.test/bare');
    const controlPlane = await kubectl(to, ['get', 'testcontrolplanes.controlplane.kvcloud.test', '-n', NAMESPACE, 'bare', '-o', 'name']);
    expect(controlPlane.trim(), 'its TestControlPlane moved along').to.equal('testcontrolplane.controlplane.kvcloud.test/bare');
    await waitFor(async () => ((await getCluster(from, 'bare')) ? undefined : true), { timeoutMs: 60_000, what: 'the Cluster to be gone from the source' });
  });
});
