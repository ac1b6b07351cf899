// KamajiControlPlaneFields (controlplane.cluster.x-k8s.io): the spec a KamajiControlPlane shares with the template of
// a KamajiControlPlaneTemplate, with the JSON names of cluster-api-control-plane-provider-kamaji. The spec is the
// same in v1alpha1 and v1alpha2 except for the kubelet default, so one builder serves both versions. Each field is
// either carried onto the TenantControlPlane or refused by a rule naming it, never accepted and ignored.
import { Type, type Static } from '@sinclair/typebox';
import { authenticationSchema, authorizationSchema, structuredAuthFlagRules } from './apiserver-auth.js';
import { PodHardening } from './pod-hardening.js';
import { StringMap } from '../../../lib/crd/kube-schemas.js';
import {
  Affinity,
  Container,
  DeploymentStrategy,
  ResourceRequirements,
  Toleration,
  TopologySpreadConstraint,
  Volume,
  VolumeMount,
} from './core-types.js';
import {
  ADMISSION_CONTROLLERS,
  AdditionalMetadata,
  AdditionalPort,
  AddonSpec,
  DataStoreOverride,
  JSONPatch,
  KINE_WHY,
  KonnectivitySpec,
  PORT,
  PREFERRED_ADDRESS_TYPES,
  ProbeSet,
  SERVICE_TYPES,
} from './tenantcontrolplane-spec.js';
import { DNS_NAME_OR_WILDCARD } from '../../../lib/crd/dns-names.js';
import { rule } from '../../../lib/crd/validation-rules.js';
import { rejectField, unsupportedMessage } from './validation.js';


/** Upstream's kubelet default lists the address types in a different order in each version. */
export const KUBELET_DEFAULT_V1ALPHA1 = { preferredAddressTypes: ['Hostname', 'InternalIP', 'ExternalIP'], cgroupfs: 'systemd' };
export const KUBELET_DEFAULT_V1ALPHA2 = { preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'], cgroupfs: 'systemd' };

const flagList = (path: string) =>
  Type.Array(Type.String({ maxLength: 4096 }), {
    maxItems: 256,
    'x-kubernetes-validations': [rule("self.all(a, a.startsWith('--'))", `${path} entries are command-line flags: each must start with --, e.g. --v=4`)],
  });

function controlPlaneComponent(path: string) {
  return Type.Object({
    extraVolumeMounts: Type.Optional(Type.Array(VolumeMount)),
    extraArgs: Type.Optional(flagList(`${path}.extraArgs`)),
    resources: Type.Optional(ResourceRequirements),
    containerImageName: Type.Optional(Type.String({ minLength: 1 })),
    probes: Type.Optional(ProbeSet),
  });
}

/**
 * The apiServer component: upstream's fields plus kvcloud's structured authentication and authorization, carried
 * onto the TenantControlPlane's spec.kubernetes.authentication / spec.kubernetes.authorization.
 */
function apiServerComponent(path: string) {
  const base = controlPlaneComponent(path);
  return Type.Object(
    {
      ...base.properties,
      authentication: Type.Optional(authenticationSchema(`${path}.authentication`)),
      authorization: Type.Optional(authorizationSchema(`${path}.authorization`)),
    },
    {
      'x-kubernetes-validations': structuredAuthFlagRules({
        authn: 'self.authentication',
        authz: 'self.authorization',
        args: 'self.extraArgs',
        argsPresent: 'has(self.extraArgs)',
        argsName: `${path}.extraArgs`,
        fieldPath: '.extraArgs',
      }),
    },
  );
}

export const KineComponent = Type.Object(
  {
    extraArgs: Type.Optional(Type.Array(Type.String())),
    resources: Type.Optional(ResourceRequirements),
  },
  {
    // Go clients always send `kine: {}` (a non-pointer struct), so only content is refused.
    'x-kubernetes-validations': [
      rule(
        '(!has(self.extraArgs) || size(self.extraArgs) == 0) && (!has(self.resources) || (!has(self.resources.limits) && !has(self.resources.requests) && !has(self.resources.claims)))',
        unsupportedMessage('spec.kine', KINE_WHY),
      ),
    ],
  },
);

export const GatewayComponent = Type.Object({
  name: Type.String({ minLength: 1 }),
  namespace: Type.String({ minLength: 1 }),
  hostname: Type.String({
    minLength: 1,
    maxLength: 253,
    'x-kubernetes-validations': [rule(`self.matches('${DNS_NAME_OR_WILDCARD}')`, 'network.gateway.hostname must be a DNS name')],
  }),
  sectionName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  port: Type.Optional(Type.Integer(PORT)),
  extraLabels: Type.Optional(StringMap()),
  extraAnnotations: Type.Optional(StringMap()),
});

export const IngressComponent = Type.Object({
  className: Type.Optional(Type.String()),
  hostname: Type.String({
    minLength: 1,
    maxLength: 253,
    'x-kubernetes-validations': [rule(`self.matches('${DNS_NAME_OR_WILDCARD}')`, 'network.ingress.hostname must be a DNS name')],
  }),
  extraLabels: Type.Optional(StringMap()),
  extraAnnotations: Type.Optional(StringMap()),
});

export const LoadBalancerConfig = Type.Object({
  loadBalancerSourceRanges: Type.Optional(
    Type.Array(Type.String({ maxLength: 64 }), {
      maxItems: 64,
      'x-kubernetes-validations': [rule('self.all(r, isCIDR(r))', 'network.loadBalancerConfig.loadBalancerSourceRanges entries must be CIDRs')],
    }),
  ),
  loadBalancerClass: Type.Optional(
    Type.String({ minLength: 1, 'x-kubernetes-validations': [rule('self == oldSelf', 'network.loadBalancerConfig.loadBalancerClass is immutable')] }),
  ),
});

const ipList = (path: string) =>
  Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16, 'x-kubernetes-validations': [rule('self.all(ip, isIP(ip))', `${path} entries must be IP addresses`)] });

