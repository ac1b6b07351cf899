// TenantControlPlane spec with Kamaji's exact JSON names. Every Kamaji field is either implemented or refused by a
// CEL rule that names it: a user never has a field accepted and silently ignored.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IntOrString, StringMap } from '../../../lib/crd/kube-schemas.js';
import {
  Affinity,
  Container,
  DeploymentStrategy,
  ParentReference,
  PodSecurityContext,
  ResourceRequirements,
  SecurityContext,
  Toleration,
  TopologySpreadConstraint,
  Volume,
  VolumeMount,
} from './core-types.js';
import { authenticationSchema, authorizationSchema, structuredAuthFlagRules } from './apiserver-auth.js';
import { supportedVersionRule } from './kubernetes-versions.js';
import { PodHardening } from './pod-hardening.js';
import { DNS1035_LABEL, DNS_NAME_OR_WILDCARD } from '../../../lib/crd/dns-names.js';
import { rule } from '../../../lib/crd/validation-rules.js';
import { rejectField, unsupportedMessage } from './validation.js';

export const PORT = { format: 'int32', minimum: 1, maximum: 65535 } as const;
/**
 * The tenant's default Service and Pod ranges. Kamaji defaults to 10.96.0.0/16 and 10.244.0.0/16, which are the
 * usual ranges of the management cluster itself (kvcloud's local one included), and a tenant whose worker VMs sit
 * on the management pod network must not reuse them; these match kvcloud's cluster templates.
 */
export const DEFAULT_SERVICE_CIDR = '10.95.0.0/16';
export const DEFAULT_POD_CIDR = '10.243.0.0/16';
export const KINE_WHY = 'kine runs only for SQL and NATS DataStores, which kvcloud does not run yet';

export const AdditionalMetadata = Type.Object({
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
});
export type AdditionalMetadata = Static<typeof AdditionalMetadata>;

const flagList = (path: string) =>
  Type.Array(Type.String({ maxLength: 4096 }), {
    maxItems: 256,
    'x-kubernetes-validations': [
      rule("self.all(a, a.startsWith('--'))", `${path} entries are command-line flags: each must start with --, e.g. --v=4`),
    ],
  });

/** The same schema with a default: Kamaji defaults several nested objects as a whole. */
function withDefault<T extends TSchema>(schema: T, value: unknown): T {
  return { ...schema, default: value };
}

// --- controlPlane.deployment ------------------------------------------------------------------------------------

export const RegistrySettings = Type.Object({
  registry: Type.Optional(Type.String({ default: 'registry.k8s.io' })),
  tagSuffix: Type.Optional(Type.String()),
  apiServerImage: Type.Optional(Type.String({ default: 'kube-apiserver' })),
  controllerManagerImage: Type.Optional(Type.String({ default: 'kube-controller-manager' })),
  schedulerImage: Type.Optional(Type.String({ default: 'kube-scheduler' })),
});
export type RegistrySettings = Static<typeof RegistrySettings>;

export const ControlPlaneComponentsResources = Type.Object(
  {
    apiServer: Type.Optional(ResourceRequirements),
    controllerManager: Type.Optional(ResourceRequirements),
    scheduler: Type.Optional(ResourceRequirements),
    kine: Type.Optional(ResourceRequirements),
  },
  { 'x-kubernetes-validations': [rejectField('spec.controlPlane.deployment.resources', 'kine', KINE_WHY)] },
);
export type ControlPlaneComponentsResources = Static<typeof ControlPlaneComponentsResources>;

export const ControlPlaneExtraArgs = Type.Object(
  {
    apiServer: Type.Optional(flagList('spec.controlPlane.deployment.extraArgs.apiServer')),
    controllerManager: Type.Optional(flagList('spec.controlPlane.deployment.extraArgs.controllerManager')),
    scheduler: Type.Optional(flagList('spec.controlPlane.deployment.extraArgs.scheduler')),
    kine: Type.Optional(Type.Array(Type.String())),
  },
  { 'x-kubernetes-validations': [rejectField('spec.controlPlane.deployment.extraArgs', 'kine', KINE_WHY)] },
);
export type ControlPlaneExtraArgs = Static<typeof ControlPlaneExtraArgs>;

