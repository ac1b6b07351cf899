import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import {
  assembleComponents,
  metadataYaml,
  parseManifests,
  PROVIDER_LABEL,
  renderManifests,
  templateFiles,
  variablesOf,
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

describe('hack/release-manifests', () => {
  describe('assembleComponents', () => {
    it('labels every object for clusterctl and keeps the labels it had', () => {
      const out = assembleComponents(complete());
      for (const o of out) expect(o.metadata.labels, `${o.kind} ${o.metadata.name ?? ''}`).to.include({ [PROVIDER_LABEL]: 'infrastructure-kubevirt' });
      expect(out.find((o) => o.kind === 'CustomResourceDefinition')?.metadata.labels).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha1' });
    });

    it('puts namespaced objects in capk-system and leaves cluster-scoped ones without a namespace', () => {
      const out = assembleComponents(complete());
      expect(out.find((o) => o.kind === 'ServiceAccount')?.metadata.namespace).to.equal('capk-system');
      expect(out.find((o) => o.kind === 'Deployment')?.metadata.namespace).to.equal('capk-system');
      expect(out.find((o) => o.kind === 'ClusterRole')?.metadata.namespace).to.equal(undefined);
    });

    it('orders objects for creation: Namespace, CRDs (in source order), identities and roles, bindings, the manager last', () => {
      const kinds = assembleComponents(complete()).map((o) => `${o.kind}/${o.metadata.name ?? ''}`);
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
      assembleComponents(input);
      expect(input).to.deep.equal(before);
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
        name: 'a policy binding to a policy the release lacks',
        objects: () => [...complete(), { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' }, spec: { policyName: 'p' } }],
        error: /binds policy "p", which the release does not define/,
      },
      { name: 'a manager without a "manager" container', objects: () => [...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'main', image: 'x' })], error: /no container named "manager"/ },
      { name: 'a manager with a command', objects: () => [...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'manager', image: 'x', command: ['/manager'] })], error: /args only/ },
    ];
    for (const tc of refusals) {
      it(`refuses ${tc.name}`, () => expect(() => assembleComponents(tc.objects())).to.throw(tc.error));
    }
  });

  it('parses multi-document files, skipping documents that hold only comments', () => {
    const objects = parseManifests({ path: 'x.yaml', text: '# header\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\n# nothing\n' });
    expect(objects.map((o) => o.metadata.name)).to.deep.equal(['a']);
    expect(() => parseManifests({ path: 'bad.yaml', text: 'kind: ServiceAccount\n' })).to.throw(/bad.yaml: every document needs apiVersion, kind and metadata.name/);
  });

  it('keeps clusterctl variables verbatim when rendering', () => {
    const text = renderManifests(assembleComponents([...complete().filter((o) => o.kind !== 'Deployment'), deployment({ name: 'manager', image: '${IMG:=ghcr.io/a/b:dev}', args: ['--x=${X:=:8080}'] })]));
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

  describe('the templates in templates/infrastructure', () => {
    // cluster-api-provider-kubevirt's template variables: users' `clusterctl generate` settings carry over.
    const CAPK_VARIABLES = ['CLUSTER_NAME', 'NAMESPACE', 'KUBERNETES_VERSION', 'CONTROL_PLANE_MACHINE_COUNT', 'WORKER_MACHINE_COUNT', 'NODE_VM_IMAGE_TEMPLATE', 'CRI_PATH', 'IMAGE_REPO'];
    const sample: Record<string, string> = { CONTROL_PLANE_MACHINE_COUNT: '1', WORKER_MACHINE_COUNT: '3' };

    it('ships the default, lb, ext-infra and persistent-storage flavors', async () => {
      const names = (await templateFiles()).map((f) => basename(f));
      expect(names).to.include.members(['cluster-template.yaml', 'cluster-template-lb.yaml', 'cluster-template-ext-infra.yaml', 'cluster-template-persistent-storage.yaml']);
    });

    const docsOf = async (file: string): Promise<Manifest[]> => {
      const text = await readFile(file, 'utf8');
      expect(variablesOf(text).map((v) => v.name), basename(file)).to.satisfy((names: string[]) => names.every((n) => CAPK_VARIABLES.includes(n)));
      const substituted = text.replace(/\$\{([A-Z_]+)(?::=[^}]*)?\}/g, (_m, name: string) => sample[name] ?? `x-${name.toLowerCase()}`);
      return parseAllDocuments(substituted)
        .map((d) => d.toJS() as Manifest | null)
        .filter((d): d is Manifest => d !== null);
    };

    it('each cluster template uses only CAPK variables and puts every object in ${NAMESPACE}, named after ${CLUSTER_NAME}', async () => {
      for (const file of (await templateFiles()).filter((f) => basename(f).startsWith('cluster-template'))) {
        const docs = await docsOf(file);
        expect(docs.filter((d) => d.kind === 'Cluster'), basename(file)).to.have.length(1);
        for (const d of docs) {
          expect(d.metadata.namespace, `${basename(file)} ${d.kind}`).to.equal('x-namespace');
          expect(d.metadata.name, `${basename(file)} ${d.kind}`).to.match(/^x-cluster_name/);
        }
        const md = docs.find((d) => d.kind === 'MachineDeployment');
        if (md) expect(md.spec, basename(file)).to.deep.include({ replicas: 3 });
      }
    });

    it('each ClusterClass a topology template refers to ships as clusterclass-<name>.yaml, with its templates', async () => {
      const files = await templateFiles();
      for (const file of files.filter((f) => basename(f).startsWith('cluster-template'))) {
        const cluster = (await docsOf(file)).find((d) => d.kind === 'Cluster') as { spec: { topology?: { classRef: { name: string } } } } | undefined;
        const className = cluster?.spec.topology?.classRef.name;
        if (!className) continue;
        const classFile = files.find((f) => basename(f) === `clusterclass-${className}.yaml`);
        expect(classFile, `clusterclass-${className}.yaml`).to.be.a('string');
        const docs = await docsOf(classFile ?? '');
        expect(docs.map((d) => d.kind)).to.include.members(['ClusterClass', 'KubevirtClusterTemplate', 'KubevirtMachineTemplate']);
        for (const d of docs) {
          expect(d.metadata.namespace, `${className} ${d.kind}`).to.equal('x-namespace');
          expect(d.metadata.name, `${className} ${d.kind}`).to.match(new RegExp(`^${className}`));
        }
      }
    });
  });

  describe('the release built from this repository', () => {
    let out: string;
    before(async () => (out = await mkdtemp(join(tmpdir(), 'kvcloud-release-'))));
    after(() => rm(out, { recursive: true, force: true }));

    it('needs no variable set to install, runs the manager image with args only, and ships every template', async () => {
      const release = await writeRelease(out, 'v0.1.0');
      expect(release.dir).to.equal(join(out, 'infrastructure-kubevirt', 'v0.1.0'));
      const components = await readFile(release.componentsPath, 'utf8');
      expect(variablesOf(components).filter((v) => v.default === undefined)).to.deep.equal([]);
      const objects = parseAllDocuments(components).map((d) => d.toJS() as Manifest);
      expect(objects[0]?.kind).to.equal('Namespace');
      expect(objects.at(-1)?.kind).to.equal('Deployment');
      expect(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).to.include.members([
        'kubevirtclusters.infrastructure.cluster.x-k8s.io',
        'kubevirtmachines.infrastructure.cluster.x-k8s.io',
        'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
        'kubevirtclustertemplates.infrastructure.cluster.x-k8s.io',
      ]);
      expect(components).to.include('${KVCLOUD_INFRA_IMAGE:=ghcr.io/kvcloud/infrastructure-manager:dev}');
      expect(release.templates.map((t) => basename(t))).to.include('cluster-template.yaml');
      expect(parse(await readFile(join(release.dir, 'metadata.yaml'), 'utf8'))).to.have.nested.property('releaseSeries[0].contract', 'v1beta2');
    });
  });
});
