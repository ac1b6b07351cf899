// KubevirtCluster: the Cluster API InfraCluster of a tenant cluster. CAPK's spec, plus the v1beta2 contract's
// status.initialization, so CAPK manifests apply unchanged and Cluster API >= 1.11 reads it natively.
import { Type, type Static } from '@sinclair/typebox';
import { FailureDomainsSchema } from './failure-domains.js';
import { objectName } from '../../../lib/crd/dns-names.js';
import { Conditions, RootObjectMeta, TypeMetaFields } from '../../../lib/crd/kube-schemas.js';
import { rules, withRules, type ValidationRule } from '../../../lib/crd/validation-rules.js';
import { DeprecatedStatus, EmbeddedObjectMeta, ObjectReference } from './kube-shapes.js';

/** infraClusterSecretRef: a Secret holding the kubeconfig of the cluster the VMs run in (key `kubeconfig`). */
export const infraClusterSecretRef = (field: string) => {
  const checks: ValidationRule[] = [
    { rule: "has(self.name) && self.name != ''", message: `${field}.name is required: the name of the Secret holding the infra cluster kubeconfig` },
    { rule: "!has(self.kind) || self.kind == 'Secret'", message: `${field}.kind must be Secret (or omitted)` },
    { rule: "!has(self.apiVersion) || self.apiVersion == 'v1'", message: `${field}.apiVersion must be v1 (or omitted)` },
  ];
  return ObjectReference(
    'A Secret with a kubeconfig (key `kubeconfig`, optional key `namespace`) for an external infra cluster the VMs run in; ' +
      'its namespace defaults to this object\'s. Absent: the management cluster hosts the VMs.',
    checks,
  );
};

const F = 'spec.controlPlaneEndpoint';
export const APIEndpointSchema = Type.Object(
  {
    host: Type.String({ maxLength: 512, description: 'Hostname or IP address the tenant API server is reached at.' }),
    port: Type.Integer({ format: 'int32', description: 'Port the tenant API server is reached at.' }),
  },
  {
    description:
      'The endpoint of the tenant control plane. Set by the controller from the control-plane Service unless a user sets it; ' +
      'immutable once set. {host: "", port: 0} means not set yet.',
    ...rules(
      { rule: "self.host != '' || self.port == 0", message: `${F}.host is required when ${F}.port is set`, fieldPath: '.host' },
      { rule: "self.host == '' || (self.port >= 1 && self.port <= 65535)", message: `${F}.port must be between 1 and 65535`, fieldPath: '.port' },
      {
        rule: "self.host == '' || isIP(self.host) || self.host.matches('^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?([.][A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$')",
        message: `${F}.host must be a DNS name or an IP address, without scheme or port (put the port in ${F}.port)`,
        fieldPath: '.host',
      },
    ),
  },
);

const S = 'spec.controlPlaneServiceTemplate.spec';
export const ControlPlaneServiceTemplateSchema = Type.Object(
  {
    metadata: Type.Optional(
      EmbeddedObjectMeta(
        'Labels, annotations and namespace of the control-plane Service (namespace: with infraClusterSecretRef, the kubeconfig\'s by default).',
        'spec.controlPlaneServiceTemplate.metadata.namespace',
      ),
    ),
    spec: Type.Optional(
      Type.Object(
        {
          type: Type.Optional(
            Type.Union([Type.Literal('ClusterIP'), Type.Literal('NodePort'), Type.Literal('LoadBalancer')], {
              description: 'How the control-plane Service is exposed (default ClusterIP: reachable inside the infra cluster only).',
            }),
          ),
          port: Type.Optional(
            Type.Integer({
              format: 'int32',
              description: 'kvcloud: the Service port, and so the endpoint port (default 6443).',
              ...rules({ rule: 'self >= 1 && self <= 65535', message: `${S}.port must be between 1 and 65535` }),
            }),
          ),
        },
        { description: 'The parts of the Service spec a user may choose.' },
      ),
    ),
  },
  { description: 'The Service in front of the control-plane VMs (<cluster>-lb).' },
);

