// TenantControlPlane status with Kamaji's JSON names, so dashboards and `kubectl get tcp` columns read the same.
import { Type, type Static } from '@sinclair/typebox';
import { ConditionSchema } from '../../../lib/crd/kube-schemas.js';
import { opaque } from './core-types.js';

const Time = Type.String({ format: 'date-time' });

/** Secret name, last update and checksum: the shape Kamaji reports for every generated certificate or kubeconfig. */
export const SecretStatus = Type.Object({
  secretName: Type.Optional(Type.String()),
  lastUpdate: Type.Optional(Time),
  checksum: Type.Optional(Type.String()),
});
export type SecretStatus = Static<typeof SecretStatus>;

export const ETCDCertificatesStatus = Type.Object({
  apiServer: Type.Optional(SecretStatus),
  ca: Type.Optional(SecretStatus),
});

export const CertificatesStatus = Type.Object({
  ca: Type.Optional(SecretStatus),
  apiServer: Type.Optional(SecretStatus),
  apiServerKubeletClient: Type.Optional(SecretStatus),
  frontProxyCA: Type.Optional(SecretStatus),
  frontProxyClient: Type.Optional(SecretStatus),
  sa: Type.Optional(SecretStatus),
  etcd: Type.Optional(ETCDCertificatesStatus),
});
export type CertificatesStatus = Static<typeof CertificatesStatus>;

export const StorageStatus = Type.Object({
  driver: Type.Optional(Type.String()),
  dataStoreName: Type.Optional(Type.String()),
  config: Type.Optional(Type.Object({ secretName: Type.Optional(Type.String()), checksum: Type.Optional(Type.String()) })),
  setup: Type.Optional(
    Type.Object({
      schema: Type.Optional(Type.String()),
      user: Type.Optional(Type.String()),
      lastUpdate: Type.Optional(Time),
      checksum: Type.Optional(Type.String()),
    }),
  ),
  certificate: Type.Optional(SecretStatus),
  /** kvcloud addition: the DataStore migration in progress, or the last one (phase Completed). */
  migration: Type.Optional(
    Type.Object({
      source: Type.String({ description: 'The DataStore the tenant moves from.' }),
      target: Type.String({ description: 'The DataStore the tenant moves to.' }),
      phase: Type.Union([Type.Literal('BlockingWrites'), Type.Literal('Copying'), Type.Literal('Switching'), Type.Literal('Cleaning'), Type.Literal('Completed')]),
      copiedKeys: Type.Optional(Type.Integer({ format: 'int64' })),
      startedAt: Type.Optional(Time),
      finishedAt: Type.Optional(Time),
    }),
  ),
});
export type StorageStatus = Static<typeof StorageStatus>;

export const KubeconfigsStatus = Type.Object({
  admin: Type.Optional(SecretStatus),
  controllerManager: Type.Optional(SecretStatus),
  scheduler: Type.Optional(SecretStatus),
});
export type KubeconfigsStatus = Static<typeof KubeconfigsStatus>;

export const VERSION_STATUSES = [
  'Unknown',
  'Provisioning',
  'CertificateAuthorityRotating',
  'Upgrading',
  'Migrating',
  'Ready',
  'NotReady',
  'Sleeping',
  'WriteLimited',
] as const;
export type KubernetesVersionStatus = (typeof VERSION_STATUSES)[number];

export const KubernetesVersion = Type.Object({
  version: Type.Optional(Type.String()),
  status: Type.Optional(Type.Union(VERSION_STATUSES.map((s) => Type.Literal(s)), { default: 'Provisioning' })),
});

const ObjectRefStatus = {
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
};

/** apps/v1 DeploymentStatus inlined, plus the selector the scale subresource reports. */
export const KubernetesDeploymentStatus = Type.Object({
  ...ObjectRefStatus,
  selector: Type.Optional(Type.String()),
  lastUpdate: Type.Optional(Time),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  replicas: Type.Optional(Type.Integer({ format: 'int32' })),
  updatedReplicas: Type.Optional(Type.Integer({ format: 'int32' })),
  readyReplicas: Type.Optional(Type.Integer({ format: 'int32' })),
  availableReplicas: Type.Optional(Type.Integer({ format: 'int32' })),
  unavailableReplicas: Type.Optional(Type.Integer({ format: 'int32' })),
  terminatingReplicas: Type.Optional(Type.Integer({ format: 'int32' })),
  collisionCount: Type.Optional(Type.Integer({ format: 'int32' })),
  conditions: Type.Optional(Type.Array(opaque('An apps/v1 DeploymentCondition.'))),
});