export const AdditionalVolumeMounts = Type.Object({
  apiServer: Type.Optional(Type.Array(VolumeMount)),
  controllerManager: Type.Optional(Type.Array(VolumeMount)),
  scheduler: Type.Optional(Type.Array(VolumeMount)),
});
export type AdditionalVolumeMounts = Static<typeof AdditionalVolumeMounts>;

export const ProbeSpec = Type.Object({
  initialDelaySeconds: Type.Optional(Type.Integer({ format: 'int32', minimum: 0 })),
  timeoutSeconds: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
  periodSeconds: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
  successThreshold: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
  failureThreshold: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
});
export type ProbeSpec = Static<typeof ProbeSpec>;

export const ProbeSet = Type.Object({
  liveness: Type.Optional(ProbeSpec),
  readiness: Type.Optional(ProbeSpec),
  startup: Type.Optional(ProbeSpec),
});
export type ProbeSet = Static<typeof ProbeSet>;

export const ControlPlaneProbes = Type.Object({
  liveness: Type.Optional(ProbeSpec),
  readiness: Type.Optional(ProbeSpec),
  startup: Type.Optional(ProbeSpec),
  apiServer: Type.Optional(ProbeSet),
  controllerManager: Type.Optional(ProbeSet),
  scheduler: Type.Optional(ProbeSet),
});
export type ControlPlaneProbes = Static<typeof ControlPlaneProbes>;

export const ControlPlaneContainerSecurityContexts = Type.Object(
  {
    apiServer: Type.Optional(SecurityContext),
    controllerManager: Type.Optional(SecurityContext),
    scheduler: Type.Optional(SecurityContext),
    kine: Type.Optional(SecurityContext),
    kineInit: Type.Optional(SecurityContext),
  },
  {
    'x-kubernetes-validations': [
      rejectField('spec.controlPlane.deployment.containerSecurityContexts', 'kine', KINE_WHY),
      rejectField('spec.controlPlane.deployment.containerSecurityContexts', 'kineInit', KINE_WHY),
    ],
  },
);
export type ControlPlaneContainerSecurityContexts = Static<typeof ControlPlaneContainerSecurityContexts>;

export const DeploymentSpec = Type.Object({
  registrySettings: Type.Optional(
    withDefault(RegistrySettings, {
      registry: 'registry.k8s.io',
      apiServerImage: 'kube-apiserver',
      controllerManagerImage: 'kube-controller-manager',
      schedulerImage: 'kube-scheduler',
    }),
  ),
  replicas: Type.Optional(
    Type.Integer({ format: 'int32', default: 2, minimum: 0, description: '0 puts the tenant control plane to sleep (status Sleeping).' }),
  ),
  nodeSelector: Type.Optional(StringMap()),
  runtimeClassName: Type.Optional(Type.String()),
  strategy: Type.Optional(
    withDefault(DeploymentStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '100%' } }),
  ),
  tolerations: Type.Optional(Type.Array(Toleration)),
  affinity: Type.Optional(Affinity),
  topologySpreadConstraints: Type.Optional(Type.Array(TopologySpreadConstraint)),
  resources: Type.Optional(ControlPlaneComponentsResources),
  extraArgs: Type.Optional(ControlPlaneExtraArgs),
  additionalMetadata: Type.Optional(AdditionalMetadata),
  podAdditionalMetadata: Type.Optional(AdditionalMetadata),
  additionalInitContainers: Type.Optional(Type.Array(Container)),
  additionalContainers: Type.Optional(Type.Array(Container)),
  additionalVolumes: Type.Optional(Type.Array(Volume)),
  additionalVolumeMounts: Type.Optional(AdditionalVolumeMounts),
  probes: Type.Optional(ControlPlaneProbes),
  serviceAccountName: Type.Optional(Type.String({ default: 'default' })),
  containerSecurityContexts: Type.Optional(ControlPlaneContainerSecurityContexts),
  podSecurityContext: Type.Optional(PodSecurityContext),
  hardening: Type.Optional(PodHardening),
});
export type DeploymentSpec = Static<typeof DeploymentSpec>;

// --- controlPlane.service / ingress / gateway ---------------------------------------------------------------------

