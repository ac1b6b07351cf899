import { expect } from 'chai';
import { buildCRD, toStructuralSchema } from '../../../lib/crd/crd.js';
import { kamajiControlPlaneCRD, kamajiControlPlaneTemplateCRD } from './kamajicontrolplane-crds.js';
import {
  KamajiControlPlaneSchemaV1Alpha1,
  KamajiControlPlaneSchemaV1Alpha2,
  KamajiControlPlaneTemplateSchemaV1Alpha1,
  KamajiControlPlaneTemplateSchemaV1Alpha2,
} from './kamajicontrolplane.js';

// Every field of cluster-api-control-plane-provider-kamaji's KamajiControlPlaneFields (api/v1alpha1 and v1alpha2),
// by JSON path below the spec (or below spec.template.spec of a template).
const UPSTREAM_FIELDS = [
  'dataStoreName', 'dataStoreSchema', 'dataStoreUsername', 'dataStoreOverrides[].resource', 'dataStoreOverrides[].dataStore',
  'addons.coreDNS.imageRepository', 'addons.coreDNS.imageTag', 'addons.coreDNS.dnsServiceIPs', 'addons.kubeProxy.imageRepository',
  'addons.kubeProxy.imageTag', 'addons.konnectivity.server.port', 'addons.konnectivity.server.image', 'addons.konnectivity.agent.mode',
  'admissionControllers', 'registry',
  ...['controllerManager', 'apiServer', 'scheduler'].flatMap((c) =>
    ['extraVolumeMounts[].mountPath', 'extraArgs', 'resources.limits', 'resources.requests', 'containerImageName', 'probes.liveness.periodSeconds',
      'probes.readiness', 'probes.startup'].map((f) => `${c}.${f}`),
  ),
  'kine.extraArgs', 'kine.resources',
  'kubelet.preferredAddressTypes', 'kubelet.cgroupfs', 'kubelet.configurationJSONPatches[].op',
  'network.loadBalancerConfig.loadBalancerSourceRanges', 'network.loadBalancerConfig.loadBalancerClass',
  'network.gateway.name', 'network.gateway.namespace', 'network.gateway.hostname', 'network.gateway.sectionName', 'network.gateway.port',
  'network.gateway.extraLabels', 'network.gateway.extraAnnotations',
  'network.ingress.className', 'network.ingress.hostname', 'network.ingress.extraLabels', 'network.ingress.extraAnnotations',
  'network.serviceType', 'network.allocateLoadBalancerNodePorts', 'network.serviceAddress', 'network.advertiseAddress',
  'network.serviceLabels', 'network.serviceAnnotations', 'network.additionalServicePorts[].name', 'network.additionalServicePorts[].port',
  'network.certSANs', 'network.dnsServiceIPs',
  'deployment.nodeSelector', 'deployment.runtimeClassName', 'deployment.additionalMetadata.labels', 'deployment.podAdditionalMetadata.annotations',
  'deployment.serviceAccountName', 'deployment.strategy.type', 'deployment.strategy.rollingUpdate.maxSurge', 'deployment.affinity',
  'deployment.tolerations[].key', 'deployment.topologySpreadConstraints', 'deployment.extraInitContainers', 'deployment.extraContainers',
  'deployment.extraVolumes', 'deployment.externalClusterReference.kubeconfigSecretName',
  'deployment.externalClusterReference.kubeconfigSecretKey', 'deployment.externalClusterReference.kubeconfigSecretNamespace',
  'deployment.externalClusterReference.deploymentNamespace', 'deployment.probes.liveness',
];
const SPEC_ONLY = ['controlPlaneEndpoint.host', 'controlPlaneEndpoint.port', 'replicas', 'version'];
const STATUS_V1ALPHA1 = ['initialized', 'ready', 'readyReplicas', 'replicas', 'selector', 'unavailableReplicas', 'updatedReplicas',
  'externalManagedControlPlane', 'failureReason', 'failureMessage', 'version', 'conditions'];
const STATUS_V1ALPHA2 = ['initialization.controlPlaneInitialized', 'ready', 'readyReplicas', 'replicas', 'selector', 'availableReplicas',
  'upToDateReplicas', 'externalManagedControlPlane', 'failureReason', 'failureMessage', 'version', 'conditions'];
/** Cluster API contract v1beta2 fields upstream does not carry. */
const STATUS_CONTRACT = ['versions[].version', 'versions[].replicas', 'observedGeneration', 'deprecated.v1beta1.conditions[].severity'];

/** Accepted by the schema, then refused by a rule naming the field. */
const REFUSED = ['spec.dataStoreOverrides', 'spec.kine', 'spec.deployment.externalClusterReference'];

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  default?: unknown;
  'x-kubernetes-validations'?: { message: string; rule: string }[];
}

function find(root: Node, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const part of path.split('.')) {
    node = node?.properties?.[part.replace(/\[\]$/, '')];
    if (part.endsWith('[]')) node = node?.items;
  }
  return node;
}

function rules(node: Node): { message: string; rule: string }[] {
  const own = node['x-kubernetes-validations'] ?? [];
  return [...own, ...[...Object.values(node.properties ?? {}), ...(node.items ? [node.items] : [])].flatMap(rules)];
}

const v1 = toStructuralSchema(KamajiControlPlaneSchemaV1Alpha1) as Node;
const v2 = toStructuralSchema(KamajiControlPlaneSchemaV1Alpha2) as Node;
const t1 = toStructuralSchema(KamajiControlPlaneTemplateSchemaV1Alpha1) as Node;
const t2 = toStructuralSchema(KamajiControlPlaneTemplateSchemaV1Alpha2) as Node;

