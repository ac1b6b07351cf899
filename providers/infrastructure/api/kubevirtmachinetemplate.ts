// KubevirtMachineTemplate: the InfraMachineTemplate MachineDeployments and control planes stamp KubevirtMachines
// from. Its spec is immutable (config/infrastructure/admission); its status tells cluster-autoscaler what a
// machine offers so it can scale a MachineDeployment from zero.
import { Type, type Static } from '@sinclair/typebox';
import { KubevirtMachineSpecSchema } from './kubevirtmachine.js';
import { Conditions, ResourceList, RootObjectMeta, TypeMetaFields } from '../../../lib/crd/kube-schemas.js';
import { TemplateObjectMeta } from './kube-shapes.js';

export const KubevirtMachineTemplateResourceSchema = Type.Object(
  {
    metadata: Type.Optional(TemplateObjectMeta),
    spec: KubevirtMachineSpecSchema,
  },
  { description: 'The KubevirtMachine to create.' },
);

export const KubevirtMachineTemplateSpecSchema = Type.Object({ template: KubevirtMachineTemplateResourceSchema });

export const NodeInfoSchema = Type.Object(
  {
    architecture: Type.Optional(
      Type.Union([Type.Literal('amd64'), Type.Literal('arm64'), Type.Literal('s390x'), Type.Literal('ppc64le')], {
        description: 'CPU architecture of the machines.',
      }),
    ),
    operatingSystem: Type.Optional(Type.String({ description: 'Operating system of the machines (linux).' })),
  },
  { description: 'What cluster-autoscaler assumes about a Node it has not seen yet.' },
);

export const KubevirtMachineTemplateStatusSchema = Type.Object(
  {
    capacity: Type.Optional(
      ResourceList('Resources of one machine (cpu, memory, nvidia.com/gpu), for cluster-autoscaler scaling from zero.'),
    ),
    nodeInfo: Type.Optional(NodeInfoSchema),
    conditions: Type.Optional(Conditions('The observed state of the template.')),
  },
  { description: 'What one machine made from this template offers.' },
);

export const KubevirtMachineTemplateSchema = Type.Object({
  ...TypeMetaFields,
  metadata: RootObjectMeta,
  spec: KubevirtMachineTemplateSpecSchema,
  status: Type.Optional(KubevirtMachineTemplateStatusSchema),
});

export type KubevirtMachineTemplateResource = Static<typeof KubevirtMachineTemplateResourceSchema>;
export type KubevirtMachineTemplateSpec = Static<typeof KubevirtMachineTemplateSpecSchema>;
export type NodeInfo = Static<typeof NodeInfoSchema>;
export type KubevirtMachineTemplateStatus = Static<typeof KubevirtMachineTemplateStatusSchema>;
export type KubevirtMachineTemplate = Static<typeof KubevirtMachineTemplateSchema>;
