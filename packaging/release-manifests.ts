// `make release-manifests`: the clusterctl releases of kvcloud's two Cluster API providers, assembled from config/
// the way kustomize would (no kustomize binary is needed). Each release is one components file with every object
// labelled for clusterctl and a metadata.yaml mapping the release series to the Cluster API contract; the
// infrastructure provider also ships the cluster templates. The output directory is laid out as a clusterctl local
// repository:
//   <out>/infrastructure-kubevirt/<version>/{infrastructure-components.yaml,metadata.yaml,cluster-template*.yaml}
//   <out>/control-plane-kamaji/<version>/{control-plane-components.yaml,metadata.yaml}
// Beside them, the CSI driver's manifests (no Cluster API provider, so clusterctl ignores the directory):
//   <out>/csi-driver/<version>/{csi-controller.yaml,csi-tenant.yaml,csi-snapshot-class.yaml}
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { IMAGE_REPOSITORY } from './image-contents.js';
import { kustomizeBuild, podContainers, type Manifest } from './kustomize.js';

export { kustomizationFiles, parseManifests, type Manifest, type SourceFile } from './kustomize.js';

export const PROVIDER_LABEL = 'cluster.x-k8s.io/provider';
/** The Cluster API contract both releases implement. */
export const CONTRACT = 'v1beta2';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** What differs between the providers' releases. */
export interface Provider {
  /** clusterctl's name for the provider: <type>-<name>, the release directory and the label value. */
  name: string;
  /** The file clusterctl reads for a provider of this type. */
  componentsFile: 'infrastructure-components.yaml' | 'control-plane-components.yaml';
  /** Where every namespaced object of the release lives. */
  namespace: string;
  /** The objects of config/ the components are made of, in reading order. */
  objects(root: string): Promise<Manifest[]>;
  /**
   * The clusterctl variable that sets the manager's image, when the sources name the image plainly (a kustomize
   * base, which sets it with `images:`): the release turns the reference into `${<it>:=<reference>}`.
   */
  imageVariable?: string;
  /** Whether the release carries the cluster templates (clusterctl reads them from infrastructure providers). */
  templates: boolean;
}

// Creation order: what others refer to comes first (the Namespace holds the rest, CRDs precede the policies that
// check their kinds, roles precede their bindings), and the manager comes last, once all it needs exists.
const KIND_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ServiceAccount',
  'ClusterRole',
  'Role',
  'ClusterRoleBinding',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'Deployment',
];

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** The infrastructure provider, under the name clusterctl knows CAPK by (`--infrastructure kubevirt`). */
export const INFRASTRUCTURE_PROVIDER: Provider = {
  name: 'infrastructure-kubevirt',
  componentsFile: 'infrastructure-components.yaml',
  // CAPK's namespace, kept so a drop-in replacement lands where CAPK users look for it.
  namespace: 'capk-system',
  // config/infrastructure's kustomization, so the release and a kustomize build are the same objects.
  objects: (root) => kustomizeBuild(root, 'config/infrastructure'),
  imageVariable: 'KVCLOUD_INFRA_IMAGE',
  templates: true,
};

/**
 * The control plane provider (`--control-plane kamaji`): one operator serving TenantControlPlane and DataStore (Kamaji's kinds) and
 * KamajiControlPlane (cluster-api-control-plane-provider-kamaji's). Upstream these are two installs that both land
 * in kamaji-system (Kamaji's chart, and the provider's `clusterctl init --control-plane kamaji`); ours is one
 * operator, so its one namespace is that same kamaji-system, the one config/controlplane (and `kubectl apply -k`)
 * uses and where Kamaji users look for it. Its sources are config/controlplane's kustomization, so the release and
 * a kustomize install are the same objects.
 */
export const CONTROL_PLANE_PROVIDER: Provider = {
  name: 'control-plane-kamaji',
  componentsFile: 'control-plane-components.yaml',
  namespace: 'kamaji-system',
  objects: (root) => kustomizeBuild(root, 'config/controlplane'),
  imageVariable: 'KVCLOUD_CONTROLPLANE_IMAGE',
  templates: false,
};

export const PROVIDERS: readonly Provider[] = [INFRASTRUCTURE_PROVIDER, CONTROL_PLANE_PROVIDER];