export const AdditionalPort = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 63,
    'x-kubernetes-validations': [
      rule(`self.matches('${DNS1035_LABEL}')`, 'additionalPorts name must be a DNS label (lowercase letters, digits, -)'),
      rule(
        "!(self in ['kube-apiserver', 'konnectivity-server'])",
        'additionalPorts name cannot be kube-apiserver or konnectivity-server: those ports belong to the control plane',
      ),
    ],
  }),
  protocol: Type.Optional(Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')], { default: 'TCP' })),
  appProtocol: Type.Optional(Type.String()),
  port: Type.Integer(PORT),
  targetPort: IntOrString,
});
export type AdditionalPort = Static<typeof AdditionalPort>;

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const ServiceSpec = Type.Object({
  additionalMetadata: Type.Optional(AdditionalMetadata),
  additionalPorts: Type.Optional(
    Type.Array(AdditionalPort, { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  ),
  serviceType: Type.Union(SERVICE_TYPES.map((t) => Type.Literal(t))),
  allocateLoadBalancerNodePorts: Type.Optional(Type.Boolean()),
});
export type ServiceSpec = Static<typeof ServiceSpec>;

export const IngressSpec = Type.Object({
  additionalMetadata: Type.Optional(AdditionalMetadata),
  ingressClassName: Type.Optional(Type.String()),
  hostname: Type.Optional(
    Type.String({
      maxLength: 253,
      'x-kubernetes-validations': [rule(`self == '' || self.matches('${DNS_NAME_OR_WILDCARD}')`, 'ingress hostname must be a DNS name')],
    }),
  ),
});
export type IngressSpec = Static<typeof IngressSpec>;

export const GatewaySpec = Type.Object({
  additionalMetadata: Type.Optional(AdditionalMetadata),
  parentRefs: Type.Optional(Type.Array(ParentReference, { maxItems: 32 })),
  hostname: Type.Optional(
    Type.String({
      maxLength: 253,
      'x-kubernetes-validations': [rule(`self == '' || self.matches('${DNS_NAME_OR_WILDCARD}')`, 'gateway hostname must be a DNS name')],
    }),
  ),
});
export type GatewaySpec = Static<typeof GatewaySpec>;

export const ControlPlane = Type.Object(
  {
    deployment: Type.Optional(DeploymentSpec),
    service: ServiceSpec,
    ingress: Type.Optional(IngressSpec),
    gateway: Type.Optional(GatewaySpec),
  },
  { 'x-kubernetes-validations': [rule('!(has(self.ingress) && has(self.gateway))', 'using both ingress and gateway is not supported')] },
);
export type ControlPlane = Static<typeof ControlPlane>;

// --- kubernetes -------------------------------------------------------------------------------------------------

export const ADMISSION_CONTROLLERS = [
  'AlwaysAdmit', 'AlwaysDeny', 'AlwaysPullImages', 'CertificateApproval', 'CertificateSigning', 'CertificateSubjectRestriction',
  'DefaultIngressClass', 'DefaultStorageClass', 'DefaultTolerationSeconds', 'DenyEscalatingExec', 'DenyExecOnPrivileged',
  'DenyServiceExternalIPs', 'EventRateLimit', 'ExtendedResourceToleration', 'ImagePolicyWebhook', 'LimitPodHardAntiAffinityTopology',
  'LimitRanger', 'MutatingAdmissionWebhook', 'NamespaceAutoProvision', 'NamespaceExists', 'NamespaceLifecycle', 'NodeRestriction',
  'OwnerReferencesPermissionEnforcement', 'PersistentVolumeClaimResize', 'PersistentVolumeLabel', 'PodNodeSelector', 'PodSecurity',
  'PodSecurityPolicy', 'PodTolerationRestriction', 'Priority', 'ResourceQuota', 'RuntimeClass', 'SecurityContextDeny', 'ServiceAccount',
  'StorageObjectInUseProtection', 'TaintNodesByCondition', 'ValidatingAdmissionWebhook',
] as const;
export type AdmissionController = (typeof ADMISSION_CONTROLLERS)[number];

export const DEFAULT_ADMISSION_CONTROLLERS: AdmissionController[] = [
  'CertificateApproval', 'CertificateSigning', 'CertificateSubjectRestriction', 'DefaultIngressClass', 'DefaultStorageClass',
  'DefaultTolerationSeconds', 'LimitRanger', 'MutatingAdmissionWebhook', 'NamespaceLifecycle', 'PersistentVolumeClaimResize',
  'Priority', 'ResourceQuota', 'RuntimeClass', 'ServiceAccount', 'StorageObjectInUseProtection', 'TaintNodesByCondition',
  'ValidatingAdmissionWebhook',
];

/** Plugins removed from kube-apiserver: Kamaji's enum still lists them, kvcloud refuses them by name. */
const REMOVED_ADMISSION_CONTROLLERS = ['PodSecurityPolicy', 'SecurityContextDeny', 'PersistentVolumeLabel'];

const JSON_PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;

export const JSONPatch = Type.Object({
  op: Type.Union(JSON_PATCH_OPS.map((o) => Type.Literal(o))),
  path: Type.String(),
  from: Type.Optional(Type.String()),
  value: Type.Optional(Type.Unsafe<unknown>({ 'x-kubernetes-preserve-unknown-fields': true })),
});
export type JSONPatch = Static<typeof JSONPatch>;

export const PREFERRED_ADDRESS_TYPES = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'] as const;

export const KubeletSpec = Type.Object({
  configurationJSONPatches: Type.Optional(Type.Array(JSONPatch)),
  preferredAddressTypes: Type.Optional(
    Type.Array(Type.Union(PREFERRED_ADDRESS_TYPES.map((t) => Type.Literal(t))), {
      default: ['InternalIP', 'ExternalIP', 'Hostname'],
      minItems: 1,
      'x-kubernetes-list-type': 'set',
    }),
  ),
  cgroupfs: Type.Optional(Type.Union([Type.Literal('systemd'), Type.Literal('cgroupfs')], { description: 'Deprecated: use configurationJSONPatches.' })),
});
export type KubeletSpec = Static<typeof KubeletSpec>;

// A version is v?MAJOR.MINOR.PATCH with an optional pre-release; CEL reads MAJOR and MINOR back out of it.
const VERSION_REGEX = '^v?[0-9]+[.][0-9]+[.][0-9]+(-[0-9A-Za-z.-]+)?$';
const parts = (v: string) => `(${v}.startsWith('v') ? ${v}.substring(1) : ${v}).split('.')`;

export const KubernetesSpec = Type.Object(
  {
    version: Type.String({
      maxLength: 64,
      description: 'Kubernetes version of the tenant control plane, e.g. v1.37.2.',
      'x-kubernetes-validations': [
        rule(`self.matches('${VERSION_REGEX}')`, 'spec.kubernetes.version must be a Kubernetes release such as v1.37.2'),
        supportedVersionRule('spec.kubernetes.version', VERSION_REGEX, `int(${parts('self')}[0])`, `int(${parts('self')}[1])`),
      ],
    }),
    kubelet: KubeletSpec,
    admissionControllers: Type.Optional(
      Type.Array(Type.Union(ADMISSION_CONTROLLERS.map((a) => Type.Literal(a))), {
        default: DEFAULT_ADMISSION_CONTROLLERS,
        maxItems: ADMISSION_CONTROLLERS.length,
        'x-kubernetes-validations': [
          rule(
            `!self.exists(a, a in [${REMOVED_ADMISSION_CONTROLLERS.map((a) => `'${a}'`).join(', ')}])`,
            unsupportedMessage(
              `the admission controllers ${REMOVED_ADMISSION_CONTROLLERS.join(', ')} in spec.kubernetes.admissionControllers`,
              'they were removed from kube-apiserver',
            ),
          ),
        ],
      }),
    ),
    // kvcloud's own fields, not Kamaji's: the tenant apiserver's structured configuration sits with the other
    // Kubernetes-level settings of the tenant rather than with the pod (controlPlane.deployment).
    authentication: Type.Optional(authenticationSchema('spec.kubernetes.authentication')),
    authorization: Type.Optional(authorizationSchema('spec.kubernetes.authorization')),
  },
  {
    'x-kubernetes-validations': [
      rule(
        `!self.version.matches('${VERSION_REGEX}') || !oldSelf.version.matches('${VERSION_REGEX}') || ` +
          `int(${parts('self.version')}[1]) >= int(${parts('oldSelf.version')}[1])`,
        'spec.kubernetes.version cannot be downgraded to an older minor version',
        { fieldPath: '.version' },
      ),
      rule(
        `!self.version.matches('${VERSION_REGEX}') || !oldSelf.version.matches('${VERSION_REGEX}') || ` +
          `int(${parts('self.version')}[1]) - int(${parts('oldSelf.version')}[1]) <= 1`,
        'spec.kubernetes.version can move up one minor version at a time (no skipping minors)',
        { fieldPath: '.version' },
      ),
    ],
  },
);
export type KubernetesSpec = Static<typeof KubernetesSpec>;

// --- networkProfile ---------------------------------------------------------------------------------------------

const cidrList = (field: string) =>
  Type.Array(Type.String({ maxLength: 64 }), {
    minItems: 1,
    maxItems: 2,
    'x-kubernetes-validations': [
      rule('self.all(x, isCIDR(x))', `all ${field} entries must be valid CIDRs`),
      rule(
        '!self.all(x, isCIDR(x)) || size(self) < 2 || cidr(self[0]).ip().family() != cidr(self[1]).ip().family()',
        `${field} must not contain two CIDRs of the same IP family`,
      ),
    ],
  });

export const NetworkProfileSpec = Type.Object(
  {
    loadBalancerSourceRanges: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 16,
        'x-kubernetes-validations': [rule('self.all(r, isCIDR(r))', 'all LoadBalancer source range entries must be valid CIDR')],
      }),
    ),
    loadBalancerClass: Type.Optional(
      Type.String({ minLength: 1, 'x-kubernetes-validations': [rule('self == oldSelf', 'LoadBalancerClass is immutable')] }),
    ),
    address: Type.Optional(
      Type.String({
        maxLength: 253,
        'x-kubernetes-validations': [
          rule(`self == '' || isIP(self) || self.matches('${DNS_NAME_OR_WILDCARD}')`, 'networkProfile.address must be an IP address or a DNS name'),
        ],
      }),
    ),
    advertiseAddress: Type.Optional(
      Type.String({ maxLength: 64, 'x-kubernetes-validations': [rule("self == '' || isIP(self)", 'advertiseAddress must be a valid IP address')] }),
    ),
    clusterDomain: Type.Optional(
      Type.String({
        default: 'cluster.local',
        maxLength: 253,
        pattern: '.*\\..*',
        'x-kubernetes-validations': [rule('self == oldSelf', 'changing the cluster domain is not supported')],
      }),
    ),
    allowAddressAsExternalIP: Type.Optional(Type.Boolean()),
    port: Type.Optional(Type.Integer({ ...PORT, default: 6443 })),
    certSANs: Type.Optional(
      Type.Array(Type.String({ maxLength: 253 }), {
        maxItems: 64,
        'x-kubernetes-validations': [
          rule(`self.all(s, isIP(s) || s.matches('${DNS_NAME_OR_WILDCARD}'))`, 'networkProfile.certSANs entries must be IP addresses or DNS names'),
        ],
      }),
    ),
    serviceCidr: Type.Optional(
      Type.String({
        default: DEFAULT_SERVICE_CIDR,
        maxLength: 64,
        description: 'Deprecated: use serviceCidrs.',
        'x-kubernetes-validations': [rule("self == '' || isCIDR(self)", 'serviceCidr must be empty or a valid CIDR')],
      }),
    ),
    serviceCidrs: Type.Optional(cidrList('serviceCidrs')),
    podCidr: Type.Optional(
      Type.String({
        default: DEFAULT_POD_CIDR,
        maxLength: 64,
        description: 'Deprecated: use podCidrs.',
        'x-kubernetes-validations': [rule("self == '' || isCIDR(self)", 'podCidr must be empty or a valid CIDR')],
      }),
    ),
    podCidrs: Type.Optional(cidrList('podCidrs')),
    dnsServiceIPs: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 8,
        'x-kubernetes-validations': [rule('self.all(ip, isIP(ip))', 'all dnsServiceIPs entries must be IP addresses')],
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      rule(
        '!has(self.dnsServiceIPs) || !self.dnsServiceIPs.all(ip, isIP(ip)) || ' +
          "(has(self.serviceCidrs) ? (!self.serviceCidrs.all(c, isCIDR(c)) || self.dnsServiceIPs.all(ip, self.serviceCidrs.exists(c, cidr(c).containsIP(ip)))) : " +
          "(!has(self.serviceCidr) || self.serviceCidr == '' || !isCIDR(self.serviceCidr) || self.dnsServiceIPs.all(ip, cidr(self.serviceCidr).containsIP(ip))))",
        'every networkProfile.dnsServiceIPs entry must lie inside the Service CIDR (serviceCidrs, else serviceCidr)',
        { fieldPath: '.dnsServiceIPs' },
      ),
    ],
  },
);
export type NetworkProfileSpec = Static<typeof NetworkProfileSpec>;

