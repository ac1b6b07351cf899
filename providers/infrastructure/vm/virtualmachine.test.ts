import { expect } from 'chai';
import type { VirtualMachine, VirtualMachineSpec } from '../../../lib/apis/kubevirt.js';
import { cloudInitRequest, CLOUD_INIT_VOLUME, type CloudInitDelivery } from './cloud-init.js';
import { buildVirtualMachine, providerIDFor, type VirtualMachineInput } from './virtualmachine.js';

function templateSpec(extra: Partial<VirtualMachineSpec> = {}): VirtualMachineSpec {
  return {
    runStrategy: 'Always',
    template: {
      metadata: { labels: { app: 'tenant' } },
      spec: {
        domain: { devices: { disks: [{ name: 'containervolume', disk: { bus: 'virtio' } }] } },
        volumes: [{ name: 'containervolume', containerDisk: { image: 'quay.io/capk/ubuntu-2204-container-disk:v1.30.1' } }],
      },
    },
    ...extra,
  };
}

const configDrive: CloudInitDelivery = { source: 'configDrive', secretName: 'md-0-abc-userdata' };

function input(over: Partial<VirtualMachineInput> = {}): VirtualMachineInput {
  return {
    machine: { name: 'acme-md-0-x7k2p', namespace: 'tenants' },
    namespace: 'tenants',
    clusterName: 'acme',
    controlPlane: false,
    template: { metadata: { labels: { team: 'a' }, annotations: { note: 'kept' } }, spec: templateSpec() },
    cloudInit: configDrive,
    ...over,
  };
}

const cases: { name: string; input: VirtualMachineInput; check: (vm: VirtualMachine) => void }[] = [
  {
    name: 'names the VM after the machine, in the infra namespace, so a retry finds the VM it made',
    input: input({ namespace: 'infra-ns' }),
    check: (vm) => {
      expect(vm.apiVersion).to.equal('kubevirt.io/v1');
      expect(vm.kind).to.equal('VirtualMachine');
      expect(vm.metadata.name).to.equal('acme-md-0-x7k2p');
      expect(vm.metadata.namespace).to.equal('infra-ns');
    },
  },
  {
    name: 'labels VM and VMI template with role, cluster name and the machine back-reference, keeping template labels',
    input: input(),
    check: (vm) => {
      const expected = {
        'kubevirt.io/vm': 'acme-md-0-x7k2p',
        name: 'acme-md-0-x7k2p',
        'cluster.x-k8s.io/role': 'worker',
        'cluster.x-k8s.io/cluster-name': 'acme',
        'capk.cluster.x-k8s.io/kubevirt-machine-name': 'acme-md-0-x7k2p',
        'capk.cluster.x-k8s.io/kubevirt-machine-namespace': 'tenants',
      };
      expect(vm.metadata.labels).to.deep.equal({ team: 'a', ...expected });
      expect(vm.metadata.annotations).to.deep.equal({ note: 'kept' });
      expect(vm.spec?.template.metadata?.labels).to.deep.equal({ app: 'tenant', ...expected });
    },
  },
  {
    name: 'gives control-plane machines the control-plane role',
    input: input({ controlPlane: true }),
    check: (vm) => {
      expect(vm.metadata.labels?.['cluster.x-k8s.io/role']).to.equal('control-plane');
      expect(vm.spec?.template.metadata?.labels?.['cluster.x-k8s.io/role']).to.equal('control-plane');
    },
  },
  {
    name: 'prefixes DataVolume templates with the machine name and repoints the volumes that use them',
    input: input({
      template: {
        spec: templateSpec({
          dataVolumeTemplates: [{ metadata: { name: 'boot' }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '5Gi' } } } } }],
          template: {
            spec: {
              domain: { devices: {} },
              volumes: [
                { name: 'boot', dataVolume: { name: 'boot' } },
                { name: 'data', persistentVolumeClaim: { claimName: 'boot' } },
                { name: 'other', persistentVolumeClaim: { claimName: 'shared' } },
              ],
            },
          },
        }),
      },
    }),
    check: (vm) => {
      expect(vm.spec?.dataVolumeTemplates?.map((d) => d.metadata.name)).to.deep.equal(['acme-md-0-x7k2p-boot']);
      const vols = vm.spec?.template.spec?.volumes ?? [];
      expect(vols.find((v) => v.name === 'boot')?.dataVolume?.name).to.equal('acme-md-0-x7k2p-boot');
      expect(vols.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).to.equal('acme-md-0-x7k2p-boot');
      expect(vols.find((v) => v.name === 'other')?.persistentVolumeClaim?.claimName).to.equal('shared');
    },
  },
  {
    name: 'requires the failure domain zone in every node selector term, keeping the user terms',
    input: input({
      failureDomain: 'zone-b',
      template: {
        spec: templateSpec({
          template: {
            spec: {
              domain: { devices: {} },
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      { matchExpressions: [{ key: 'kubevirt.io/schedulable', operator: 'In', values: ['true'] }] },
                      { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a'] }] },
                    ],
                  },
                },
              },
            },
          },
        }),
      },
    }),
    check: (vm) => {
      const terms = vm.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
      const zone = { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-b'] };
      expect(terms).to.deep.equal([
        { matchExpressions: [{ key: 'kubevirt.io/schedulable', operator: 'In', values: ['true'] }, zone] },
        { matchExpressions: [zone] },
      ]);
    },
  },
  {
    name: 'adds no affinity without a failure domain',
    input: input(),
    check: (vm) => {
      expect(vm.spec?.template.spec?.affinity).to.equal(undefined);
    },
  },
  {
    name: 'delivers the userdata Secret as a ConfigDrive disk by default',
    input: input(),
    check: (vm) => {
      const vols = vm.spec?.template.spec?.volumes ?? [];
      expect(vols.find((v) => v.name === CLOUD_INIT_VOLUME)).to.deep.equal({
        name: CLOUD_INIT_VOLUME,
        cloudInitConfigDrive: { secretRef: { name: 'md-0-abc-userdata' } },
      });
      expect(vm.spec?.template.spec?.domain.devices.disks?.map((d) => d.name)).to.deep.equal(['containervolume', CLOUD_INIT_VOLUME]);
    },
  },
  {
    name: 'delivers NoCloud with network data in place of the template cloud-init volume when asked',
    input: input({
      cloudInit: { source: 'noCloud', secretName: 'md-0-abc-userdata', networkDataSecretName: 'md-0-abc-userdata' },
      template: {
        spec: templateSpec({
          template: {
            spec: {
              domain: { devices: { disks: [{ name: 'seed', disk: { bus: 'virtio' } }] } },
              volumes: [{ name: 'seed', cloudInitNoCloud: { networkData: 'version: 2' } }],
            },
          },
        }),
      },
    }),
    check: (vm) => {
      const spec = vm.spec?.template.spec;
      expect(spec?.volumes).to.deep.equal([
        { name: CLOUD_INIT_VOLUME, cloudInitNoCloud: { secretRef: { name: 'md-0-abc-userdata' }, networkDataSecretRef: { name: 'md-0-abc-userdata' } } },
      ]);
      expect(spec?.domain.devices.disks?.map((d) => d.name)).to.deep.equal([CLOUD_INIT_VOLUME]);
    },
  },
  {
    name: 'runs the VM when the template states no run strategy',
    input: input({ template: { spec: { template: { spec: { domain: { devices: {} } } } } } }),
    check: (vm) => {
      expect(vm.spec?.runStrategy).to.equal('Always');
      expect(vm.spec?.running).to.equal(undefined);
    },
  },
  {
    name: 'keeps the template run state when it sets one',
    input: input({ template: { spec: { running: true, template: { spec: { domain: { devices: {} } } } } } }),
    check: (vm) => {
      expect(vm.spec?.running).to.equal(true);
      expect(vm.spec?.runStrategy).to.equal(undefined);
    },
  },
];