const LB = "self.serviceType == 'LoadBalancer'";

export const NetworkComponent = Type.Object(
  {
    loadBalancerConfig: Type.Optional(LoadBalancerConfig),
    gateway: Type.Optional(GatewayComponent),
    ingress: Type.Optional(IngressComponent),
    serviceType: Type.Optional(Type.Union(SERVICE_TYPES.map((t) => Type.Literal(t)), { default: 'LoadBalancer' })),
    allocateLoadBalancerNodePorts: Type.Optional(Type.Boolean()),
    serviceAddress: Type.Optional(
      Type.String({ maxLength: 64, 'x-kubernetes-validations': [rule("self == '' || isIP(self)", 'network.serviceAddress must be an IP address')] }),
    ),
    advertiseAddress: Type.Optional(
      Type.String({ maxLength: 64, 'x-kubernetes-validations': [rule("self == '' || isIP(self)", 'network.advertiseAddress must be an IP address')] }),
    ),
    serviceLabels: Type.Optional(StringMap()),
    serviceAnnotations: Type.Optional(StringMap()),
    additionalServicePorts: Type.Optional(
      Type.Array(AdditionalPort, { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    ),
    certSANs: Type.Optional(
      Type.Array(Type.String({ maxLength: 253 }), {
        maxItems: 64,
        'x-kubernetes-validations': [
          rule(`self.all(s, isIP(s) || s.matches('${DNS_NAME_OR_WILDCARD}'))`, 'network.certSANs entries must be IP addresses or DNS names'),
        ],
      }),
    ),
    dnsServiceIPs: Type.Optional(ipList('network.dnsServiceIPs')),
  },
  {
    'x-kubernetes-validations': [
      rule(
        `!has(self.loadBalancerConfig) || !has(self.loadBalancerConfig.loadBalancerSourceRanges) || size(self.loadBalancerConfig.loadBalancerSourceRanges) == 0 || ${LB}`,
        'network.loadBalancerConfig.loadBalancerSourceRanges are supported only with serviceType LoadBalancer',
      ),
      rule(
        `!has(self.loadBalancerConfig) || !has(self.loadBalancerConfig.loadBalancerClass) || ${LB}`,
        'network.loadBalancerConfig.loadBalancerClass is supported only with serviceType LoadBalancer',
      ),
      rule(`!has(self.allocateLoadBalancerNodePorts) || ${LB}`, 'network.allocateLoadBalancerNodePorts is supported only with serviceType LoadBalancer'),
      rule('!(has(self.ingress) && has(self.gateway))', 'network.ingress and network.gateway cannot both be set'),
    ],
  },
);
export type NetworkComponent = Static<typeof NetworkComponent>;

export const ExternalClusterReference = Type.Object({
  kubeconfigSecretName: Type.String({ minLength: 1 }),
  kubeconfigSecretKey: Type.String({ minLength: 1 }),
  kubeconfigSecretNamespace: Type.Optional(Type.String()),
  deploymentNamespace: Type.String(),
});

export const DeploymentComponent = Type.Object(
  {
    nodeSelector: Type.Optional(StringMap()),
    runtimeClassName: Type.Optional(Type.String()),
    additionalMetadata: Type.Optional(AdditionalMetadata),
    podAdditionalMetadata: Type.Optional(AdditionalMetadata),
    serviceAccountName: Type.Optional(Type.String()),
    strategy: Type.Optional(DeploymentStrategy),
    affinity: Type.Optional(Affinity),
    tolerations: Type.Optional(Type.Array(Toleration)),
    topologySpreadConstraints: Type.Optional(Type.Array(TopologySpreadConstraint)),
    extraInitContainers: Type.Optional(Type.Array(Container)),
    extraContainers: Type.Optional(Type.Array(Container)),
    extraVolumes: Type.Optional(Type.Array(Volume)),
    externalClusterReference: Type.Optional(ExternalClusterReference),
    probes: Type.Optional(ProbeSet),
    hardening: Type.Optional(PodHardening),
  },
  {
    'x-kubernetes-validations': [
      rejectField('spec.deployment', 'externalClusterReference', 'control planes run in the management cluster only'),
    ],
  },
);

export const CoreDNSAddonSpec = Type.Object({
  imageRepository: AddonSpec.properties.imageRepository,
  imageTag: AddonSpec.properties.imageTag,
  dnsServiceIPs: Type.Optional(ipList('addons.coreDNS.dnsServiceIPs')),
});

export const KamajiAddonsSpec = Type.Object({
  coreDNS: Type.Optional(CoreDNSAddonSpec),
  konnectivity: Type.Optional(KonnectivitySpec),
  kubeProxy: Type.Optional(AddonSpec),
});

const IDENTIFIER_REGEX = '^[A-Za-z0-9_-]+$';

export function kamajiControlPlaneFields(kubeletDefault: typeof KUBELET_DEFAULT_V1ALPHA2) {
  return {
    dataStoreName: Type.Optional(Type.String({ maxLength: 253 })),
    dataStoreSchema: Type.Optional(
      Type.String({
        maxLength: 63,
        'x-kubernetes-validations': [
          rule('self == oldSelf', 'changing spec.dataStoreSchema is not supported'),
          rule(`self.matches('${IDENTIFIER_REGEX}')`, 'spec.dataStoreSchema may only contain letters, digits, _ and -'),
        ],
      }),
    ),
    dataStoreUsername: Type.Optional(
      Type.String({
        maxLength: 63,
        'x-kubernetes-validations': [
          rule('self == oldSelf', 'changing spec.dataStoreUsername is not supported'),
          rule(`self.matches('${IDENTIFIER_REGEX}')`, 'spec.dataStoreUsername may only contain letters, digits, _ and -'),
        ],
      }),
    ),
    dataStoreOverrides: Type.Optional(
      Type.Array(DataStoreOverride, {
        'x-kubernetes-validations': [
          rule('size(self) == 0', unsupportedMessage('spec.dataStoreOverrides', 'every resource of a tenant is stored in its one DataStore')),
        ],
      }),
    ),
    addons: Type.Optional(KamajiAddonsSpec),
    // Removed plugins (PodSecurityPolicy, ...) stay accepted: upstream's samples list them; the controller drops them.
    admissionControllers: Type.Optional(Type.Array(Type.Union(ADMISSION_CONTROLLERS.map((a) => Type.Literal(a))), { maxItems: ADMISSION_CONTROLLERS.length })),
    registry: Type.Optional(Type.String({ default: 'registry.k8s.io' })),
    controllerManager: Type.Optional(controlPlaneComponent('spec.controllerManager')),
    apiServer: Type.Optional(apiServerComponent('spec.apiServer')),
    scheduler: Type.Optional(controlPlaneComponent('spec.scheduler')),
    kine: Type.Optional(KineComponent),
    kubelet: Type.Optional({
      ...Type.Object({
        preferredAddressTypes: Type.Optional(
          Type.Array(Type.Union(PREFERRED_ADDRESS_TYPES.map((t) => Type.Literal(t))), { minItems: 1, 'x-kubernetes-list-type': 'set' }),
        ),
        cgroupfs: Type.Optional(Type.Union([Type.Literal('systemd'), Type.Literal('cgroupfs')])),
        configurationJSONPatches: Type.Optional(Type.Array(JSONPatch)),
      }),
      default: kubeletDefault,
    }),
    network: Type.Optional({ ...NetworkComponent, default: { serviceType: 'LoadBalancer' } }),
    deployment: Type.Optional(DeploymentComponent),
  };
}