const keyOf = (o: Manifest) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name ?? ''}`;

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.indexOf('Service') : i;
}

interface RoleRef {
  kind: string;
  name: string;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/** Checks that hold for any provider release; each failure names the object and what is wrong. */
function validate(objects: Manifest[], namespace: string): void {
  const keys = new Set<string>();
  for (const o of objects) {
    const key = keyOf(o);
    if (keys.has(key)) throw new Error(`${key} is defined twice`);
    keys.add(key);
  }
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  if (namespaces.length !== 1) throw new Error(`a provider release has exactly one Namespace, found ${namespaces.length}`);
  if (!objects.some((o) => o.kind === 'CustomResourceDefinition')) throw new Error('no CustomResourceDefinition: run `make generate` first');

  const has = (kind: string, name: string, namespace?: string) => keys.has(keyOf({ apiVersion: '', kind, metadata: { name, namespace } }));
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const ref = b.roleRef as RoleRef;
    const refNamespace = ref.kind === 'Role' ? b.metadata.namespace : undefined;
    if (!has(ref.kind, ref.name, refNamespace)) throw new Error(`${keyOf(b)} refers to ${ref.kind} ${ref.name}, which the release does not define`);
    for (const s of (b.subjects ?? []) as Subject[]) {
      // `clusterctl init` moves every ServiceAccount subject into the provider's namespace, so a grant to another
      // component's account (Cluster API's kubeadm bootstrap manager reading our kinds) must name its user.
      if (s.kind === 'ServiceAccount' && s.namespace !== undefined && s.namespace !== namespace) {
        throw new Error(
          `${keyOf(b)} binds ServiceAccount ${s.namespace}/${s.name} outside ${namespace}, which clusterctl would rebind to ${namespace}/${s.name}: ` +
            `name it as kind User, system:serviceaccount:${s.namespace}:${s.name}`,
        );
      }
      if (s.kind === 'ServiceAccount' && !has('ServiceAccount', s.name, namespace)) {
        throw new Error(`${keyOf(b)} binds ServiceAccount ${s.namespace ?? ''}/${s.name}, which the release does not define`);
      }
    }
  }
  for (const b of objects.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')) {
    const policy = (b.spec as { policyName?: string } | undefined)?.policyName ?? '';
    if (!has('ValidatingAdmissionPolicy', policy)) throw new Error(`${keyOf(b)} binds policy "${policy}", which the release does not define`);
  }
  const managers = objects.filter((o) => o.kind === 'Deployment');
  if (managers.length !== 1) throw new Error(`a provider release has exactly one manager Deployment, found ${managers.length}`);
  const podSpec = (managers[0]?.spec as { template: { spec: { containers: { name: string; command?: string[] }[]; serviceAccountName?: string } } }).template.spec;
  const container = podSpec.containers.find((c) => c.name === 'manager');
  if (!container) throw new Error('the manager Deployment has no container named "manager" (clusterctl and users look for it by that name)');
  if (container.command) throw new Error('the manager container gives args only: its image\'s entrypoint is the manager');
  if (!podSpec.serviceAccountName || !has('ServiceAccount', podSpec.serviceAccountName, namespace)) {
    throw new Error(`the manager runs as ServiceAccount "${podSpec.serviceAccountName ?? ''}", which the release does not define`);
  }
}

/**
 * Labels every object for clusterctl, puts namespaced objects without a namespace in the provider's, refuses
 * any other namespace (a release installs into one), orders them for creation and validates the whole.
 */
export function assembleComponents(provider: Pick<Provider, 'name' | 'namespace'>, objects: readonly Manifest[]): Manifest[] {
  const assembled = objects.map((o): Manifest => {
    const copy = structuredClone(o);
    copy.metadata.labels = { ...copy.metadata.labels, [PROVIDER_LABEL]: provider.name };
    if (CLUSTER_SCOPED.has(copy.kind)) {
      if (copy.metadata.namespace) throw new Error(`${keyOf(copy)} is cluster-scoped and must not name a namespace`);
    } else {
      copy.metadata.namespace ??= provider.namespace;
      if (copy.metadata.namespace !== provider.namespace) throw new Error(`${keyOf(copy)} is outside the provider namespace ${provider.namespace}`);
    }
    return copy;
  });
  // A stable sort keeps the source order within a kind (CRDs alphabetically, as generated).
  assembled.sort((a, b) => kindRank(a.kind) - kindRank(b.kind));
  validate(assembled, provider.namespace);
  return assembled;
}

export function renderManifests(objects: readonly Manifest[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

export interface Variable {
  name: string;
  /** What clusterctl substitutes when the variable is unset; undefined when it must be set. */
  default: string | undefined;
}

/** The clusterctl variables (`${NAME}` or `${NAME:=default}`) a manifest uses, once each, in order of appearance. */
export function variablesOf(text: string): Variable[] {
  const seen = new Map<string, Variable>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}/g)) {
    const name = m[1] ?? '';
    if (!seen.has(name)) seen.set(name, { name, default: m[2] });
  }
  return [...seen.values()];
}

/** clusterctl's metadata.yaml: this version's release series and the contract it implements. */
export function metadataYaml(version: string): string {
  const match = /^v(\d+)\.(\d+)\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(version);
  if (!match) throw new Error(`version "${version}" is not a semantic version like v0.1.0`);
  return stringify({
    apiVersion: 'clusterctl.cluster.x-k8s.io/v1alpha3',
    kind: 'Metadata',
    releaseSeries: [{ major: Number(match[1]), minor: Number(match[2]), contract: CONTRACT }],
  });
}

/** The cluster templates a release ships: templates/infrastructure/cluster-template*.yaml and clusterclass-*.yaml. */
export async function templateFiles(root = repoRoot): Promise<string[]> {
  const dir = join(root, 'templates', 'infrastructure');
  return (await readdir(dir))
    .filter((f) => /^(cluster-template(-[a-z0-9-]+)?|clusterclass-[a-z0-9-]+)\.yaml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export interface Release {
  /** The directory holding the release files: <out>/<provider>/<version>. */
  dir: string;
  componentsPath: string;
  templates: string[];
}

/** kvcloud's own images (ghcr.io/kvcloud/...), as opposed to the upstream ones some manifests run beside them. */
export const isKvcloudImage = (reference: string): boolean => reference.startsWith(`${IMAGE_REPOSITORY}/`);

/** Every kvcloud image of `objects` as the clusterctl variable `name`, defaulting to the reference it replaces. */
export function withImageVariable(objects: Manifest[], name: string): Manifest[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    for (const container of podContainers(copy)) {
      if (container.image !== undefined && isKvcloudImage(container.image)) container.image = `\${${name}:=${container.image}}`;
    }
    return copy;
  });
}

/** The provider's components file: its objects assembled and rendered. */
export async function buildComponents(provider: Provider, root = repoRoot): Promise<string> {
  const objects = await provider.objects(root);
  const components = renderManifests(assembleComponents(provider, provider.imageVariable ? withImageVariable(objects, provider.imageVariable) : objects));
  const missing = variablesOf(components).filter((v) => v.default === undefined);
  if (missing.length > 0) throw new Error(`${provider.componentsFile} uses variables without a default: ${missing.map((v) => v.name).join(', ')}`);
  return components;
}

/** Writes the provider's release for `version` under `out` (a clusterctl local repository root). */
export async function writeRelease(provider: Provider, out: string, version: string, root = repoRoot): Promise<Release> {
  const components = await buildComponents(provider, root);
  const dir = join(out, provider.name, version);
  await mkdir(dir, { recursive: true });
  const componentsPath = join(dir, provider.componentsFile);
  await writeFile(componentsPath, components);
  await writeFile(join(dir, 'metadata.yaml'), metadataYaml(version));
  const templates: string[] = [];
  for (const from of provider.templates ? await templateFiles(root) : []) {
    const to = join(dir, basename(from));
    await copyFile(from, to);
    templates.push(to);
  }
  return { dir, componentsPath, templates };
}

/** The version `make release-manifests` writes by default: package.json's, as a tag. */
export async function defaultVersion(root = repoRoot): Promise<string> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  return `v${pkg.version}`;
}

/**
 * The CSI driver's bases (config/csi), each shipped as one file of what `kubectl apply -k <dir>` applies: the per-tenant
 * controller for the management cluster, and the tenant side (the snapshot class apart, as it needs the snapshot CRDs).
 */
export const CSI_BASES: readonly { dir: string; file: string }[] = [
  { dir: 'config/csi/controller', file: 'csi-controller.yaml' },
  { dir: 'config/csi/tenant', file: 'csi-tenant.yaml' },
  { dir: 'config/csi/tenant/snapshot', file: 'csi-snapshot-class.yaml' },
];

/** One CSI base as released: what its kustomization builds, rendered. */
export async function buildCsiManifest(dir: string, root = repoRoot): Promise<string> {
  return renderManifests(await kustomizeBuild(root, dir));
}

/** Writes the CSI driver's manifests for `version` under `out`; returns their directory. */
export async function writeCsiRelease(out: string, version: string, root = repoRoot): Promise<string> {
  const dir = join(out, 'csi-driver', version);
  await mkdir(dir, { recursive: true });
  for (const base of CSI_BASES) await writeFile(join(dir, base.file), await buildCsiManifest(base.dir, root));
  return dir;
}

/** Every release `make release-manifests` writes for `version` under `out`, each as a line saying what it wrote. */
export async function writeReleases(out: string, version: string, root = repoRoot): Promise<string[]> {
  const lines: string[] = [];
  for (const provider of PROVIDERS) {
    const release = await writeRelease(provider, out, version, root);
    const templates = provider.templates ? `, ${String(release.templates.length)} templates` : '';
    lines.push(`wrote ${release.dir}: ${provider.componentsFile}, metadata.yaml${templates}`);
  }
  lines.push(`wrote ${await writeCsiRelease(out, version, root)}: ${CSI_BASES.map((b) => b.file).join(', ')}`);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string', default: join(repoRoot, 'out', 'release') } } });
  for (const line of await writeReleases(values.out, values.version ?? (await defaultVersion()))) console.log(line);
}
