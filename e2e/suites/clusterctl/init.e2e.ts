import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { installTestInfrastructure, markTestClusterProvisioned, testClusterYaml } from '../../harness/clusterctl/test-infrastructure.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { addKvcloudControlPlane, KAMAJI_MANAGER_DEPLOYMENT, KAMAJI_PROVIDER_NAMESPACE } from '../../../localcloud/clusterctl/kvcloud-control-plane.js';
import { addKvcloudInfrastructure, installKubevirtCRDs, KUBEVIRT_MANAGER_DEPLOYMENT, KUBEVIRT_PROVIDER_NAMESPACE } from '../../../localcloud/clusterctl/kvcloud-infrastructure.js';
import { CONTRACT, CONTROL_PLANE_PROVIDER, INFRASTRUCTURE_PROVIDER, writeRelease } from '../../../packaging/release-manifests.js';
import { waitFor } from '../../../localcloud/wait.js';

interface Deployment {
  metadata: { namespace: string; name: string };
  status?: { conditions?: { type: string; status: string }[]; readyReplicas?: number };
}

const PROVIDER_NAMESPACES = ['cert-manager', 'capi-system', 'capi-kubeadm-bootstrap-system', 'capi-kubeadm-control-plane-system', KUBEVIRT_PROVIDER_NAMESPACE, KAMAJI_PROVIDER_NAMESPACE];
const NAMESPACE = 'default';
/** kvcloud's providers are installed at the first and upgraded to the second, both releases of this tree. */
const OLD_VERSION = 'v0.1.0';
const NEW_VERSION = 'v0.1.1';

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
    // kvcloud's providers at OLD_VERSION as a user installs them, the releases `make release-manifests` writes
    // registered in clusterctl.yaml, and KubeVirt's CRDs before them, as on a real management cluster; the last
    // test upgrades them.
    await addKvcloudInfrastructure(repo, OLD_VERSION);
    await addKvcloudControlPlane(repo, OLD_VERSION);
    await installKubevirtCRDs(kubeconfig);
    console.log(`      cluster usable in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  after(async function () {
    this.timeout(2 * 60_000);
    await cluster?.stop();
    await repo?.remove();
  });

  it("installs cert-manager, the core, kubeadm bootstrap and control-plane providers and kvcloud's, whose Deployments become Available", async function () {
    this.timeout(8 * 60_000);
    if (!repo) throw new Error('the repository was not created (see the before hook)');
    const { output, seconds } = await clusterctlInit(repo, kubeconfig, { infrastructure: 'kubevirt', controlPlane: [`kubeadm:${repo.clusterAPIVersion}`, 'kamaji'], timeoutSeconds: 300 });
    console.log(`      clusterctl init (cert-manager, core, kubeadm bootstrap and control plane, kubevirt, kamaji; all Available) took ${seconds.toFixed(1)} s`);
    expect(output).to.match(/Installing cert-manager/);
    expect(output).to.match(/Your management cluster has been initialized successfully/);

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
      `ControlPlaneProvider/control-plane-kamaji@${OLD_VERSION}`,
      `ControlPlaneProvider/control-plane-kubeadm@${repo.clusterAPIVersion}`,
      `CoreProvider/cluster-api@${repo.clusterAPIVersion}`,
      `InfrastructureProvider/infrastructure-kubevirt@${OLD_VERSION}`,
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
    // The stand-in infrastructure kinds the Clusters below refer to.
    await installTestInfrastructure(kubeconfig);
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
    // The message names the selector as the defaulting webhook completed it: the validating webhook saw that.
    expect(refused).to.match(/spec\.template\.metadata\.labels: Forbidden: must match spec\.selector "[^"]*cluster\.x-k8s\.io\/cluster-name=defaulted-cluster/);
    await kubectl(kubeconfig, ['delete', 'machinedeployments.cluster.x-k8s.io', '-n', NAMESPACE, 'defaulted', '--wait=false']);
  });

  it('converts between v1beta1 and v1beta2 through the conversion webhook behind its Service', async function () {
    this.timeout(2 * 60_000);
    // v1beta1 refers to the infrastructure by apiVersion, v1beta2 by apiGroup.
    await kubectl(
      kubeconfig,
      ['apply', '-f', '-'],
      [
        testClusterYaml(NAMESPACE, 'converted'),
        '---',
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
        '  infrastructureRef:',
        '    apiVersion: infrastructure.kvcloud.test/v1alpha1',
        '    kind: TestCluster',
        '    name: converted',
        '',
      ].join('\n'),
    );
    const v2 = await getJSON<{
      apiVersion: string;
      spec: { paused?: boolean; clusterNetwork?: { pods?: { cidrBlocks?: string[] } }; infrastructureRef?: Record<string, string> };
    }>(kubeconfig, [
      'clusters.v1beta2.cluster.x-k8s.io',
      '-n',
      NAMESPACE,
      'converted',
    ]);
    expect(v2.apiVersion).to.equal('cluster.x-k8s.io/v1beta2');
    expect(v2.spec.clusterNetwork?.pods?.cidrBlocks).to.deep.equal(['192.168.0.0/16']);
    expect(v2.spec.paused).to.equal(true);
    expect(v2.spec.infrastructureRef).to.deep.equal({ apiGroup: 'infrastructure.kvcloud.test', kind: 'TestCluster', name: 'converted' });
    const v1 = await getJSON<{ apiVersion: string }>(kubeconfig, ['clusters.v1beta1.cluster.x-k8s.io', '-n', NAMESPACE, 'converted']);
    expect(v1.apiVersion).to.equal('cluster.x-k8s.io/v1beta1');
    await kubectl(kubeconfig, ['delete', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, 'converted', '--wait=false']);
  });

  it('admits and reconciles a Cluster with a MachineDeployment and a KubeadmConfigTemplate', async function () {
    this.timeout(3 * 60_000);
    await kubectl(kubeconfig, ['apply', '-f', '-'], workloadYaml('acme'));
    interface Status { phase?: string; conditions?: { type: string; status: string }[] }
    const clusterStatus = async () => (await getJSON<{ status?: Status }>(kubeconfig, ['clusters.v1beta2.cluster.x-k8s.io', '-n', NAMESPACE, 'acme'])).status;
    const condition = (s: Status | undefined, type: string) => s?.conditions?.find((c) => c.type === type)?.status;

    // The infrastructure is not provisioned yet: the Cluster waits for it, and says so.
    const provisioning = await waitFor(async () => {
      const s = await clusterStatus();
      return s?.phase === 'Provisioning' && condition(s, 'InfrastructureReady') === 'False' ? s : undefined;
    }, { timeoutMs: 60_000, what: 'the Cluster to be Provisioning, its infrastructure not ready' });
    expect(provisioning.phase).to.equal('Provisioning');

    // Acting as the infrastructure provider: the Cluster moves on.
    await markTestClusterProvisioned(kubeconfig, NAMESPACE, 'acme');
    await waitFor(async () => {
      const s = await clusterStatus();
      return s?.phase === 'Provisioned' && condition(s, 'InfrastructureReady') === 'True' ? true : undefined;
    }, { timeoutMs: 60_000, what: 'the Cluster to be Provisioned, its infrastructure ready' });

    const md = await waitFor(
      async () => {
        const m = await getJSON<{ metadata: { ownerReferences?: { kind: string; name: string }[] }; status?: Status }>(kubeconfig, [
          'machinedeployments.v1beta2.cluster.x-k8s.io',
          '-n',
          NAMESPACE,
          'acme-md-0',
        ]);
        return m.metadata.ownerReferences?.some((o) => o.kind === 'Cluster' && o.name === 'acme') && m.status?.conditions?.length ? m : undefined;
      },
      { timeoutMs: 60_000, what: 'the MachineDeployment to be owned by its Cluster and report conditions' },
    );
    expect(md.status?.conditions?.map((c) => c.type)).to.include('Available');
    await kubectl(kubeconfig, ['delete', 'clusters.cluster.x-k8s.io', '-n', NAMESPACE, 'acme', '--wait=false']);
  });

  it("upgrades kvcloud's providers from v0.1.0 to v0.1.1 with clusterctl upgrade plan and apply, existing objects unchanged", async function () {
    this.timeout(8 * 60_000);
    if (!repo) throw new Error('the repository was not created (see the before hook)');
    const r = repo;
    await kubectl(kubeconfig, ['apply', '-f', '-'], machineTemplateYaml('kept'));
    // Once the manager has published what a machine of it offers, nothing writes it any more.
    const before = await waitFor(
      async () => {
        const t = await getJSON<KeptObject>(kubeconfig, [MACHINE_TEMPLATES, '-n', NAMESPACE, 'kept']);
        return t.status?.capacity ? t : undefined;
      },
      { timeoutMs: 60_000, what: `the ${OLD_VERSION} manager to publish the template's capacity` },
    );
    const managersBefore = await managerDeployments(kubeconfig);

    // The next release of the same series is published beside it: the clusterctl.yaml entries stay as they are.
    for (const provider of [INFRASTRUCTURE_PROVIDER, CONTROL_PLANE_PROVIDER]) await writeRelease(provider, join(r.dir, 'repository'), NEW_VERSION);
    const upgradeStarted = Date.now();
    const plan = (await r.clusterctl(['upgrade', 'plan', '--kubeconfig', kubeconfig])).stdout;
    expect(plan).to.include(`Latest release available for the ${CONTRACT} Cluster API contract version:`);
    for (const name of ['infrastructure-kubevirt', 'control-plane-kamaji']) {
      expect(plan, plan).to.match(new RegExp(`^${name}\\s+\\S+\\s+\\w+Provider\\s+${OLD_VERSION}\\s+${NEW_VERSION}\\s*$`, 'm'));
    }
    expect(plan).to.include(`clusterctl upgrade apply --contract ${CONTRACT}`);
    await r.clusterctl(['upgrade', 'apply', '--kubeconfig', kubeconfig, '--contract', CONTRACT, '--wait-providers'], { timeoutMs: 6 * 60_000 });
    const upgradeSeconds = (Date.now() - upgradeStarted) / 1000;
    console.log(`      clusterctl upgrade plan and apply of kvcloud's providers to ${NEW_VERSION} took ${upgradeSeconds.toFixed(1)} s`);

    expect(await kvcloudProviderVersions(kubeconfig)).to.deep.equal({ 'control-plane-kamaji': NEW_VERSION, 'infrastructure-kubevirt': NEW_VERSION });
    // clusterctl replaces a provider's components (CRDs and namespace kept): new manager Deployments, serving again.
    const managersAfter = await managerDeployments(kubeconfig);
    for (const [name, uid] of Object.entries(managersBefore)) {
      expect(managersAfter[name]?.uid, `${name} replaced by the ${NEW_VERSION} components`).to.be.a('string').and.not.equal(uid);
      expect(managersAfter[name]?.available, `${name} Available`).to.equal('True');
    }
    // The CRDs' storage version did not change, so clusterctl had nothing to migrate, and the new manager finds the
    // template's status current: the object is untouched.
    const after = await getJSON<KeptObject>(kubeconfig, [MACHINE_TEMPLATES, '-n', NAMESPACE, 'kept']);
    expect(after).to.deep.equal(before);
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

