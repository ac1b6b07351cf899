import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { parseCcmOptions } from '../ccm/config/options.js';
import { parseDriverFlags } from '../csi/flags.js';
import {
  assembleComponents,
  buildCsiManifest,
  CONTROL_PLANE_PROVIDER,
  CSI_BASES,
  INFRASTRUCTURE_PROVIDER,
  kustomizationFiles,
  metadataYaml,
  parseManifests,
  PROVIDER_LABEL,
  renderManifests,
  templateFiles,
  variablesOf,
  writeCsiRelease,
  writeRelease,
  type Manifest,
} from './release-manifests.js';

const ns: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'capk-system' } };
const crd = (plural: string): Manifest => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.infrastructure.cluster.x-k8s.io`, labels: { 'cluster.x-k8s.io/v1beta2': 'v1alpha1' } },
});
const sa: Manifest = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'capk-manager' } };
const role: Manifest = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'capk-manager-role' }, rules: [] };
const binding: Manifest = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'capk-manager-rolebinding' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'capk-manager-role' },
  subjects: [{ kind: 'ServiceAccount', name: 'capk-manager', namespace: 'capk-system' }],
};
const deployment = (container: Record<string, unknown> = { name: 'manager', image: 'x', args: ['--leader-elect'] }): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'capk-controller-manager' },
  spec: { template: { spec: { serviceAccountName: 'capk-manager', containers: [container] } } },
});
const complete = (): Manifest[] => [deployment(), binding, role, sa, crd('kubevirtmachines'), crd('kubevirtclusters'), ns];

describe('packaging/release-manifests', () => {
  describe('assembleComponents', () => {
    it('labels every object for clusterctl and keeps the labels it had', () => {
      const out = assembleComponents(INFRASTRUCTURE_PROVIDER, complete());
      for (const o of out) expect(o.metadata.labels, `${o.kind} ${o.metadata.name ?? ''}`).to.include({ [PROVIDER_LABEL]: 'infrastructure-kubevirt' });
      expect(out.find((o) => o.kind === 'CustomResourceDefinition')?.metadata.labels).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha1' });
    });

    it('puts namespaced objects in capk-system and leaves cluster-scoped ones without a namespace', () => {
      const out = assembleComponents(INFRASTRUCTURE_PROVIDER, complete());
      expect(out.find((o) => o.kind === 'ServiceAccount')?.metadata.namespace).to.equal('capk-system');
      expect(out.find((o) => o.kind === 'Deployment')?.metadata.namespace).to.equal('capk-system');
      expect(out.find((o) => o.kind === 'ClusterRole')?.metadata.namespace).to.equal(undefined);
    });

    it('orders objects for creation: Namespace, CRDs (in source order), identities and roles, bindings, the manager last', () => {
      const kinds = assembleComponents(INFRASTRUCTURE_PROVIDER, complete()).map((o) => `${o.kind}/${o.metadata.name ?? ''}`);
      expect(kinds).to.deep.equal([
        'Namespace/capk-system',
        'CustomResourceDefinition/kubevirtmachines.infrastructure.cluster.x-k8s.io',
        'CustomResourceDefinition/kubevirtclusters.infrastructure.cluster.x-k8s.io',
        'ServiceAccount/capk-manager',
        'ClusterRole/capk-manager-role',
        'ClusterRoleBinding/capk-manager-rolebinding',
        'Deployment/capk-controller-manager',
      ]);
    });

    it('does not modify its input', () => {
      const input = complete();
      const before = structuredClone(input);
      assembleComponents(INFRASTRUCTURE_PROVIDER, input);
      expect(input).to.deep.equal(before);
    });

    it('accepts a binding that grants another component\'s ServiceAccount access by its user name', () => {
      const user = 'system:serviceaccount:capi-kubeadm-bootstrap-system:capi-kubeadm-bootstrap-manager';
      const reader: Manifest = { ...binding, metadata: { name: 'capi-bootstrap-reader' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }] };
      const out = assembleComponents(INFRASTRUCTURE_PROVIDER, [...complete(), reader]);
      expect(out.find((o) => o.metadata.name === 'capi-bootstrap-reader')?.subjects).to.deep.equal(reader.subjects);
    });

    const refusals: { name: string; objects: () => Manifest[]; error: RegExp }[] = [
      { name: 'a second namespace', objects: () => [...complete(), { ...ns, metadata: { name: 'other' } }], error: /exactly one Namespace, found 2/ },
      { name: 'an object in another namespace', objects: () => [...complete(), { ...sa, metadata: { name: 'x', namespace: 'default' } }], error: /ServiceAccount default\/x is outside the provider namespace/ },
      { name: 'a cluster-scoped object with a namespace', objects: () => [...complete(), { ...role, metadata: { name: 'r', namespace: 'capk-system' } }], error: /ClusterRole capk-system\/r is cluster-scoped/ },
      { name: 'the same object twice', objects: () => [...complete(), sa], error: /ServiceAccount capk-system\/capk-manager is defined twice/ },
      { name: 'no CRDs', objects: () => complete().filter((o) => o.kind !== 'CustomResourceDefinition'), error: /no CustomResourceDefinition/ },
      { name: 'a binding to a role the release lacks', objects: () => complete().filter((o) => o.kind !== 'ClusterRole'), error: /refers to ClusterRole capk-manager-role, which the release does not define/ },
      { name: 'a binding to a ServiceAccount the release lacks', objects: () => [...complete().filter((o) => o.kind !== 'ServiceAccount')], error: /binds ServiceAccount capk-system\/capk-manager/ },
      {
        name: 'a binding to a ServiceAccount of another namespace, which clusterctl would move into the provider\'s',
        objects: () => [...complete(), { ...binding, metadata: { name: 'other' }, subjects: [{ kind: 'ServiceAccount', name: 'm', namespace: 'capi-system' }] }],
        error: /binds ServiceAccount capi-system\/m outside capk-system, which clusterctl would rebind to capk-system\/m: name it as kind User, system:serviceaccount:capi-system:m/,
      },
      {
        name: 'a policy binding to a policy the release lacks',
        objects: () => [...complete(), { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' }, spec: { policyName: 'p' } }],
        error: /binds policy "p", which the release does not define/,
      },
      { name: 'a manager without a "manager" container', objects: () => [...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'main', image: 'x' })], error: /no container named "manager"/ },
      { name: 'a manager with a command', objects: () => [...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'manager', image: 'x', command: ['/manager'] })], error: /args only/ },
    ];
    for (const tc of refusals) {
      it(`refuses ${tc.name}`, () => expect(() => assembleComponents(INFRASTRUCTURE_PROVIDER, tc.objects())).to.throw(tc.error));
    }
  });

  it('parses multi-document files, skipping documents that hold only comments', () => {
    const objects = parseManifests({ path: 'x.yaml', text: '# header\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\n# nothing\n' });
    expect(objects.map((o) => o.metadata.name)).to.deep.equal(['a']);
    expect(() => parseManifests({ path: 'bad.yaml', text: 'kind: ServiceAccount\n' })).to.throw(/bad.yaml: every document needs apiVersion, kind and metadata.name/);
  });

  it('keeps clusterctl variables verbatim when rendering', () => {
    const text = renderManifests(assembleComponents(INFRASTRUCTURE_PROVIDER, [...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'manager', image: '${IMG:=ghcr.io/a/b:dev}', args: ['--x=${X:=:8080}'] })]));
    expect(variablesOf(text)).to.deep.equal([
      { name: 'IMG', default: 'ghcr.io/a/b:dev' },
      { name: 'X', default: ':8080' },
    ]);
  });

  it('lists variables once each, with their defaults or none', () => {
    expect(variablesOf('${A} ${B:=1} ${A} ${C:=} $D')).to.deep.equal([
      { name: 'A', default: undefined },
      { name: 'B', default: '1' },
      { name: 'C', default: '' },
    ]);
  });

  it('writes metadata.yaml with the release series of the version and contract v1beta2', () => {
    expect(parse(metadataYaml('v0.3.1'))).to.deep.equal({
      apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
      kind: 'Metadata',
      releaseSeries: [{ major: 0, minor: 3, contract: 'v1beta2' }],
    });
    expect(() => metadataYaml('0.3')).to.throw(/not a semantic version/);
  });

  describe('kustomizationFiles', () => {
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'kvcloud-kustomize-'));
      await mkdir(join(root, 'base', 'sub'), { recursive: true });
      await mkdir(join(root, 'crd'), { recursive: true });
      await writeFile(join(root, 'base', 'kustomization.yaml'), '# a comment\nresources:\n  - a.yaml\n  - ../crd/c.yaml\n  - sub\n  - b.yaml\n');
      await writeFile(join(root, 'base', 'sub', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [s.yaml]\n');
      for (const f of ['base/a.yaml', 'base/b.yaml', 'crd/c.yaml', 'base/sub/s.yaml']) await writeFile(join(root, f), '');
      await mkdir(join(root, 'patched'));
      await writeFile(join(root, 'patched', 'kustomization.yaml'), 'resources: []\nnamespace: other\ncommonLabels: {a: b}\n');
    });
    after(() => rm(root, { recursive: true, force: true }));

    it('lists the resources in order, following directories into their kustomization', async () => {
      expect(await kustomizationFiles(root, 'base')).to.deep.equal(['base/a.yaml', 'crd/c.yaml', 'base/sub/s.yaml', 'base/b.yaml']);
    });

    it('refuses what kustomize would transform, so the release cannot differ from `kubectl apply -k`', async () => {
      let error = '';
      await kustomizationFiles(root, 'patched').catch((err: unknown) => (error = (err as Error).message));
      expect(error).to.match(/patched\/kustomization.yaml: only resources and images are supported, not namespace, commonLabels/);
    });
  });

  describe('the templates in templates/infrastructure', () => {
    // cluster-api-provider-kubevirt's template variables: users' `clusterctl generate` settings carry over.
    const CAPK_VARIABLES = ['CLUSTER_NAME', 'NAMESPACE', 'KUBERNETES_VERSION', 'CONTROL_PLANE_MACHINE_COUNT', 'WORKER_MACHINE_COUNT', 'NODE_VM_IMAGE_TEMPLATE', 'CRI_PATH', 'IMAGE_REPO'];
    // What only the hosted control plane template has: Kamaji's template name for the DataStore, the Service type,
    // and the tenant pod range (defaulted; the local cloud gives tenants side by side ranges of their own).
    const KAMAJI_VARIABLES = ['CLUSTER_DATASTORE', 'CONTROL_PLANE_SERVICE_TYPE', 'POD_CIDR'];
    // The worker node group's bounds for cluster-autoscaler; defaulted, so no existing invocation needs them.
    const AUTOSCALER_VARIABLES = ['WORKER_MACHINE_MIN_COUNT', 'WORKER_MACHINE_MAX_COUNT'];
    // The tenant's cloud controller manager: how many run (0 opts out) and its image; defaulted too.
    const CCM_VARIABLES = ['KVCLOUD_CCM_REPLICAS', 'KVCLOUD_CCM_IMAGE'];
    // The tenant's CSI driver: how many controllers run (0 opts out), the driver's image and the sidecars'; defaulted.
    const CSI_VARIABLES = ['KVCLOUD_CSI_REPLICAS', 'KVCLOUD_CSI_IMAGE', 'KVCLOUD_CSI_PROVISIONER_IMAGE', 'KVCLOUD_CSI_ATTACHER_IMAGE', 'KVCLOUD_CSI_RESIZER_IMAGE', 'KVCLOUD_CSI_SNAPSHOTTER_IMAGE', 'KVCLOUD_SNAPSHOT_CONTROLLER_IMAGE'];
    const sample: Record<string, string> = { CONTROL_PLANE_MACHINE_COUNT: '1', WORKER_MACHINE_COUNT: '3' };

    it('ships the default (hosted control plane), kubeadm, lb, ext-infra, persistent-storage and both topology flavors', async () => {
      const names = (await templateFiles()).map((f) => basename(f));
      expect(names).to.include.members([
        'cluster-template.yaml',
        'cluster-template-kubeadm.yaml',
        'cluster-template-lb.yaml',
        'cluster-template-ext-infra.yaml',
        'cluster-template-persistent-storage.yaml',
        'cluster-template-topology.yaml',
        'cluster-template-topology-kamaji.yaml',
      ]);
    });

    const docsOf = async (file: string): Promise<Manifest[]> => {
      const text = await readFile(file, 'utf8');
      const known = [...CAPK_VARIABLES, ...KAMAJI_VARIABLES, ...AUTOSCALER_VARIABLES, ...CCM_VARIABLES, ...CSI_VARIABLES];
      const unknown = variablesOf(text).filter((v) => !known.includes(v.name));
      expect(unknown, `${basename(file)}: variables neither CAPK, Kamaji, the autoscaler bounds, the CCM nor the CSI driver use`).to.deep.equal([]);
      // A variable only a hosted control plane (or an autoscaler, the CCM, the CSI driver) has must not be required: other users never set it.
      for (const v of variablesOf(text).filter((v) => [...KAMAJI_VARIABLES, ...AUTOSCALER_VARIABLES, ...CCM_VARIABLES, ...CSI_VARIABLES].includes(v.name))) expect(v.default, `${basename(file)} ${v.name}`).to.be.a('string');
      const substituted = text.replace(/\$\{([A-Z_]+)(?::=([^}]*))?\}/g, (_m, name: string, dflt: string | undefined) => sample[name] ?? dflt ?? `x-${name.toLowerCase()}`);
      return parseAllDocuments(substituted)
        .map((d) => d.toJS() as Manifest | null)
        .filter((d): d is Manifest => d !== null);
    };

    interface TopologyWorkers {
      replicas?: number;
      metadata?: { annotations?: Record<string, string> };
    }
    it('each cluster template uses only CAPK and Kamaji variables and puts every object in ${NAMESPACE}, named after ${CLUSTER_NAME}', async () => {
      for (const file of (await templateFiles()).filter((f) => basename(f).startsWith('cluster-template'))) {
        const docs = await docsOf(file);
        expect(docs.filter((d) => d.kind === 'Cluster'), basename(file)).to.have.length(1);
        for (const d of docs) {
          expect(d.metadata.namespace, `${basename(file)} ${d.kind}`).to.equal('x-namespace');
          expect(d.metadata.name, `${basename(file)} ${d.kind}`).to.match(/^x-cluster_name/);
        }
        const md = docs.find((d) => d.kind === 'MachineDeployment');
        if (md) expect(md.spec, basename(file)).to.deep.include({ replicas: 3 });
        // Every worker MachineDeployment is a node group cluster-autoscaler can use, bounds defaulted.
        if (md) {
          expect(md.metadata.annotations, basename(file)).to.deep.include({
            'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size': '1',
            'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size': '10',
          });
        }
        // A ClusterClass Cluster keeps its workers' replicas and no bounds: Cluster API's webhook refuses a
        // MachineDeployment topology with both (the user who hands md-0 to an autoscaler drops replicas and adds them).
        const topology = (docs.find((d) => d.kind === 'Cluster') as { spec: { topology?: { workers: { machineDeployments: TopologyWorkers[] } } } } | undefined)?.spec.topology;
        for (const w of topology?.workers.machineDeployments ?? []) {
          expect(w.replicas, basename(file)).to.equal(3);
          expect(Object.keys(w.metadata?.annotations ?? {}).filter((k) => k.includes('autoscaler')), basename(file)).to.deep.equal([]);
        }
      }
    });

    interface Ref {
      apiGroup: string;
      kind: string;
      name: string;
    }
    const find = (docs: Manifest[], ref: Ref) => docs.find((d) => d.kind === ref.kind && d.apiVersion.startsWith(`${ref.apiGroup}/`) && d.metadata.name === ref.name);

    it('the default flavor has a hosted control plane: KamajiControlPlane v1alpha2 and an externally managed KubevirtCluster, workers joining with kubeadm', async () => {
      const file = (await templateFiles()).find((f) => basename(f) === 'cluster-template.yaml') ?? '';
      const docs = await docsOf(file);
      const cluster = docs.find((d) => d.kind === 'Cluster') as Manifest & { spec: { controlPlaneRef: Ref; infrastructureRef: Ref } };
      const kcp = find(docs, cluster.spec.controlPlaneRef);
      expect(kcp?.apiVersion).to.equal('controlplane.cluster.x-k8s.io/v1alpha2');
      expect(kcp?.kind).to.equal('KamajiControlPlane');
      expect(kcp?.spec).to.deep.include({ replicas: 1, dataStoreName: 'default', registry: 'registry.k8s.io', version: 'x-kubernetes_version' });
      expect(kcp?.spec).to.have.nested.property('network.serviceType', 'LoadBalancer');
      // Kamaji's default addons: the apiserver reaches the VMs' kubelets through Konnectivity.
      expect(kcp?.spec).to.have.property('addons').that.deep.equals({ coreDNS: {}, kubeProxy: {}, konnectivity: {} });
      const infra = find(docs, cluster.spec.infrastructureRef);
      expect(infra?.kind).to.equal('KubevirtCluster');
      expect(infra?.metadata.annotations).to.deep.equal({ 'cluster.x-k8s.io/managed-by': 'kamaji' });
      // No machine runs the control plane: the only machine template is the workers'.
      expect(docs.filter((d) => d.kind === 'KubevirtMachineTemplate').map((d) => d.metadata.name)).to.deep.equal(['x-cluster_name-md-0']);
      expect(docs.map((d) => d.kind)).to.include.members(['MachineDeployment', 'KubeadmConfigTemplate']);
      expect(docs.map((d) => d.kind)).not.to.include('KubeadmControlPlane');
    });

    interface PodSpec {
      serviceAccountName?: string;
      containers: { name: string; image: string; command?: string[]; args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
      volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
    }
    interface Rule {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }

    it('the default flavor runs the tenant\'s CCM in its namespace: <cluster>-kubeconfig, its cloud-config, a least-privilege Role, kubelets with --cloud-provider=external', async () => {
      const file = (await templateFiles()).find((f) => basename(f) === 'cluster-template.yaml') ?? '';
      const docs = await docsOf(file);
      const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
      const deployment = named('Deployment', 'x-cluster_name-ccm') as (Manifest & { spec: { replicas: number; template: { spec: PodSpec } } }) | undefined;
      if (!deployment) throw new Error('no Deployment x-cluster_name-ccm');
      expect(deployment.spec.replicas, 'KVCLOUD_CCM_REPLICAS defaults to one CCM').to.equal(1);
      const pod = deployment.spec.template.spec;
      const [container, ...others] = pod.containers;
      expect(others).to.deep.equal([]);
      expect(container?.image).to.equal('ghcr.io/kvcloud/ccm:dev');
      expect(container?.command, 'args only: the image\'s entrypoint is the CCM').to.equal(undefined);

      // The flags start the CCM: every file they name is a mounted volume's key, the cloud-config passes its strict parser.
      const files: Record<string, string> = {};
      for (const m of container?.volumeMounts ?? []) {
        const volume = pod.volumes.find((v) => v.name === m.name);
        if (volume?.secret) files[`${m.mountPath}/value`] = `Secret ${volume.secret.secretName}`;
        if (volume?.configMap) {
          const data = (named('ConfigMap', volume.configMap.name) as (Manifest & { data: Record<string, string> }) | undefined)?.data ?? {};
          for (const [key, text] of Object.entries(data)) files[`${m.mountPath}/${key}`] = text;
        }
      }
      // docsOf's stand-in for ${CLUSTER_NAME} has an underscore, which no real cluster name has.
      const args = (container?.args ?? []).map((a) => a.replace('x-cluster_name', 'acme'));
      const options = parseCcmOptions(args, (path) => {
        const text = files[path];
        if (text === undefined) throw new Error(`${path} is in no mounted volume`);
        return text;
      });
      expect(options.clusterName).to.equal('acme');
      expect(files[options.flags.kubeconfig ?? ''], '--kubeconfig: the tenant\'s admin kubeconfig Cluster API writes').to.equal('Secret x-cluster_name-kubeconfig');
      expect(options.cloudConfig).to.deep.include({ kubeconfig: '', namespace: 'x-namespace' });
      expect(options.cloudConfig.loadBalancer).to.include({ enabled: true, enableEPSController: true });
      // Zone and region would need get on the infra Nodes, which a namespaced Role cannot grant.
      expect(options.cloudConfig.instancesV2).to.deep.equal({ enabled: true, zoneAndRegionEnabled: false });

      // Its ServiceAccount is bound to exactly what it uses in the namespace, and nothing cluster-scoped exists.
      expect(named('ServiceAccount', pod.serviceAccountName ?? ''), `ServiceAccount ${pod.serviceAccountName ?? ''}`).to.not.equal(undefined);
      const bindings = docs.filter((d) => d.kind === 'RoleBinding' && (d.subjects as { name: string }[]).some((sub) => sub.name === pod.serviceAccountName));
      expect(bindings, 'RoleBindings of the CCM').to.have.length(1);
      expect(bindings[0]?.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'x-namespace' }]);
      const role = named('Role', (bindings[0]?.roleRef as { kind: string; name: string }).name) as (Manifest & { rules: Rule[] }) | undefined;
      const grants = (role?.rules ?? []).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}: ${[...r.verbs].sort().join(',')}`))).sort();
      expect(grants).to.deep.equal([
        '/services: create,delete,get,list,patch,watch',
        'discovery.k8s.io/endpointslices: create,delete,get,list,patch,watch',
        'kubevirt.io/virtualmachineinstances: get,list,watch',
        'kubevirt.io/virtualmachines: get,list,watch',
      ]);
      expect(docs.map((d) => d.kind)).to.not.include.members(['ClusterRole', 'ClusterRoleBinding']);
      // Nothing owns them: the KubevirtCluster's deletion finds them by CAPK's extra-resource label.
      for (const d of docs.filter((d) => ['Deployment', 'ConfigMap', 'ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind))) {
        expect(d.metadata.labels, `${d.kind} ${d.metadata.name ?? ''}`).to.include({ 'cluster.x-k8s.io/cluster-name': 'x-cluster_name', 'capk.cluster.x-k8s.io/template-kind': 'extra-resource' });
      }

      // The tenant side hands the cloud work to the CCM: kubelets and controller-manager run with an external provider.
      const kct = docs.find((d) => d.kind === 'KubeadmConfigTemplate');
      expect(kct?.spec).to.have.nested.property('template.spec.joinConfiguration.nodeRegistration.kubeletExtraArgs').that.deep.includes({ name: 'cloud-provider', value: 'external' });
      expect(docs.find((d) => d.kind === 'KamajiControlPlane')?.spec).to.have.nested.property('controllerManager.extraArgs').that.includes('--cloud-provider=external');
    });

    it('the default flavor runs the tenant\'s CSI controller and snapshot-controller as config/csi/controller, and hands it config/csi/tenant and its snapshot class to apply into the tenant after the snapshot CRDs', async () => {
      const root = join(import.meta.dirname, '..');
      const file = (await templateFiles()).find((f) => basename(f) === 'cluster-template.yaml') ?? '';
      const docs = await docsOf(file);
      const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
      const base = async (dir: string) => parseAllDocuments(await buildCsiManifest(dir, root)).map((d) => d.toJS() as Manifest);
      const controllerBase = await base('config/csi/controller');
      type CsiDeployment = Manifest & { spec: { replicas: number; template: { spec: PodSpec } } };
      const upstreamShape = controllerBase.find((d) => d.kind === 'Deployment' && d.metadata.name === 'kubevirt-csi-controller') as CsiDeployment;
      const deployment = named('Deployment', 'x-cluster_name-csi-controller') as CsiDeployment | undefined;
      if (!deployment) throw new Error('no Deployment x-cluster_name-csi-controller');
      expect(deployment.spec.replicas, 'KVCLOUD_CSI_REPLICAS defaults to one controller').to.equal(1);
      const pod = deployment.spec.template.spec;
      // The same driver and sidecars at the same default images as the base; args only (the images' entrypoints).
      expect(pod.containers.map((c) => [c.name, c.image, c.command])).to.deep.equal(upstreamShape.spec.template.spec.containers.map((c) => [c.name, c.image, undefined]));

      // The driver's flags parse, and every file they name is a key of a mounted volume.
      const driver = pod.containers[0];
      const files: Record<string, string> = {};
      for (const m of driver?.volumeMounts ?? []) {
        const volume = pod.volumes.find((v) => v.name === m.name);
        if (volume?.secret) files[`${m.mountPath}/value`] = `Secret ${volume.secret.secretName}`;
        if (volume?.configMap) for (const [key, text] of Object.entries((named('ConfigMap', volume.configMap.name) as (Manifest & { data: Record<string, string> }) | undefined)?.data ?? {})) files[`${m.mountPath}/${key}`] = text;
      }
      const flags = parseDriverFlags(driver?.args ?? []);
      expect(flags).to.deep.include({ runControllerService: true, runNodeService: false, infraNamespace: 'x-namespace', infraLabels: { 'csi-driver/cluster': 'x-cluster_name' }, clusterName: 'x-cluster_name', infraKubeconfig: undefined, tenantSnapshotCrds: true });
      expect(files[flags.tenantKubeconfig ?? ''], '--tenant-cluster-kubeconfig: the tenant\'s admin kubeconfig').to.equal('Secret x-cluster_name-kubeconfig');
      // What the controller applies into the tenant after the VolumeSnapshot CRDs is config/csi/tenant, the node plugin
      // at the driver's image, and the default VolumeSnapshotClass of config/csi/tenant/snapshot, which needs them.
      const tenantObjects = parseAllDocuments(files[flags.tenantManifests ?? ''] ?? '').map((d) => d.toJS() as Manifest);
      expect(tenantObjects, '--tenant-manifests: config/csi/tenant and its snapshot class').to.deep.equal([...(await base('config/csi/tenant')), ...(await base('config/csi/tenant/snapshot'))]);

      // snapshot-controller as the base has it, on its own, through the tenant's kubeconfig alone; it follows the CSI
      // controller's replicas (KVCLOUD_CSI_REPLICAS=0 opts out of both).
      type SnapshotControllerDeployment = Manifest & { spec: { replicas: number; template: { spec: PodSpec & { automountServiceAccountToken?: boolean } } } };
      const snapshotShape = controllerBase.find((d) => d.kind === 'Deployment' && d.metadata.name === 'snapshot-controller') as SnapshotControllerDeployment;
      const snapshotController = named('Deployment', 'x-cluster_name-snapshot-controller') as SnapshotControllerDeployment | undefined;
      if (!snapshotController) throw new Error('no Deployment x-cluster_name-snapshot-controller');
      expect(snapshotController.spec.replicas).to.equal(deployment.spec.replicas);
      const snapshotPod = snapshotController.spec.template.spec;
      expect(snapshotPod.containers).to.deep.equal(snapshotShape.spec.template.spec.containers);
      expect(snapshotPod.containers[0]?.image).to.equal('registry.k8s.io/sig-storage/snapshot-controller:v8.7.0');
      expect(snapshotPod.containers[0]?.args).to.include('--prevent-volume-mode-conversion=true');
      expect(snapshotPod.automountServiceAccountToken, 'no infra credentials').to.equal(false);
      expect(snapshotPod.serviceAccountName).to.equal(undefined);
      expect(snapshotPod.volumes).to.deep.equal([{ name: 'credentials', emptyDir: {} }, { name: 'tenantcluster', secret: { secretName: 'x-cluster_name-kubeconfig' } }]);
      // snapshot-controller itself reaches the tenant only as its ServiceAccount, through the kubeconfig kept beside it.
      expect(snapshotPod.containers[0]?.volumeMounts.map((m) => m.name)).to.deep.equal(['credentials']);

      // Its ServiceAccount has config/csi/controller's Role, in the namespace only.
      const bindings = docs.filter((d) => d.kind === 'RoleBinding' && (d.subjects as { name: string }[]).some((sub) => sub.name === pod.serviceAccountName));
      expect(bindings.map((b) => b.subjects)).to.deep.equal([[{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'x-namespace' }]]);
      const role = named('Role', (bindings[0]?.roleRef as { name: string }).name);
      expect(role?.rules).to.deep.equal(controllerBase.find((d) => d.kind === 'Role')?.rules);
      expect(JSON.stringify(role?.rules)).to.include('virtualmachineinstances/removevolume');
    });

    it('the kubeadm flavor keeps CAPK\'s default: a KubeadmControlPlane on VMs behind the KubevirtCluster\'s Service', async () => {
      const file = (await templateFiles()).find((f) => basename(f) === 'cluster-template-kubeadm.yaml') ?? '';
      const docs = await docsOf(file);
      const cluster = docs.find((d) => d.kind === 'Cluster') as Manifest & { spec: { controlPlaneRef: Ref; infrastructureRef: Ref } };
      expect(find(docs, cluster.spec.controlPlaneRef)?.kind).to.equal('KubeadmControlPlane');
      expect(find(docs, cluster.spec.infrastructureRef)?.metadata.annotations).to.equal(undefined);
    });

    it('each ClusterClass a topology template refers to ships as clusterclass-<name>.yaml, with its templates', async () => {
      const files = await templateFiles();
      const classes: string[] = [];
      for (const file of files.filter((f) => basename(f).startsWith('cluster-template'))) {
        const cluster = (await docsOf(file)).find((d) => d.kind === 'Cluster') as { spec: { topology?: { classRef: { name: string } } } } | undefined;
        const className = cluster?.spec.topology?.classRef.name;
        if (!className) continue;
        classes.push(className);
        const classFile = files.find((f) => basename(f) === `clusterclass-${className}.yaml`);
        expect(classFile, `clusterclass-${className}.yaml`).to.be.a('string');
        const docs = await docsOf(classFile ?? '');
        expect(docs.map((d) => d.kind)).to.include.members(['ClusterClass', 'KubevirtClusterTemplate', 'KubevirtMachineTemplate', 'KubeadmConfigTemplate']);
        for (const d of docs) {
          expect(d.metadata.namespace, `${className} ${d.kind}`).to.equal('x-namespace');
          expect(d.metadata.name, `${className} ${d.kind}`).to.match(new RegExp(`^${className}`));
        }
        // Every template the class names is in the file.
        const spec = (docs.find((d) => d.kind === 'ClusterClass') as Manifest & { spec: unknown }).spec;
        const refs = JSON.stringify(spec).match(/"templateRef":\{[^}]*\}/g) ?? [];
        for (const r of refs) {
          const ref = (JSON.parse(`{${r}}`) as { templateRef: { apiVersion: string; kind: string; name: string } }).templateRef;
          expect(docs.some((d) => d.apiVersion === ref.apiVersion && d.kind === ref.kind && d.metadata.name === ref.name), `${className}: ${ref.kind} ${ref.name}`).to.equal(true);
        }
      }
      expect(classes.sort()).to.deep.equal(['kubevirt-kamaji', 'kubevirt-quick-start']);
    });

    it('the kubevirt-kamaji class hosts the control plane (KamajiControlPlaneTemplate, no control-plane machines) on externally managed KubevirtClusters', async () => {
      const file = (await templateFiles()).find((f) => basename(f) === 'clusterclass-kubevirt-kamaji.yaml') ?? '';
      const docs = await docsOf(file);
      const cc = docs.find((d) => d.kind === 'ClusterClass') as Manifest & { spec: { controlPlane: Record<string, unknown> } };
      expect(cc.spec.controlPlane).to.have.nested.property('templateRef.kind', 'KamajiControlPlaneTemplate');
      expect(cc.spec.controlPlane).not.to.have.property('machineInfrastructure');
      const clusterTemplate = docs.find((d) => d.kind === 'KubevirtClusterTemplate');
      expect(clusterTemplate?.spec).to.have.nested.property('template.metadata.annotations.cluster\\.x-k8s\\.io/managed-by', 'kamaji');
    });
  });

  describe('the releases built from this repository', () => {
    let out: string;
    before(async () => (out = await mkdtemp(join(tmpdir(), 'kvcloud-release-'))));
    after(() => rm(out, { recursive: true, force: true }));

    const objectsOf = async (path: string) => parseAllDocuments(await readFile(path, 'utf8')).map((d) => d.toJS() as Manifest);

    it('infrastructure-kubevirt needs no variable set to install, runs the manager image with args only, and ships every template', async () => {
      const release = await writeRelease(INFRASTRUCTURE_PROVIDER, out, 'v0.1.0');
      expect(release.dir).to.equal(join(out, 'infrastructure-kubevirt', 'v0.1.0'));
      const components = await readFile(release.componentsPath, 'utf8');
      expect(variablesOf(components).filter((v) => v.default === undefined)).to.deep.equal([]);
      const objects = await objectsOf(release.componentsPath);
      expect(objects[0]?.kind).to.equal('Namespace');
      expect(objects.at(-1)?.kind).to.equal('Deployment');
      expect(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).to.have.members([
        'kubevirtclusters.infrastructure.cluster.x-k8s.io',
        'kubevirtmachines.infrastructure.cluster.x-k8s.io',
        'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
        'kubevirtclustertemplates.infrastructure.cluster.x-k8s.io',
      ]);
      expect(components).to.include('${KVCLOUD_INFRA_IMAGE:=ghcr.io/kvcloud/infrastructure-manager:dev}');
      expect(release.templates.map((t) => basename(t))).to.include.members(['cluster-template.yaml', 'cluster-template-kubeadm.yaml', 'clusterclass-kubevirt-kamaji.yaml']);
      expect(parse(await readFile(join(release.dir, 'metadata.yaml'), 'utf8'))).to.have.nested.property('releaseSeries[0].contract', 'v1beta2');
    });

    it('csi-driver ships config/csi\'s bases as `kubectl apply -k` applies them, the controller\'s without a namespace of its own', async () => {
      const dir = await writeCsiRelease(out, 'v0.1.0');
      expect(dir).to.equal(join(out, 'csi-driver', 'v0.1.0'));
      const root = join(import.meta.dirname, '..');
      for (const b of CSI_BASES) {
        const shipped = await objectsOf(join(dir, b.file));
        const kustomized = (await Promise.all((await kustomizationFiles(root, b.dir)).map(async (f) => parseManifests({ path: f, text: await readFile(join(root, f), 'utf8') })))).flat();
        expect(shipped, b.file).to.deep.equal(kustomized);
        expect(variablesOf(await readFile(join(dir, b.file), 'utf8')), b.file).to.deep.equal([]);
      }
      // Applied with -n <the tenant's infra namespace>: nothing in it may name another.
      for (const o of await objectsOf(join(dir, 'csi-controller.yaml'))) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name ?? ''}`).to.equal(undefined);
      expect((await objectsOf(join(dir, 'csi-tenant.yaml'))).map((o) => o.kind)).to.include.members(['CSIDriver', 'DaemonSet', 'StorageClass']);
    });

    it('control-plane-kamaji is config/controlplane as `kubectl apply -k` installs it, labelled for clusterctl, in kamaji-system', async () => {
      const release = await writeRelease(CONTROL_PLANE_PROVIDER, out, 'v0.1.0');
      expect(release.dir).to.equal(join(out, 'control-plane-kamaji', 'v0.1.0'));
      expect(basename(release.componentsPath)).to.equal('control-plane-components.yaml');
      expect(release.templates).to.deep.equal([]);
      const objects = await objectsOf(release.componentsPath);
      const kustomized = (await Promise.all((await kustomizationFiles(join(import.meta.dirname, '..'), 'config/controlplane')).map(async (f) => parseManifests({ path: f, text: await readFile(join(import.meta.dirname, '..', f), 'utf8') })))).flat();
      expect(objects.map((o) => `${o.kind} ${o.metadata.name ?? ''}`).sort()).to.deep.equal(kustomized.map((o) => `${o.kind} ${o.metadata.name ?? ''}`).sort());
      for (const o of objects) {
        expect(o.metadata.labels, `${o.kind} ${o.metadata.name ?? ''}`).to.include({ [PROVIDER_LABEL]: 'control-plane-kamaji' });
        if (!['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind)) {
          expect(o.metadata.namespace, `${o.kind} ${o.metadata.name ?? ''}`).to.equal('kamaji-system');
        }
      }
      expect(objects[0]?.metadata.name).to.equal('kamaji-system');
      expect(objects.at(-1)?.kind).to.equal('Deployment');
      // clusterctl and Cluster API find the kinds by the contract label; Kamaji's own kinds ship in the same release.
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
      expect(crds.map((o) => o.metadata.name)).to.have.members([
        'datastores.kamaji.clastix.io',
        'tenantcontrolplanes.kamaji.clastix.io',
        'kamajicontrolplanes.controlplane.cluster.x-k8s.io',
        'kamajicontrolplanetemplates.controlplane.cluster.x-k8s.io',
      ]);
      for (const crd of crds.filter((o) => o.metadata.name?.endsWith('.controlplane.cluster.x-k8s.io'))) {
        expect(crd.metadata.labels, crd.metadata.name).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha2' });
      }
      // The one variable: the operator's image, defaulting to the reference config/controlplane's images: sets.
      expect(variablesOf(await readFile(release.componentsPath, 'utf8'))).to.deep.equal([{ name: 'KVCLOUD_CONTROLPLANE_IMAGE', default: 'ghcr.io/kvcloud/controlplane-manager:dev' }]);
      expect(parse(await readFile(join(release.dir, 'metadata.yaml'), 'utf8'))).to.deep.equal({
        apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
        kind: 'Metadata',
        releaseSeries: [{ major: 0, minor: 1, contract: 'v1beta2' }],
      });
    });
  });
});