// --- addons -----------------------------------------------------------------------------------------------------

export const AddonSpec = Type.Object({
  imageRepository: Type.Optional(Type.String()),
  imageTag: Type.Optional(Type.String()),
});
export type AddonSpec = Static<typeof AddonSpec>;

export const KonnectivityServerSpec = Type.Object({
  port: Type.Integer(PORT),
  version: Type.Optional(Type.String()),
  image: Type.Optional(Type.String({ default: 'registry.k8s.io/kas-network-proxy/proxy-server' })),
  resources: Type.Optional(ResourceRequirements),
  extraArgs: Type.Optional(flagList('spec.addons.konnectivity.server.extraArgs')),
  securityContext: Type.Optional(SecurityContext),
});
export type KonnectivityServerSpec = Static<typeof KonnectivityServerSpec>;

export const KonnectivityAgentSpec = Type.Object(
  {
    image: Type.Optional(Type.String({ default: 'registry.k8s.io/kas-network-proxy/proxy-agent' })),
    version: Type.Optional(Type.String()),
    tolerations: Type.Optional(Type.Array(Toleration, { default: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }] })),
    extraArgs: Type.Optional(flagList('spec.addons.konnectivity.agent.extraArgs')),
    hostNetwork: Type.Optional(Type.Boolean({ default: false })),
    mode: Type.Optional(Type.Union([Type.Literal('DaemonSet'), Type.Literal('Deployment')], { default: 'DaemonSet' })),
    replicas: Type.Optional(Type.Integer({ format: 'int32', minimum: 0 })),
  },
  {
    'x-kubernetes-validations': [
      rule(
        "!(self.mode == 'DaemonSet' && has(self.replicas) && self.replicas != 0) && !(self.mode == 'Deployment' && has(self.replicas) && self.replicas == 0)",
        'replicas must be 0 (or unset) when mode is DaemonSet, and greater than 0 (or unset) when mode is Deployment',
      ),
    ],
  },
);
export type KonnectivityAgentSpec = Static<typeof KonnectivityAgentSpec>;

