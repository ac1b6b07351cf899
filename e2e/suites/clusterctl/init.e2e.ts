import { expect } from 'chai';
import { startCluster, type Cluster } from '../../harness/cluster/cluster.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../harness/clusterctl/repository.js';
import { kubectl } from '../../harness/kubectl.js';
import { waitFor } from '../../harness/wait.js';

interface Deployment {
  metadata: { namespace: string; name: string };
  status?: { conditions?: { type: string; status: string }[]; readyReplicas?: number };
}

const PROVIDER_NAMESPACES = ['cert-manager', 'capi-system', 'capi-kubeadm-bootstrap-system'];
const NAMESPACE = 'default';

async function getJSON<T>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
}

function rejectionOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => {
      throw new Error('expected the apiserver to reject the object');
    },
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}

describe('clusterctl init on a local cluster, offline', () => {
  let cluster: Cluster | undefined;
  let repo: ClusterctlRepository | undefined;
  let kubeconfig: string;
  before(async function () {
    this.timeout(20 * 60_000); // the first run may build the upstream binaries
    const started = Date.now();
    const local = await startCluster();
    cluster = local;
    kubeconfig = local.plane.kubeconfigPath;
    repo = await createClusterctlRepository();
    console.log(`      cluster usable in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  after(async function () {
    this.timeout(2 * 60_000);
    await cluster?.stop();
    await repo?.remove();
  });

  it('installs cert-manager, the core and the kubeadm bootstrap provider, whose Deployments become Available', async function () {
    this.timeout(5 * 60_000);
    const started = Date.now();
    if (!repo) throw new Error('the repository was not created (see the before hook)');
    const { stdout, stderr } = await repo.clusterctl(
      [
        'init',
        '--kubeconfig',
        kubeconfig,
        '--core',
        `cluster-api:${repo.clusterAPIVersion}`,
        '--bootstrap',
        `kubeadm:${repo.clusterAPIVersion}`,
        '--wait-providers',
        '--wait-provider-timeout',
        '240',
      ],
      { env: { CLUSTER_TOPOLOGY: 'true', EXP_MACHINE_POOL: 'true' } },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`      clusterctl init (cert-manager, core, kubeadm bootstrap; providers Available) took ${seconds.toFixed(1)} s`);
    expect(`${stdout}${stderr}`).to.match(/Installing cert-manager/);
    expect(`${stdout}${stderr}`).to.match(/Your management cluster has been initialized successfully/);

    for (const namespace of PROVIDER_NAMESPACES) {
      const { items } = await getJSON<{ items: Deployment[] }>(kubeconfig, ['deployments', '-n', namespace]);
      expect(items, `Deployments in ${namespace}`).to.not.be.empty;
      for (const d of items) {
        const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status;
        expect(available, `${namespace}/${d.metadata.name} Available`).to.equal('True');
        expect(d.status?.readyReplicas, `${namespace}/${d.metadata.name} ready replicas`).to.be.at.least(1);
      }
    }
    const providers = await getJSON<{ items: { metadata: { name: string }; type: string; version: string }[] }>(kubeconfig, ['providers.clusterctl.cluster.x-k8s.io', '-A']);
    expect(providers.items.map((p) => `${p.type}/${p.metadata.name}@${p.version}`).sort()).to.deep.equal([
      `BootstrapProvider/bootstrap-kubeadm@${repo.clusterAPIVersion}`,
      `CoreProvider/cluster-api@${repo.clusterAPIVersion}`,
    ]);
    // The managers run with the feature gates clusterctl substituted.
    const capi = await getJSON<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>(kubeconfig, [
      'deployment',
      '-n',
      'capi-system',
      'capi-controller-manager',
    ]);
    const gates = capi.spec.template.spec.containers[0]?.args.find((a) => a.startsWith('--feature-gates=')) ?? '';
    expect(gates).to.include('MachinePool=true').and.include('ClusterTopology=true');
  });

  it('serves the webhooks through cert-manager certificates: CA bundles injected, objects defaulted and validated', async function () {
    this.timeout(2 * 60_000);
    const crd = await getJSON<{ spec: { conversion?: { webhook?: { clientConfig?: { caBundle?: string } } } } }>(kubeconfig, [
      'crd',
      'machinedeployments.cluster.x-k8s.io',
    ]);
    expect(crd.spec.conversion?.webhook?.clientConfig?.caBundle, 'caBundle injected by cainjector').to.be.a('string').and.not.be.empty;

    // Defaulting: the MachineDeployment webhook adds the cluster-name label to the selector and template.
    await kubectl(kubeconfig, ['apply', '-f', '-'], machineDeploymentYaml('defaulted', 'defaulted-cluster', { app: 'web' }, { app: 'web' }));
    const md = await getJSON<{ spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } } }>(
      kubeconfig,
      ['machinedeployments.v1beta2.cluster.x-k8s.io', '-n', NAMESPACE, 'defaulted'],
    );
    expect(md.spec.selector.matchLabels).to.include({ 'cluster.x-k8s.io/cluster-name': 'defaulted-cluster', app: 'web' });
    expect(md.spec.template.metadata.labels).to.include({ 'cluster.x-k8s.io/cluster-name': 'defaulted-cluster' });

    // Validation: a selector that does not match the template's labels is refused.
    const refused = await rejectionOf(
      kubectl(kubeconfig, ['apply', '-f', '-'], machineDeploymentYaml('invalid', 'defaulted-cluster', { app: 'web' }, { app: 'other' })),
    );
    expect(refused).to.match(/admission webhook "validation\.machinedeployment\.cluster\.x-k8s\.io" denied/);
    await kubectl(kubeconfig, ['delete', 'machinedeployments.cluster.x-k8s.io', '-n', NAMESPACE, 'defaulted', '--wait=false']);
  });

  it('converts between v1beta1 and v1beta2 through the conversion webhook behind its Service', async function () {
    this.timeout(2 * 60_000);
    await kubectl(
      kubeconfig,
      ['apply', '-f', '-'],
      [
        'apiVersion: cluster.x-k8s.io/v1beta1',
        'kind: Cluster',
        'metadata:',
        '  name: converted',
        `  namespace: ${NAMESPACE}`,
        'spec:',
        '  paused: true',
        '  clusterNetwork:',
        '    pods:',
        '      cidrBlocks: ["192.168.0.0/16"]',
        '',
      ].join('\n'),
    );
    const v2 = await getJSON<{ apiVersion: string; spec: { paused?: boolean; clusterNetwork?: { pods?: { cidrBlocks?: string[] } } } }>(kubeconfig, [
      'clusters.v1beta2.cluster.x-k8s.io',
      '-n',
      NAMESPACE,
      'converted',
    ]);
    expect(v2.apiVersion).to.equal('cluster.x-k8s.io/v1beta2');
    expect(v2.spec.clusterNetwork?.pods?.cidrBlocks).to.deep.equal(['192.168.0.0/16']);
    expect(v2.spec.paused).to.equal(true);
    const v1 = await getJSON<{ apiVersion: string }>(kubeconfig, ['clusters.v1beta1.cluster.x-k8s.io', '-n', NAMESPACE, 'converted']);
    expect(v1.apiVersion).to.equal('cluster.x-k8s.io/v1beta1');
    await kubectl(kubeconfig, ['delete', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, 'converted', '--wait=false']);
  });

  it('admits and reconciles a Cluster with a MachineDeployment and a KubeadmConfigTemplate', async function () {
    this.timeout(3 * 60_000);
    await kubectl(kubeconfig, ['apply', '-f', '-'], workloadYaml('acme'));
    const cluster = await waitFor(
      async () => {
        const c = await getJSON<{ status?: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] } }>(kubeconfig, [
          'clusters.v1beta2.cluster.x-k8s.io',
          '-n',
          NAMESPACE,
          'acme',
        ]);
        return c.status?.phase && c.status.conditions?.length ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'the Cluster to get a phase and conditions' },
    );
    expect(cluster.status?.phase).to.be.oneOf(['Pending', 'Provisioning']);
    const types = cluster.status?.conditions?.map((c) => c.type) ?? [];
    expect(types).to.include('InfrastructureReady');

    const md = await waitFor(
      async () => {
        const m = await getJSON<{ metadata: { ownerReferences?: { kind: string; name: string }[] }; status?: { conditions?: { type: string }[] } }>(
          kubeconfig,
          ['machinedeployments.v1beta2.cluster.x-k8s.io', '-n', NAMESPACE, 'acme-md-0'],
        );
        return m.metadata.ownerReferences?.some((o) => o.kind === 'Cluster' && o.name === 'acme') && m.status?.conditions?.length ? m : undefined;
      },
      { timeoutMs: 60_000, what: 'the MachineDeployment to be owned by its Cluster and report conditions' },
    );
    expect(md.status?.conditions?.map((c) => c.type)).to.include('Available');
    await kubectl(kubeconfig, ['delete', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, 'acme', '--wait=false']);
  });
});

function labelsYaml(labels: Record<string, string>, indent: string): string {
  return Object.entries(labels)
    .map(([k, v]) => `${indent}${k}: ${v}`)
    .join('\n');
}

function machineDeploymentYaml(name: string, clusterName: string, selector: Record<string, string>, templateLabels: Record<string, string>): string {
  return [
    'apiVersion: cluster.x-k8s.io/v1beta2',
    'kind: MachineDeployment',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${NAMESPACE}`,
    'spec:',
    `  clusterName: ${clusterName}`,
    '  selector:',
    '    matchLabels:',
    labelsYaml(selector, '      '),
    '  template:',
    '    metadata:',
    '      labels:',
    labelsYaml(templateLabels, '        '),
    '    spec:',
    `      clusterName: ${clusterName}`,
    '      version: v1.34.0',
    '      bootstrap:',
    '        configRef:',
    '          apiGroup: bootstrap.cluster.x-k8s.io',
    '          kind: KubeadmConfigTemplate',
    `          name: ${clusterName}-md-0`,
    '      infrastructureRef:',
    '        apiGroup: infrastructure.kvcloud.test',
    '        kind: TestMachineTemplate',
    `        name: ${clusterName}-md-0`,
    '',
  ].join('\n');
}

// The infrastructure kinds do not exist: the Cluster stays Pending/Provisioning and says so in its conditions.
function workloadYaml(name: string): string {
  return [
    'apiVersion: cluster.x-k8s.io/v1beta2',
    'kind: Cluster',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${NAMESPACE}`,
    'spec:',
    '  clusterNetwork:',
    '    pods:',
    '      cidrBlocks: ["192.168.0.0/16"]',
    '  infrastructureRef:',
    '    apiGroup: infrastructure.kvcloud.test',
    '    kind: TestCluster',
    `    name: ${name}`,
    '---',
    'apiVersion: bootstrap.cluster.x-k8s.io/v1beta2',
    'kind: KubeadmConfigTemplate',
    'metadata:',
    `  name: ${name}-md-0`,
    `  namespace: ${NAMESPACE}`,
    'spec:',
    '  template:',
    '    spec: {}',
    '---',
    machineDeploymentYaml(`${name}-md-0`, name, { pool: 'md-0' }, { pool: 'md-0' }),
  ].join('\n');
}
