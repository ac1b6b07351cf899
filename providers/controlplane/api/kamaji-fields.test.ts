import { expect } from 'chai';
import { toStructuralSchema } from '../../../lib/crd/crd.js';
import { DataStoreSchema } from './datastore.js';
import { TenantControlPlaneSchema } from './tenantcontrolplane.js';

// Every field of Kamaji's v1alpha1 API (api/v1alpha1 in clastix/kamaji), by its JSON path. Each must exist in our
// schema under exactly that name; the ones kvcloud does not implement must carry a rule refusing them by name.
const KAMAJI_TCP_SPEC = [
  'writePermissions.blockCreation', 'writePermissions.blockUpdate', 'writePermissions.blockDeletion',
  'dataStore', 'dataStoreSchema', 'dataStoreUsername', 'dataStoreOverrides[].resource', 'dataStoreOverrides[].dataStore',
  'controlPlane.deployment.registrySettings.registry', 'controlPlane.deployment.registrySettings.tagSuffix',
  'controlPlane.deployment.registrySettings.apiServerImage', 'controlPlane.deployment.registrySettings.controllerManagerImage',
  'controlPlane.deployment.registrySettings.schedulerImage', 'controlPlane.deployment.replicas', 'controlPlane.deployment.nodeSelector',
  'controlPlane.deployment.runtimeClassName', 'controlPlane.deployment.strategy.type', 'controlPlane.deployment.strategy.rollingUpdate.maxSurge',
  'controlPlane.deployment.tolerations[].key', 'controlPlane.deployment.affinity', 'controlPlane.deployment.topologySpreadConstraints',
  'controlPlane.deployment.resources.apiServer.limits', 'controlPlane.deployment.resources.controllerManager.requests',
  'controlPlane.deployment.resources.scheduler', 'controlPlane.deployment.resources.kine',
  'controlPlane.deployment.extraArgs.apiServer', 'controlPlane.deployment.extraArgs.controllerManager',
  'controlPlane.deployment.extraArgs.scheduler', 'controlPlane.deployment.extraArgs.kine',
  'controlPlane.deployment.additionalMetadata.labels', 'controlPlane.deployment.additionalMetadata.annotations',
  'controlPlane.deployment.podAdditionalMetadata.labels', 'controlPlane.deployment.additionalInitContainers',
  'controlPlane.deployment.additionalContainers', 'controlPlane.deployment.additionalVolumes',
  'controlPlane.deployment.additionalVolumeMounts.apiServer[].mountPath', 'controlPlane.deployment.additionalVolumeMounts.controllerManager',
  'controlPlane.deployment.additionalVolumeMounts.scheduler', 'controlPlane.deployment.probes.liveness.periodSeconds',
  'controlPlane.deployment.probes.readiness.timeoutSeconds', 'controlPlane.deployment.probes.startup.failureThreshold',
  'controlPlane.deployment.probes.apiServer.liveness.initialDelaySeconds', 'controlPlane.deployment.probes.controllerManager.readiness.successThreshold',
  'controlPlane.deployment.probes.scheduler.startup', 'controlPlane.deployment.serviceAccountName',
  'controlPlane.deployment.containerSecurityContexts.apiServer', 'controlPlane.deployment.containerSecurityContexts.controllerManager',
  'controlPlane.deployment.containerSecurityContexts.scheduler', 'controlPlane.deployment.containerSecurityContexts.kine',
  'controlPlane.deployment.containerSecurityContexts.kineInit', 'controlPlane.deployment.podSecurityContext',
  'controlPlane.service.additionalMetadata.labels', 'controlPlane.service.additionalPorts[].name', 'controlPlane.service.additionalPorts[].protocol',
  'controlPlane.service.additionalPorts[].appProtocol', 'controlPlane.service.additionalPorts[].port', 'controlPlane.service.additionalPorts[].targetPort',
  'controlPlane.service.serviceType', 'controlPlane.service.allocateLoadBalancerNodePorts',
  'controlPlane.ingress.additionalMetadata.annotations', 'controlPlane.ingress.ingressClassName', 'controlPlane.ingress.hostname',
  'controlPlane.gateway.additionalMetadata.labels', 'controlPlane.gateway.parentRefs[].name', 'controlPlane.gateway.parentRefs[].sectionName',
  'controlPlane.gateway.hostname',
  'kubernetes.version', 'kubernetes.kubelet.configurationJSONPatches[].op', 'kubernetes.kubelet.configurationJSONPatches[].path',
  'kubernetes.kubelet.configurationJSONPatches[].from', 'kubernetes.kubelet.configurationJSONPatches[].value',
  'kubernetes.kubelet.preferredAddressTypes', 'kubernetes.kubelet.cgroupfs', 'kubernetes.admissionControllers',
  'networkProfile.loadBalancerSourceRanges', 'networkProfile.loadBalancerClass', 'networkProfile.address', 'networkProfile.advertiseAddress',
  'networkProfile.clusterDomain', 'networkProfile.allowAddressAsExternalIP', 'networkProfile.port', 'networkProfile.certSANs',
  'networkProfile.serviceCidr', 'networkProfile.serviceCidrs', 'networkProfile.podCidr', 'networkProfile.podCidrs', 'networkProfile.dnsServiceIPs',
  'addons.coreDNS.imageRepository', 'addons.coreDNS.imageTag', 'addons.kubeProxy.imageRepository', 'addons.kubeProxy.imageTag',
  'addons.konnectivity.server.port', 'addons.konnectivity.server.version', 'addons.konnectivity.server.image',
  'addons.konnectivity.server.resources', 'addons.konnectivity.server.extraArgs', 'addons.konnectivity.server.securityContext',
  'addons.konnectivity.agent.image', 'addons.konnectivity.agent.version', 'addons.konnectivity.agent.tolerations',
  'addons.konnectivity.agent.extraArgs', 'addons.konnectivity.agent.hostNetwork', 'addons.konnectivity.agent.mode',
  'addons.konnectivity.agent.replicas', 'preGeneratedCertificates', 'internalCACertificatesConfigMap',
].map((p) => `spec.${p}`);