export const SSHKeysSchema = Type.Object(
  {
    configRef: Type.Optional(
      ObjectReference('A resource holding the keys.', [
        { rule: "has(self.name) && self.name != ''", message: 'spec.sshKeys.configRef.name is required when configRef is set' },
      ]),
    ),
    dataSecretName: Type.Optional(
      objectName('spec.sshKeys.dataSecretName', 'a Secret name', {
        description: 'The Secret holding the key pair (keys `pub` and `key`); default <cluster>-ssh-keys.',
      }),
    ),
  },
  { description: 'Where the SSH key pair of the bootstrap user is kept.' },
);

export const KubevirtClusterSpecSchema = Type.Object(
  {
    controlPlaneEndpoint: Type.Optional(APIEndpointSchema),
    controlPlaneServiceTemplate: Type.Optional(ControlPlaneServiceTemplateSchema),
    sshKeys: Type.Optional(SSHKeysSchema),
    infraClusterSecretRef: Type.Optional(infraClusterSecretRef('spec.infraClusterSecretRef')),
  },
  // Defaulted so a KubevirtCluster written without spec (CAPK's persistent-storage template) reads with one.
  { description: 'The desired state of the tenant cluster\'s infrastructure.', default: {} },
);

/** What may not change on a live KubevirtCluster (templates have their own policy). */
const CLUSTER_TRANSITIONS: ValidationRule[] = [
  {
    rule:
      "!has(oldSelf.controlPlaneEndpoint) || oldSelf.controlPlaneEndpoint.host == '' || " +
      '(has(self.controlPlaneEndpoint) && self.controlPlaneEndpoint == oldSelf.controlPlaneEndpoint)',
    message: `${F} is immutable once set: the tenant's certificates and kubeconfigs point at it; create a new cluster to move it`,
    fieldPath: '.controlPlaneEndpoint',
  },
  {
    rule:
      'has(self.infraClusterSecretRef) == has(oldSelf.infraClusterSecretRef) && ' +
      '(!has(self.infraClusterSecretRef) || self.infraClusterSecretRef == oldSelf.infraClusterSecretRef)',
    message:
      'spec.infraClusterSecretRef is immutable: the cluster\'s VMs and Service live in that infra cluster; create a new cluster to move them',
    fieldPath: '.infraClusterSecretRef',
  },
];

export const KubevirtClusterStatusSchema = Type.Object(
  {
    ready: Type.Optional(Type.Boolean({ default: false, description: 'v1beta1 contract: the infrastructure is ready.' })),
    initialization: Type.Optional(
      Type.Object(
        { provisioned: Type.Optional(Type.Boolean({ description: 'v1beta2 contract: the infrastructure is provisioned.' })) },
        { description: 'Initial provisioning, as the Cluster API v1beta2 contract reads it.' },
      ),
    ),
    failureDomains: Type.Optional(FailureDomainsSchema),
    conditions: Type.Optional(Conditions('The observed state, Ready summarising the others.')),
    failureReason: Type.Optional(Type.String({ description: 'v1beta1 contract: a terminal problem, for machines.' })),
    failureMessage: Type.Optional(Type.String({ description: 'v1beta1 contract: a terminal problem, for humans.' })),
    deprecated: Type.Optional(DeprecatedStatus),
  },
  { description: 'The observed state of the tenant cluster\'s infrastructure.' },
);

export const KubevirtClusterSchema = Type.Object({
  ...TypeMetaFields,
  metadata: RootObjectMeta,
  spec: Type.Optional(withRules(KubevirtClusterSpecSchema, CLUSTER_TRANSITIONS)),
  status: Type.Optional(KubevirtClusterStatusSchema),
});

export type APIEndpoint = Static<typeof APIEndpointSchema>;
export type ControlPlaneServiceTemplate = Static<typeof ControlPlaneServiceTemplateSchema>;
export type SSHKeys = Static<typeof SSHKeysSchema>;
export type KubevirtClusterSpec = Static<typeof KubevirtClusterSpecSchema>;
export type KubevirtClusterStatus = Static<typeof KubevirtClusterStatusSchema>;
export type KubevirtCluster = Static<typeof KubevirtClusterSchema>;
