// The infrastructure provider as users get it: `clusterctl init --infrastructure kubevirt` from the release
// manifests, the manager running as a pod with only the RBAC the release grants, and clusters generated from the
// release's templates.
import { expect } from 'chai';
import { startCluster, type Cluster } from '../../harness/cluster/cluster.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../harness/clusterctl/repository.js';
import {
  addKvcloudInfrastructure,
  clusterctlInitWithKubevirt,
  installKubevirtCRDs,
  KUBEVIRT_MANAGER_DEPLOYMENT,
  KUBEVIRT_MANAGER_SERVICE_ACCOUNT,
  KUBEVIRT_PROVIDER_NAMESPACE,
  type KvcloudInfrastructure,
} from '../../harness/clusterctl/kvcloud-infrastructure.js';
import { describeAccess, serviceAccountCan, type Access } from '../../harness/clusterctl/kvcloud-rbac.js';
import { kubectl } from '../../harness/kubectl.js';

const PROVIDER_SELECTOR = 'cluster.x-k8s.io/provider=infrastructure-kubevirt';

async function getJSON<T>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
}

interface Pod {
  metadata: { name: string };
  spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: { name: string; image: string; args?: string[]; command?: string[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; ready: boolean; restartCount: number }[] };
}

// What the manager needs to do its job, and what it must never be able to do.
const NEEDED: Access[] = [
  { verb: 'watch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachines' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachines', subresource: 'status' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtclusters', subresource: 'status' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachinetemplates', subresource: 'status' },
  { verb: 'watch', group: 'cluster.x-k8s.io', resource: 'machines' },
  { verb: 'watch', group: 'cluster.x-k8s.io', resource: 'clusters' },
  { verb: 'create', group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'default' },
  { verb: 'delete', group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'default' },
  { verb: 'watch', group: 'kubevirt.io', resource: 'virtualmachineinstances' },
  { verb: 'create', group: '', resource: 'secrets', namespace: 'default' },
  { verb: 'create', group: '', resource: 'services', namespace: 'default' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: KUBEVIRT_PROVIDER_NAMESPACE },
];
const FORBIDDEN: Access[] = [
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  { verb: 'delete', group: '', resource: 'namespaces' },
  { verb: 'delete', group: '', resource: 'nodes' },
  { verb: 'update', group: 'apps', resource: 'deployments', namespace: 'capi-system' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'kube-system' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
  { verb: 'delete', group: 'cluster.x-k8s.io', resource: 'clusters' },
];

describe('kvcloud infrastructure provider through clusterctl', () => {
  let cluster: Cluster | undefined;
  let repo: ClusterctlRepository | undefined;
  let release: KvcloudInfrastructure | undefined;
  let kubeconfig: string;

  before(async function () {
    this.timeout(20 * 60_000);
    const local = await startCluster({
      nodes: [
        { name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' },
        { name: 'kvcloud-node-2', zone: 'zone-b', region: 'kvcloud-local' },
      ],
    });
    cluster = local;
    kubeconfig = local.plane.kubeconfigPath;
    repo = await createClusterctlRepository();
    release = await addKvcloudInfrastructure(repo);
    // KubeVirt is installed before its Cluster API provider, as on a real management cluster.
    await installKubevirtCRDs(kubeconfig);
  });
  after(async function () {
    this.timeout(3 * 60_000);
    await cluster?.stop();
    await repo?.remove();
  });

  it('clusterctl init --infrastructure kubevirt installs the provider from the release, and its manager becomes ready', async function () {
    this.timeout(10 * 60_000);
    if (!repo || !release) throw new Error('the repository was not created (see the before hook)');
    const { output, seconds } = await clusterctlInitWithKubevirt(repo, kubeconfig);
    console.log(`      clusterctl init (cert-manager, core, kubeadm, kubevirt; all Available) took ${seconds.toFixed(1)} s`);
    expect(output).to.match(/Installing provider="infrastructure-kubevirt" version="v\d+\.\d+\.\d+" targetNamespace="capk-system"/);
    expect(output).to.match(/Your management cluster has been initialized successfully/);

    const providers = await getJSON<{ items: { metadata: { name: string; namespace: string }; type: string; version: string }[] }>(kubeconfig, [
      'providers.clusterctl.cluster.x-k8s.io',
      '-A',
    ]);
    expect(providers.items.map((p) => `${p.type}/${p.metadata.name}@${p.version} in ${p.metadata.namespace}`)).to.include(
      `InfrastructureProvider/infrastructure-kubevirt@${release.version} in ${KUBEVIRT_PROVIDER_NAMESPACE}`,
    );

    // Everything the release installs carries the provider label (clusterctl deletes and upgrades by it).
    const crds = await getJSON<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(kubeconfig, ['crd', '-l', PROVIDER_SELECTOR]);
    expect(crds.items.map((c) => c.metadata.name)).to.include.members([
      'kubevirtclusters.infrastructure.cluster.x-k8s.io',
      'kubevirtmachines.infrastructure.cluster.x-k8s.io',
      'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
      'kubevirtclustertemplates.infrastructure.cluster.x-k8s.io',
    ]);
    for (const c of crds.items) expect(c.metadata.labels, c.metadata.name).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha1' });
    const namespaced = await kubectl(kubeconfig, ['get', 'deployment,serviceaccount,role,rolebinding', '-n', KUBEVIRT_PROVIDER_NAMESPACE, '-l', PROVIDER_SELECTOR, '-o', 'name']);
    expect(namespaced.trim().split('\n').sort()).to.include.members([
      `deployment.apps/${KUBEVIRT_MANAGER_DEPLOYMENT}`,
      `serviceaccount/${KUBEVIRT_MANAGER_SERVICE_ACCOUNT}`,
    ]);

    // The manager runs as a pod of the release's Deployment: container "manager", our image, args only, as the
    // release's ServiceAccount, ready (its informers synced, which its list/watch permissions allow).
    const pods = await getJSON<{ items: Pod[] }>(kubeconfig, ['pods', '-n', KUBEVIRT_PROVIDER_NAMESPACE, '-l', 'control-plane=controller-manager']);
    expect(pods.items, 'manager pods').to.have.length(1);
    const pod = pods.items[0];
    expect(pod?.spec.serviceAccountName).to.equal(KUBEVIRT_MANAGER_SERVICE_ACCOUNT);
    const manager = pod?.spec.containers.find((c) => c.name === 'manager');
    expect(manager?.image).to.equal('ghcr.io/kvcloud/infrastructure-manager:dev');
    expect(manager?.command).to.equal(undefined);
    expect(manager?.args).to.include('--leader-elect');
    expect(pod?.status?.phase).to.equal('Running');
    expect(pod?.status?.containerStatuses?.find((s) => s.name === 'manager')).to.include({ ready: true });
  });

  it('grants the manager what its controllers need and nothing that would let it take over the cluster', async function () {
    this.timeout(2 * 60_000);
    const denied: string[] = [];
    for (const access of NEEDED) {
      if (!(await serviceAccountCan(kubeconfig, KUBEVIRT_PROVIDER_NAMESPACE, KUBEVIRT_MANAGER_SERVICE_ACCOUNT, access))) denied.push(describeAccess(access));
    }
    expect(denied, 'needed but denied').to.deep.equal([]);
    const allowed: string[] = [];
    for (const access of FORBIDDEN) {
      if (await serviceAccountCan(kubeconfig, KUBEVIRT_PROVIDER_NAMESPACE, KUBEVIRT_MANAGER_SERVICE_ACCOUNT, access)) allowed.push(describeAccess(access));
    }
    expect(allowed, 'allowed but never needed').to.deep.equal([]);
  });
});