const LoadBalancerIngress = Type.Object({
  ip: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  ipMode: Type.Optional(Type.String()),
  ports: Type.Optional(Type.Array(opaque('A core/v1 PortStatus.'))),
});

/** core/v1 ServiceStatus inlined, plus the Service's name and port. */
export const KubernetesServiceStatus = Type.Object({
  ...ObjectRefStatus,
  port: Type.Optional(Type.Integer({ format: 'int32' })),
  loadBalancer: Type.Optional(Type.Object({ ingress: Type.Optional(Type.Array(LoadBalancerIngress)) })),
  conditions: Type.Optional(Type.Array(opaque('A metav1 Condition.'))),
});
export type KubernetesServiceStatus = Static<typeof KubernetesServiceStatus>;

export const KubernetesIngressStatus = Type.Object({
  ...ObjectRefStatus,
  loadBalancer: Type.Optional(Type.Object({ ingress: Type.Optional(Type.Array(opaque('A networking/v1 IngressLoadBalancerIngress.'))) })),
});

export const KubernetesGatewayStatus = Type.Object({
  parents: Type.Optional(Type.Array(opaque('A Gateway API RouteParentStatus.'))),
  routeRef: Type.Optional(Type.Object({ name: Type.Optional(Type.String()) })),
  accessPoints: Type.Optional(
    Type.Array(
      Type.Object({ type: Type.String(), value: Type.String(), port: Type.Integer({ format: 'int32' }), urls: Type.Optional(Type.Array(Type.String())) }),
    ),
  ),
});

export const KubernetesStatus = Type.Object({
  version: Type.Optional(KubernetesVersion),
  deployment: Type.Optional(KubernetesDeploymentStatus),
  service: Type.Optional(KubernetesServiceStatus),
  ingress: Type.Optional(KubernetesIngressStatus),
  gateway: Type.Optional(KubernetesGatewayStatus),
});
export type KubernetesStatus = Static<typeof KubernetesStatus>;

const ExternalObjectStatus = Type.Object({ ...ObjectRefStatus, lastUpdate: Type.Optional(Time) });

export const KonnectivityStatus = Type.Object({
  enabled: Type.Boolean(),
  configMap: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), checksum: Type.Optional(Type.String()) })),
  certificate: Type.Optional(SecretStatus),
  kubeconfig: Type.Optional(SecretStatus),
  sa: Type.Optional(ExternalObjectStatus),
  clusterrolebinding: Type.Optional(ExternalObjectStatus),
  agent: Type.Optional(Type.Object({ ...ObjectRefStatus, lastUpdate: Type.Optional(Time), mode: Type.Optional(Type.String()) })),
  service: Type.Optional(KubernetesServiceStatus),
  gateway: Type.Optional(KubernetesGatewayStatus),
});
export type KonnectivityStatus = Static<typeof KonnectivityStatus>;

export const AddonStatus = Type.Object({ enabled: Type.Boolean(), lastUpdate: Type.Optional(Time) });

export const AddonsStatus = Type.Object({
  coreDNS: Type.Optional(AddonStatus),
  kubeProxy: Type.Optional(AddonStatus),
  konnectivity: Type.Optional(KonnectivityStatus),
});
export type AddonsStatus = Static<typeof AddonsStatus>;

export const TenantControlPlaneStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64' })),
  storage: Type.Optional(StorageStatus),
  certificates: Type.Optional(CertificatesStatus),
  kubeconfig: Type.Optional(KubeconfigsStatus),
  kubernetesResources: Type.Optional(KubernetesStatus),
  kubeadmconfig: Type.Optional(
    Type.Object({ configmapName: Type.Optional(Type.String()), lastUpdate: Type.Optional(Time), checksum: Type.Optional(Type.String()) }),
  ),
  kubeadmPhase: Type.Optional(
    Type.Object({ bootstrapToken: Type.Object({ checksum: Type.Optional(Type.String()), lastUpdate: Type.Optional(Time) }) }),
  ),
  controlPlaneEndpoint: Type.Optional(Type.String()),
  addons: Type.Optional(AddonsStatus),
  bootstrap: Type.Optional(
    Type.Object({ rbac: Type.Optional(Type.Object({ clusterRoleBinding: Type.Optional(ExternalObjectStatus) })) }),
  ),
  /** kvcloud addition: conditions with reasons (Kamaji has none on TenantControlPlane). */
  conditions: Type.Optional(
    Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  ),
});
export type TenantControlPlaneStatus = Static<typeof TenantControlPlaneStatus>;