describe('controlplane/api: KamajiControlPlane', () => {
  for (const [version, root, template] of [['v1alpha1', v1, t1], ['v1alpha2', v2, t2]] as const) {
    it(`${version}: has every upstream spec field under its JSON name (${String(UPSTREAM_FIELDS.length + SPEC_ONLY.length)} paths)`, () => {
      expect([...UPSTREAM_FIELDS, ...SPEC_ONLY].filter((p) => !find(root, `spec.${p}`))).to.deep.equal([]);
    });

    it(`${version}: the template carries the same fields under spec.template.spec, and template metadata`, () => {
      expect(UPSTREAM_FIELDS.filter((p) => !find(template, `spec.template.spec.${p}`))).to.deep.equal([]);
      expect(find(template, 'spec.template.metadata.labels')).to.not.equal(undefined);
      expect(find(template, 'spec.template.spec.version')).to.equal(undefined);
    });

    it(`${version}: status has the fields of both upstream versions and of the v1beta2 contract`, () => {
      expect([...STATUS_V1ALPHA1, ...STATUS_V1ALPHA2, ...STATUS_CONTRACT].filter((p) => !find(root, `status.${p}`))).to.deep.equal([]);
    });

    it(`${version}: refuses each unimplemented field with a rule naming it`, () => {
      const messages = rules(root).map((r) => r.message);
      expect(REFUSED.filter((p) => !messages.some((m) => m.startsWith(`kvcloud does not support ${p}`)))).to.deep.equal([]);
    });
  }

  it('serves identical schemas in both versions except the kubelet default upstream orders differently', () => {
    const strip = (n: Node) => {
      const copy = structuredClone(n);
      const kubelet = find(copy, 'spec.kubelet');
      if (kubelet) delete kubelet.default;
      return copy;
    };
    expect(strip(v1)).to.deep.equal(strip(v2));
    expect(find(v1, 'spec.kubelet')?.default).to.deep.equal({ preferredAddressTypes: ['Hostname', 'InternalIP', 'ExternalIP'], cgroupfs: 'systemd' });
    expect(find(v2, 'spec.kubelet')?.default).to.deep.equal({ preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'], cgroupfs: 'systemd' });
  });

  it('defaults as upstream: replicas 2, serviceType LoadBalancer, registry, externalManagedControlPlane', () => {
    expect(find(v2, 'spec.replicas')?.default).to.equal(2);
    expect(find(v2, 'spec.network')?.default).to.deep.equal({ serviceType: 'LoadBalancer' });
    expect(find(v2, 'spec.registry')?.default).to.equal('registry.k8s.io');
    expect(find(v2, 'status.externalManagedControlPlane')?.default).to.equal(true);
  });

  it('names the field in every CEL message', () => {
    // Sub-schemas shared with TenantControlPlane name their field relative to it (additionalPorts, agent replicas).
    const unnamed = rules(v2)
      .map((r) => r.message)
      .filter((m) => !/^(.*(spec|network|addons|metadata)\.[A-Za-z]|additionalPorts name |replicas must be)/.test(m));
    expect(unnamed).to.deep.equal([]);
  });

  it('rejects a spec.version downgrade with a transition rule on the field', () => {
    const version = find(v2, 'spec.version');
    const transition = version?.['x-kubernetes-validations']?.find((r) => r.rule.includes('oldSelf'));
    expect(transition?.message).to.match(/spec\.version cannot be downgraded/);
  });

  it('builds CRDs: short names, categories, contract labels, scale subresource, storage v1alpha2, upstream columns, no webhook conversion', () => {
    const crd = buildCRD(kamajiControlPlaneCRD) as {
      metadata: { labels: Record<string, string> };
      spec: { names: { shortNames: string[]; categories: string[] }; conversion?: unknown; versions: { name: string; storage: boolean; subresources: { scale: Record<string, string> }; additionalPrinterColumns: { name: string; jsonPath: string }[] }[] };
    };
    expect(crd.spec.names.shortNames).to.deep.equal(['ktcp']);
    expect(crd.spec.names.categories).to.deep.equal(['cluster-api', 'kamaji']);
    expect(crd.metadata.labels).to.deep.equal({ 'cluster.x-k8s.io/v1beta1': 'v1alpha1_v1alpha2', 'cluster.x-k8s.io/v1beta2': 'v1alpha2' });
    expect(crd.spec.conversion).to.equal(undefined);
    expect(crd.spec.versions.map((v) => [v.name, v.storage])).to.deep.equal([['v1alpha1', false], ['v1alpha2', true]]);
    for (const v of crd.spec.versions) {
      expect(v.subresources.scale).to.deep.equal({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
      expect(v.additionalPrinterColumns.map((c) => c.name)).to.deep.equal(['Version', 'Initialized', 'Ready', 'Age']);
    }
    expect(crd.spec.versions[0]?.additionalPrinterColumns[1]?.jsonPath).to.equal('.status.initialized');
    expect(crd.spec.versions[1]?.additionalPrinterColumns[1]?.jsonPath).to.equal('.status.initialization.controlPlaneInitialized');
    const template = buildCRD(kamajiControlPlaneTemplateCRD) as { spec: { names: { shortNames: string[] } } };
    expect(template.spec.names.shortNames).to.deep.equal(['ktcpt']);
  });
});