export const KonnectivitySpec = Type.Object({
  server: Type.Optional(withDefault(KonnectivityServerSpec, { image: 'registry.k8s.io/kas-network-proxy/proxy-server', port: 8132 })),
  agent: Type.Optional(withDefault(KonnectivityAgentSpec, { image: 'registry.k8s.io/kas-network-proxy/proxy-agent', mode: 'DaemonSet' })),
});
export type KonnectivitySpec = Static<typeof KonnectivitySpec>;

export const AddonsSpec = Type.Object({
  coreDNS: Type.Optional(AddonSpec),
  konnectivity: Type.Optional(KonnectivitySpec),
  kubeProxy: Type.Optional(AddonSpec),
});
export type AddonsSpec = Static<typeof AddonsSpec>;

// --- spec -------------------------------------------------------------------------------------------------------

// Kamaji's write-limited mode: each flag makes the tenant apiserver refuse one kind of write (a
// ValidatingAdmissionPolicy the operator keeps inside the tenant), and the version status reads WriteLimited.
export const Permissions = Type.Object({
  blockCreation: Type.Optional(Type.Boolean({ description: 'Refuse creating objects in the tenant cluster (the tenant control plane and nodes keep working).' })),
  blockUpdate: Type.Optional(Type.Boolean({ description: 'Refuse updating objects in the tenant cluster (the tenant control plane and nodes keep working).' })),
  blockDeletion: Type.Optional(Type.Boolean({ description: 'Refuse deleting objects in the tenant cluster (the tenant control plane and nodes keep working).' })),
});