function workloadYaml(name: string): string {
  return [
    testClusterYaml(NAMESPACE, name),
    '---',
    'apiVersion: infrastructure.kvcloud.test/v1alpha1',
    'kind: TestMachineTemplate',
    'metadata:',
    `  name: ${name}-md-0`,
    `  namespace: ${NAMESPACE}`,
    'spec:',
    '  template:',
    '    spec: {}',
    '---',
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
    '    spec:',
    '      format: cloud-config',
    '---',
    machineDeploymentYaml(`${name}-md-0`, name, { pool: 'md-0' }, { pool: 'md-0' }),
  ].join('\n');
}

const MACHINE_TEMPLATES = 'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io';
const MANAGERS = [
  [KUBEVIRT_PROVIDER_NAMESPACE, KUBEVIRT_MANAGER_DEPLOYMENT],
  [KAMAJI_PROVIDER_NAMESPACE, KAMAJI_MANAGER_DEPLOYMENT],
] as const;

interface KeptObject {
  metadata: { uid: string; resourceVersion: string };
  spec: unknown;
  status?: { capacity?: Record<string, string> };
}

/** The installed versions of kvcloud's providers, by clusterctl's provider name. */
async function kvcloudProviderVersions(kubeconfig: string): Promise<Record<string, string>> {
  const { items } = await getJSON<{ items: { metadata: { name: string }; version: string }[] }>(kubeconfig, ['providers.clusterctl.cluster.x-k8s.io', '-A']);
  return Object.fromEntries(items.filter((p) => ['infrastructure-kubevirt', 'control-plane-kamaji'].includes(p.metadata.name)).map((p) => [p.metadata.name, p.version]));
}

/** Each kvcloud manager Deployment's UID and Available condition. */
async function managerDeployments(kubeconfig: string): Promise<Record<string, { uid: string; available: string | undefined }>> {
  const entries = await Promise.all(
    MANAGERS.map(async ([namespace, name]) => {
      const d = await getJSON<Deployment & { metadata: { uid: string } }>(kubeconfig, ['deployment', '-n', namespace, name]);
      return [name, { uid: d.metadata.uid, available: d.status?.conditions?.find((c) => c.type === 'Available')?.status }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function machineTemplateYaml(name: string): string {
  return stringify({
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1',
    kind: 'KubevirtMachineTemplate',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      template: {
        spec: {
          virtualMachineTemplate: {
            spec: {
              runStrategy: 'Always',
              template: { spec: { domain: { cpu: { cores: 1 }, memory: { guest: '1Gi' }, devices: {} } } },
            },
          },
        },
      },
    },
  });
}
