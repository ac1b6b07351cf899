// The KubeVirt VirtualMachineSpec inside a KubevirtMachine (spec.virtualMachineTemplate.spec). CAPK embeds
// KubeVirt's full generated schema; we keep the spec open (x-kubernetes-preserve-unknown-fields) so any field of
// any KubeVirt release passes through unchanged, type the fields the provider acts on, and check with CEL what
// KubeVirt's own admission would reject later, when the VM is created, where a user would only see a condition.
import { Type } from '@sinclair/typebox';
import type { VirtualMachineSpec } from '../../../lib/apis/kubevirt.js';
import { Quantity, ResourceList, StringMap } from '../../../lib/crd/kube-schemas.js';
import { rules } from '../../../lib/crd/validation-rules.js';
import { EmbeddedObjectMeta } from './kube-shapes.js';

const OPEN = { 'x-kubernetes-preserve-unknown-fields': true } as const;
const P = 'spec.virtualMachineTemplate.spec';

/** A list entry KubeVirt identifies by name (volume, disk, interface, network): the name is required. */
const Named = (what: string, field: string) =>
  Type.Object(
    {
      name: Type.String({
        maxLength: 253,
        ...rules({ rule: 'size(self) > 0', message: `${field}[].name: every ${what} needs a non-empty name` }),
      }),
    },
    OPEN,
  );

const NamedList = (what: string, field: string, maxItems: number, description: string) =>
  Type.Optional(
    Type.Array(Named(what, field), {
      description,
      maxItems,
      ...rules({
        rule: 'self.all(a, self.exists_one(b, b.name == a.name))',
        message: `${field} names must be unique: give each ${what} its own name`,
      }),
    }),
  );

const positive = (field: string) =>
  Type.Optional(Type.Integer({ format: 'int32', ...rules({ rule: 'self >= 1', message: `${field} must be at least 1` }) }));

const CPU = Type.Object(
  {
    cores: positive(`${P}.template.spec.domain.cpu.cores`),
    sockets: positive(`${P}.template.spec.domain.cpu.sockets`),
    threads: positive(`${P}.template.spec.domain.cpu.threads`),
  },
  { ...OPEN, description: 'Guest CPU topology; the template capacity is cores x sockets x threads.' },
);

const Memory = Type.Object({ guest: Type.Optional(Quantity('Memory the guest sees.')) }, OPEN);

const Resources = Type.Object({ requests: Type.Optional(ResourceList()), limits: Type.Optional(ResourceList()) }, OPEN);

const Devices = Type.Object(
  {
    disks: NamedList('disk', `${P}.template.spec.domain.devices.disks`, 256, 'Disks, each backed by the volume of the same name.'),
    interfaces: NamedList('interface', `${P}.template.spec.domain.devices.interfaces`, 256, 'Network interfaces, each bound to the network of the same name.'),
    gpus: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), deviceName: Type.Optional(Type.String()) }, OPEN), {
        description: 'GPUs passed through; counted as nvidia.com/gpu in the template capacity.',
      }),
    ),
  },
  OPEN,
);

const Domain = Type.Object(
  {
    cpu: Type.Optional(CPU),
    memory: Type.Optional(Memory),
    resources: Type.Optional(Resources),
    devices: Devices,
  },
  { ...OPEN, description: 'The virtual hardware (KubeVirt DomainSpec).' },
);

const VMI_SPEC_RULES = [
  {
    rule: '!has(self.domain.devices.disks) || self.domain.devices.disks.all(d, has(self.volumes) && self.volumes.exists(v, v.name == d.name))',
    message: `every disk in ${P}.template.spec.domain.devices.disks needs a volume of the same name in ${P}.template.spec.volumes`,
  },
  {
    rule: '!has(self.domain.devices.interfaces) || self.domain.devices.interfaces.all(i, has(self.networks) && self.networks.exists(n, n.name == i.name))',
    message: `every interface in ${P}.template.spec.domain.devices.interfaces needs a network of the same name in ${P}.template.spec.networks`,
  },
];

const VMISpec = Type.Object(
  {
    domain: Domain,
    volumes: NamedList('volume', `${P}.template.spec.volumes`, 256, 'Volumes (containerDisk, dataVolume, persistentVolumeClaim...).'),
    networks: NamedList('network', `${P}.template.spec.networks`, 256, 'Networks (pod, multus).'),
    evictionStrategy: Type.Optional(
      Type.Union([Type.Literal('None'), Type.Literal('LiveMigrate'), Type.Literal('LiveMigrateIfPossible'), Type.Literal('External')], {
        description: 'What a node drain does to the VM; External lets the provider migrate or replace it (CAPK templates use it).',
      }),
    ),
    nodeSelector: Type.Optional(StringMap()),
    affinity: Type.Optional(Type.Object({}, OPEN)),
    tolerations: Type.Optional(Type.Array(Type.Object({}, OPEN))),
    terminationGracePeriodSeconds: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
    architecture: Type.Optional(Type.String({ description: 'Guest CPU architecture (amd64, arm64, s390x).' })),
  },
  { ...OPEN, description: 'The VirtualMachineInstance spec.', ...rules(...VMI_SPEC_RULES) },
);

const DataVolumeTemplate = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Object(
      {
        name: Type.String({
          maxLength: 253,
          ...rules({
            rule: 'size(self) > 0',
            message: `${P}.dataVolumeTemplates[].metadata.name is required: the DataVolume is created as <machine name>-<this name>`,
          }),
        }),
      },
      { ...OPEN, nullable: true },
    ),
    spec: Type.Object({}, OPEN),
  },
  OPEN,
);

const RunStrategy = Type.Union(
  ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once', 'WaitAsReceiver'].map((s) => Type.Literal(s)),
  { description: 'When the VM runs; CAPK templates use Always.' },
);

// Typed as lib/apis' VirtualMachineSpec, so what the controller copies into a VirtualMachine needs no conversion.
export const VirtualMachineSpecSchema = Type.Unsafe<VirtualMachineSpec>(Type.Object(
  {
    runStrategy: Type.Optional(RunStrategy),
    running: Type.Optional(Type.Boolean({ description: 'Deprecated by KubeVirt in favour of runStrategy.' })),
    // Either may name its object or infer it from a volume (inferFromVolume), so nothing in them is required.
    instancetype: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), kind: Type.Optional(Type.String()) }, OPEN)),
    preference: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), kind: Type.Optional(Type.String()) }, OPEN)),
    dataVolumeTemplates: Type.Optional(
      Type.Array(DataVolumeTemplate, {
        maxItems: 256,
        ...rules({
          rule: 'self.all(a, self.exists_one(b, b.metadata.name == a.metadata.name))',
          message: `${P}.dataVolumeTemplates names must be unique`,
        }),
      }),
    ),
    template: Type.Object(
      {
        metadata: Type.Optional(EmbeddedObjectMeta('Labels and annotations of the VirtualMachineInstance.', `${P}.template.metadata.namespace`)),
        spec: VMISpec,
      },
      { ...OPEN, description: 'The VirtualMachineInstance template.' },
    ),
  },
  {
    ...OPEN,
    description: 'A KubeVirt VirtualMachineSpec; fields the schema does not list are kept as written.',
    ...rules({
      rule: '!(has(self.running) && has(self.runStrategy))',
      message: `${P}.running and ${P}.runStrategy are mutually exclusive: keep runStrategy (running is deprecated)`,
    }),
  },
));
