// The infrastructure provider's CRDs (infrastructure.cluster.x-k8s.io), as `make generate` renders them.
import { ageColumn, type CRDSpec, type PrinterColumn } from '../../../lib/crd/crd.js';
import { CONTRACT_LABELS, GROUP, VERSION } from './group.js';
import { KubevirtClusterSchema } from './kubevirtcluster.js';
import { KubevirtClusterTemplateSchema } from './kubevirtclustertemplate.js';
import { KubevirtMachineSchema } from './kubevirtmachine.js';
import { KubevirtMachineTemplateSchema } from './kubevirtmachinetemplate.js';

const common = { group: GROUP, scope: 'Namespaced', categories: ['cluster-api'], labels: { ...CONTRACT_LABELS } } as const;

const CLUSTER_COLUMN: PrinterColumn = {
  name: 'Cluster',
  type: 'string',
  jsonPath: ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
  description: 'The Cluster this object belongs to',
};
const AGE = ageColumn();

export const kubevirtClusterCRD: CRDSpec = {
  ...common,
  kind: 'KubevirtCluster',
  plural: 'kubevirtclusters',
  shortNames: ['kvcluster'],
  categories: [...common.categories],
  versions: [
    {
      name: VERSION,
      schema: KubevirtClusterSchema,
      subresources: { status: true },
      printerColumns: [
        CLUSTER_COLUMN,
        { name: 'Provisioned', type: 'boolean', jsonPath: '.status.initialization.provisioned', description: 'The infrastructure is provisioned' },
        { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'The infrastructure is ready' },
        { name: 'Endpoint', type: 'string', jsonPath: '.spec.controlPlaneEndpoint.host', description: 'Host of the tenant API server' },
        { name: 'Port', type: 'integer', jsonPath: '.spec.controlPlaneEndpoint.port', description: 'Port of the tenant API server', priority: 1 },
        { name: 'Service', type: 'string', jsonPath: '.spec.controlPlaneServiceTemplate.spec.type', description: 'Type of the control-plane Service', priority: 1 },
        AGE,
      ],
    },
  ],
};

export const kubevirtMachineCRD: CRDSpec = {
  ...common,
  kind: 'KubevirtMachine',
  plural: 'kubevirtmachines',
  shortNames: ['kvmachine'],
  categories: [...common.categories],
  versions: [
    {
      name: VERSION,
      schema: KubevirtMachineSchema,
      subresources: { status: true },
      printerColumns: [
        CLUSTER_COLUMN,
        {
          name: 'Machine',
          type: 'string',
          jsonPath: '.metadata.ownerReferences[?(@.kind=="Machine")].name',
          description: 'The Machine this KubevirtMachine belongs to',
        },
        { name: 'ProviderID', type: 'string', jsonPath: '.spec.providerID', description: 'kubevirt://<VirtualMachine name>' },
        { name: 'Provisioned', type: 'boolean', jsonPath: '.status.initialization.provisioned', description: 'The VM is provisioned' },
        { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', description: 'Is machine ready' },
        { name: 'Zone', type: 'string', jsonPath: '.status.failureDomain', description: 'Failure domain the VM runs in', priority: 1 },
        { name: 'NodeUpdated', type: 'boolean', jsonPath: '.status.nodeupdated', description: 'The tenant Node carries the providerID', priority: 1 },
        AGE,
      ],
    },
  ],
};

export const kubevirtMachineTemplateCRD: CRDSpec = {
  ...common,
  kind: 'KubevirtMachineTemplate',
  plural: 'kubevirtmachinetemplates',
  shortNames: ['kvmt'],
  categories: [...common.categories],
  versions: [
    {
      name: VERSION,
      schema: KubevirtMachineTemplateSchema,
      subresources: { status: true },
      printerColumns: [
        { name: 'CPU', type: 'string', jsonPath: '.status.capacity.cpu', description: 'CPUs of one machine' },
        { name: 'Memory', type: 'string', jsonPath: '.status.capacity.memory', description: 'Memory of one machine' },
        { name: 'Arch', type: 'string', jsonPath: '.status.nodeInfo.architecture', description: 'CPU architecture', priority: 1 },
        AGE,
      ],
    },
  ],
};

export const kubevirtClusterTemplateCRD: CRDSpec = {
  ...common,
  kind: 'KubevirtClusterTemplate',
  plural: 'kubevirtclustertemplates',
  shortNames: ['kct'],
  categories: [...common.categories],
  versions: [{ name: VERSION, schema: KubevirtClusterTemplateSchema, printerColumns: [AGE] }],
};

export const infrastructureCRDs: readonly CRDSpec[] = [
  kubevirtClusterCRD,
  kubevirtMachineCRD,
  kubevirtMachineTemplateCRD,
  kubevirtClusterTemplateCRD,
];