export const DataStoreOverride = Type.Object({
  resource: Type.Optional(Type.String()),
  dataStore: Type.Optional(Type.String()),
});

// A schema or user name becomes an etcd key prefix `/<schema>/` and role: a `/` would let a tenant escape its prefix.
const IDENTIFIER_REGEX = '^[A-Za-z0-9_-]+$';

const LB = "self.controlPlane.service.serviceType == 'LoadBalancer'";

export const TenantControlPlaneSpec = Type.Object(
  {
    writePermissions: Type.Optional(Permissions),
    dataStore: Type.Optional(
      Type.String({
        maxLength: 253,
        // A change is a migration to that DataStore; the DataStore registry policy (config/controlplane/admission)
        // refuses one to a DataStore of another driver, which this schema cannot see.
        description:
          'Name of the DataStore; when empty the operator assigns its default DataStore. Changing it migrates the tenant to that DataStore (same driver only).',
      }),
    ),
    dataStoreSchema: Type.Optional(
      Type.String({
        maxLength: 63,
        description: 'etcd key prefix (/<schema>/) or database name; defaults to <namespace>_<name> with - replaced by _.',
        'x-kubernetes-validations': [
          rule('self == oldSelf', 'changing the dataStoreSchema is not supported'),
          rule(`self.matches('${IDENTIFIER_REGEX}')`, 'spec.dataStoreSchema may only contain letters, digits, _ and -'),
        ],
      }),
    ),
    dataStoreUsername: Type.Optional(
      Type.String({
        maxLength: 63,
        'x-kubernetes-validations': [
          rule('self == oldSelf', 'changing the dataStoreUsername is not supported'),
          rule(`self.matches('${IDENTIFIER_REGEX}')`, 'spec.dataStoreUsername may only contain letters, digits, _ and -'),
        ],
      }),
    ),
    dataStoreOverrides: Type.Optional(Type.Array(DataStoreOverride)),
    preGeneratedCertificates: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
    ),
    internalCACertificatesConfigMap: Type.Optional(Type.String()),
    controlPlane: ControlPlane,
    kubernetes: KubernetesSpec,
    // Defaulted as a whole so its nested defaults (port, clusterDomain, CIDRs) always apply.
    networkProfile: Type.Optional(withDefault(NetworkProfileSpec, {})),
    addons: Type.Optional(AddonsSpec),
  },
  {
    'x-kubernetes-validations': [
      rule('!has(oldSelf.dataStore) || has(self.dataStore)', 'unsetting the dataStore is not supported'),
      rule('!has(oldSelf.dataStoreSchema) || has(self.dataStoreSchema)', 'unsetting the dataStoreSchema is not supported'),
      rule('!has(oldSelf.dataStoreUsername) || has(self.dataStoreUsername)', 'unsetting the dataStoreUsername is not supported'),
      rule(
        `!has(self.networkProfile) || !has(self.networkProfile.loadBalancerSourceRanges) || size(self.networkProfile.loadBalancerSourceRanges) == 0 || ${LB}`,
        'LoadBalancer source ranges are supported only with LoadBalancer service type',
      ),
      rule(
        `!has(self.networkProfile) || !has(self.networkProfile.loadBalancerClass) || ${LB}`,
        'LoadBalancerClass is supported only with LoadBalancer service type',
      ),
      rule(
        `!has(self.controlPlane.service.allocateLoadBalancerNodePorts) || ${LB}`,
        'allocateLoadBalancerNodePorts is supported only with LoadBalancer service type',
      ),
      rule(
        `self.controlPlane.service.serviceType != 'LoadBalancer' || oldSelf.controlPlane.service.serviceType != 'LoadBalancer' || ` +
          '(has(self.networkProfile) && has(self.networkProfile.loadBalancerClass)) == (has(oldSelf.networkProfile) && has(oldSelf.networkProfile.loadBalancerClass))',
        'LoadBalancerClass cannot be set or unset at runtime',
      ),
      rule(
        '!has(self.dataStoreOverrides) || size(self.dataStoreOverrides) == 0',
        unsupportedMessage('spec.dataStoreOverrides', 'every resource of a tenant is stored in its one DataStore'),
        { fieldPath: '.dataStoreOverrides' },
      ),
      ...structuredAuthFlagRules({
        authn: 'self.kubernetes.authentication',
        authz: 'self.kubernetes.authorization',
        args: 'self.controlPlane.deployment.extraArgs.apiServer',
        argsPresent:
          'has(self.controlPlane.deployment) && has(self.controlPlane.deployment.extraArgs) && has(self.controlPlane.deployment.extraArgs.apiServer)',
        argsName: 'spec.controlPlane.deployment.extraArgs.apiServer',
        fieldPath: '.controlPlane.deployment.extraArgs.apiServer',
      }),
      rejectField('spec', 'preGeneratedCertificates', 'kvcloud generates the tenant PKI itself'),
      rejectField('spec', 'internalCACertificatesConfigMap', 'extra CA bundles are not mounted into the control plane pods yet'),
    ],
  },
);
export type TenantControlPlaneSpec = Static<typeof TenantControlPlaneSpec>;
