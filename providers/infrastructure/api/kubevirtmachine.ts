// KubevirtMachine: the Cluster API InfraMachine backed by one KubeVirt VirtualMachine of the same name. CAPK's
// spec and status, plus the v1beta2 contract's status.initialization and status.failureDomain.
import { Type, type Static } from '@sinclair/typebox';
import { infraClusterSecretRef } from './kubevirtcluster.js';
import { Conditions, RootObjectMeta, TypeMetaFields } from '../../../lib/crd/kube-schemas.js';
import { rules, withRules, type ValidationRule } from '../../../lib/crd/validation-rules.js';
import { DeprecatedStatus, EmbeddedObjectMeta } from './kube-shapes.js';
import { VirtualMachineSpecSchema } from './virtualmachine-spec.js';

/** The providerID of the VM a KubevirtMachine owns; the tenant Node carries the same value. */
export const PROVIDER_ID_PREFIX = 'kubevirt://';

export const VirtualMachineTemplateSpecSchema = Type.Object(
  {
    metadata: Type.Optional(
      EmbeddedObjectMeta(
        'Labels, annotations and namespace of the VirtualMachine (namespace: where the VM runs; with infraClusterSecretRef, the kubeconfig\'s by default).',
        'spec.virtualMachineTemplate.metadata.namespace',
      ),
    ),
    spec: VirtualMachineSpecSchema,
  },
  { description: 'The VirtualMachine to create for this machine.' },
);

export const VirtualMachineBootstrapCheckSpecSchema = Type.Object(
  {
    checkStrategy: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('ssh')], {
        description:
          'How the controller confirms the guest bootstrapped. Unset (kvcloud default): the tenant Node carrying this ' +
          "machine's providerID exists, read through <cluster>-kubeconfig, no SSH needed. ssh: CAPK's check of the Cluster API " +
          'sentinel file over SSH. none: no check.',
      }),
    ),
  },
  { description: 'How bootstrap success is confirmed.' },
);

export const KubevirtMachineSpecSchema = Type.Object(
  {
    virtualMachineTemplate: VirtualMachineTemplateSpecSchema,
    providerID: Type.Optional(
      Type.String({
        maxLength: 512,
        description: 'kubevirt://<VirtualMachine name>, set by the controller; immutable once set.',
        ...rules({
          rule: `self.startsWith('${PROVIDER_ID_PREFIX}') && size(self) > ${PROVIDER_ID_PREFIX.length}`,
          message: `spec.providerID must be ${PROVIDER_ID_PREFIX}<VirtualMachine name>; leave it unset and the controller fills it in`,
        }),
      }),
    ),
    virtualMachineBootstrapCheck: Type.Optional(VirtualMachineBootstrapCheckSpecSchema),
    infraClusterSecretRef: Type.Optional(infraClusterSecretRef('spec.infraClusterSecretRef')),
  },
  { description: 'The desired state of one machine.' },
);

/** What may not change on a live KubevirtMachine (templates have their own policy). */
const MACHINE_TRANSITIONS: ValidationRule[] = [
  {
    rule: '!has(oldSelf.providerID) || (has(self.providerID) && self.providerID == oldSelf.providerID)',
    message: 'spec.providerID is immutable once set: it names the VM and the tenant Node; delete the machine to replace it',
    fieldPath: '.providerID',
  },
  {
    rule: 'self.virtualMachineTemplate == oldSelf.virtualMachineTemplate',
    message:
      'spec.virtualMachineTemplate is immutable: the VirtualMachine was created from it; change the KubevirtMachineTemplate and let Cluster API replace the machine',
    fieldPath: '.virtualMachineTemplate',
  },
  {
    // Unset -> set is allowed once: the controller pins the KubevirtCluster's infra cluster on the machine before
    // it creates the VM (as CAPK does), so a later KubevirtCluster change cannot orphan the VM.
    rule: '!has(oldSelf.infraClusterSecretRef) || (has(self.infraClusterSecretRef) && self.infraClusterSecretRef == oldSelf.infraClusterSecretRef)',
    message: 'spec.infraClusterSecretRef is immutable once set: the VM lives in that infra cluster; delete the machine to replace it',
    fieldPath: '.infraClusterSecretRef',
  },
];

const AddressSchema = Type.Object({
  type: Type.Union(['Hostname', 'ExternalIP', 'InternalIP', 'ExternalDNS', 'InternalDNS'].map((t) => Type.Literal(t))),
  address: Type.String({ minLength: 1, maxLength: 256 }),
});

export const KubevirtMachineStatusSchema = Type.Object(
  {
    ready: Type.Optional(Type.Boolean({ default: false, description: 'v1beta1 contract: the machine is ready.' })),
    initialization: Type.Optional(
      Type.Object(
        { provisioned: Type.Optional(Type.Boolean({ description: 'v1beta2 contract: the machine\'s infrastructure is provisioned.' })) },
        { description: 'Initial provisioning, as the Cluster API v1beta2 contract reads it.' },
      ),
    ),
    loadBalancerConfigured: Type.Optional(Type.Boolean({ description: 'The machine was added to the control-plane load balancer.' })),
    addresses: Type.Optional(Type.Array(AddressSchema, { maxItems: 32, description: 'Every address of the VM\'s interfaces (dual-stack).' })),
    failureDomain: Type.Optional(Type.String({ maxLength: 256, description: 'v1beta2 contract: the failure domain (zone) the VM runs in.' })),
    conditions: Type.Optional(Conditions('The observed state, Ready summarising the others.')),
    nodeupdated: Type.Optional(Type.Boolean({ description: 'The tenant Node carries this machine\'s providerID.' })),
    failureReason: Type.Optional(Type.String({ description: 'v1beta1 contract: a terminal problem, for machines.' })),
    failureMessage: Type.Optional(Type.String({ description: 'v1beta1 contract: a terminal problem, for humans.' })),
    deprecated: Type.Optional(DeprecatedStatus),
  },
  { description: 'The observed state of one machine.' },
);

export const KubevirtMachineSchema = Type.Object({
  ...TypeMetaFields,
  metadata: RootObjectMeta,
  spec: withRules(KubevirtMachineSpecSchema, MACHINE_TRANSITIONS),
  status: Type.Optional(KubevirtMachineStatusSchema),
});

export type VirtualMachineTemplateSpec = Static<typeof VirtualMachineTemplateSpecSchema>;
export type VirtualMachineBootstrapCheckSpec = Static<typeof VirtualMachineBootstrapCheckSpecSchema>;
export type MachineAddress = Static<typeof AddressSchema>;
export type KubevirtMachineSpec = Static<typeof KubevirtMachineSpecSchema>;
export type KubevirtMachineStatus = Static<typeof KubevirtMachineStatusSchema>;
export type KubevirtMachine = Static<typeof KubevirtMachineSchema>;