describe('providers/infrastructure/vm: buildVirtualMachine', () => {
  for (const tc of cases) it(tc.name, () => { tc.check(buildVirtualMachine(tc.input)); });

  it('leaves the template untouched', () => {
    const i = input({ failureDomain: 'zone-a' });
    const before = structuredClone(i.template);
    buildVirtualMachine(i);
    expect(i.template).to.deep.equal(before);
  });

  it('builds the same VM every time, so a steady state sends nothing', () => {
    expect(buildVirtualMachine(input({ failureDomain: 'z' }))).to.deep.equal(buildVirtualMachine(input({ failureDomain: 'z' })));
  });

  it('names the provider ID after the VM', () => {
    expect(providerIDFor('acme-md-0-x7k2p')).to.equal('kubevirt://acme-md-0-x7k2p');
  });
});

describe('providers/infrastructure/vm: cloudInitRequest', () => {
  const table: { name: string; volumes: VirtualMachineSpec['template']['spec']; want: ReturnType<typeof cloudInitRequest> }[] = [
    { name: 'ConfigDrive without a NoCloud volume', volumes: { domain: { devices: {} } }, want: { source: 'configDrive' } },
    {
      name: 'NoCloud with inline network data',
      volumes: { domain: { devices: {} }, volumes: [{ name: 'c', cloudInitNoCloud: { networkData: 'version: 2\n' } }] },
      want: { source: 'noCloud', networkData: 'version: 2\n' },
    },
    {
      name: 'NoCloud with base64 network data',
      volumes: { domain: { devices: {} }, volumes: [{ name: 'c', cloudInitNoCloud: { networkDataBase64: Buffer.from('version: 2').toString('base64') } }] },
      want: { source: 'noCloud', networkData: 'version: 2' },
    },
    {
      name: 'NoCloud with a network data Secret',
      volumes: { domain: { devices: {} }, volumes: [{ name: 'c', cloudInitNoCloud: { networkDataSecretRef: { name: 'net' } } }] },
      want: { source: 'noCloud', networkDataSecretName: 'net' },
    },
    { name: 'NoCloud without network data', volumes: { domain: { devices: {} }, volumes: [{ name: 'c', cloudInitNoCloud: {} }] }, want: { source: 'noCloud' } },
  ];
  for (const tc of table) it(tc.name, () => { expect(cloudInitRequest(tc.volumes)).to.deep.equal(tc.want); });
});