const KAMAJI_TCP_STATUS = [
  'observedGeneration', 'storage.driver', 'storage.dataStoreName', 'storage.config.secretName', 'storage.config.checksum',
  'storage.setup.schema', 'storage.setup.user', 'storage.setup.lastUpdate', 'storage.setup.checksum', 'storage.certificate.secretName',
  'certificates.ca.secretName', 'certificates.apiServer.checksum', 'certificates.apiServerKubeletClient.lastUpdate',
  'certificates.frontProxyCA.secretName', 'certificates.frontProxyClient.secretName', 'certificates.sa.secretName',
  'certificates.etcd.apiServer.secretName', 'certificates.etcd.ca.secretName', 'kubeconfig.admin.secretName',
  'kubeconfig.controllerManager.secretName', 'kubeconfig.scheduler.checksum', 'kubernetesResources.version.version',
  'kubernetesResources.version.status', 'kubernetesResources.deployment.selector', 'kubernetesResources.deployment.name',
  'kubernetesResources.deployment.namespace', 'kubernetesResources.deployment.lastUpdate', 'kubernetesResources.deployment.readyReplicas',
  'kubernetesResources.service.name', 'kubernetesResources.service.namespace', 'kubernetesResources.service.port',
  'kubernetesResources.service.loadBalancer.ingress[].ip', 'kubernetesResources.ingress.name', 'kubernetesResources.gateway.routeRef.name',
  'kubernetesResources.gateway.accessPoints[].value', 'kubeadmconfig.configmapName', 'kubeadmconfig.checksum',
  'kubeadmPhase.bootstrapToken.checksum', 'controlPlaneEndpoint', 'addons.coreDNS.enabled', 'addons.kubeProxy.lastUpdate',
  'addons.konnectivity.enabled', 'addons.konnectivity.configMap.name', 'addons.konnectivity.certificate.secretName',
  'addons.konnectivity.kubeconfig.secretName', 'addons.konnectivity.sa.name', 'addons.konnectivity.clusterrolebinding.name',
  'addons.konnectivity.agent.mode', 'addons.konnectivity.service.port', 'bootstrap.rbac.clusterRoleBinding.name',
].map((p) => `status.${p}`);

const KAMAJI_DATASTORE = [
  'spec.driver', 'spec.endpoints', 'spec.basicAuth.username.content', 'spec.basicAuth.password.secretReference.keyPath',
  'spec.tlsConfig.certificateAuthority.certificate.secretReference.name', 'spec.tlsConfig.certificateAuthority.privateKey.content',
  'spec.tlsConfig.clientCertificate.certificate.secretReference.namespace', 'spec.tlsConfig.clientCertificate.privateKey.content',
  'status.usedBy', 'status.ready', 'status.conditions', 'status.observedGeneration',
];

/** Fields accepted by the schema and then refused by a rule, because kvcloud does not run them. */
const REJECTED = [
  'spec.dataStoreOverrides', 'spec.preGeneratedCertificates', 'spec.internalCACertificatesConfigMap',
  'spec.controlPlane.deployment.resources.kine', 'spec.controlPlane.deployment.extraArgs.kine',
  'spec.controlPlane.deployment.containerSecurityContexts.kine', 'spec.controlPlane.deployment.containerSecurityContexts.kineInit',
];

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  'x-kubernetes-validations'?: { message: string }[];
}

function find(root: Node, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const part of path.split('.')) {
    const name = part.replace(/\[\]$/, '');
    node = node?.properties?.[name];
    if (part.endsWith('[]')) node = node?.items;
  }
  return node;
}

function messages(node: Node): string[] {
  const own = (node['x-kubernetes-validations'] ?? []).map((r) => r.message);
  const children = [...Object.values(node.properties ?? {}), ...(node.items ? [node.items] : [])];
  return [...own, ...children.flatMap(messages)];
}

describe('controlplane/api: Kamaji field coverage', () => {
  const tcp = toStructuralSchema(TenantControlPlaneSchema) as Node;
  const ds = toStructuralSchema(DataStoreSchema) as Node;

  it(`has every one of Kamaji's ${String(KAMAJI_TCP_SPEC.length + KAMAJI_TCP_STATUS.length)} TenantControlPlane fields under its JSON name`, () => {
    const missing = [...KAMAJI_TCP_SPEC, ...KAMAJI_TCP_STATUS].filter((p) => !find(tcp, p));
    expect(missing).to.deep.equal([]);
  });

  it("has every one of Kamaji's DataStore fields under its JSON name", () => {
    expect(KAMAJI_DATASTORE.filter((p) => !find(ds, p))).to.deep.equal([]);
  });

  it('refuses each field kvcloud does not implement with a rule naming it', () => {
    const all = messages(tcp);
    const unnamed = REJECTED.filter((path) => !all.some((m) => m.startsWith(`kvcloud does not support ${path}`)));
    expect(unnamed).to.deep.equal([]);
  });

  it('refuses the kine drivers by rule while keeping them in the enum, as Kamaji spells them', () => {
    const driver = find(ds, 'spec.driver') as Node & { enum?: string[] };
    expect(driver.enum).to.deep.equal(['etcd', 'MySQL', 'PostgreSQL', 'NATS']);
    expect(messages(driver).some((m) => m.startsWith('kvcloud does not support the spec.driver value'))).to.equal(true);
  });
});
