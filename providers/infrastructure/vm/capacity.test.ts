import { expect } from 'chai';
import type { DomainSpec, VirtualMachineSpec } from '../../../lib/apis/kubevirt.js';
import { templateCapacity, templateNodeInfo } from './capacity.js';

const spec = (domain: DomainSpec, architecture?: string): VirtualMachineSpec => ({
  template: { spec: { domain, ...(architecture ? { architecture } : {}) } },
});

describe('providers/infrastructure/vm: template capacity', () => {
  const cases: { name: string; domain: DomainSpec; want: Record<string, string | number> }[] = [
    { name: 'cpu from cores x sockets x threads', domain: { cpu: { cores: 2, sockets: 2, threads: 2 }, devices: {} }, want: { cpu: '8' } },
    { name: 'unset topology counts default to one', domain: { cpu: { cores: 4 }, devices: {} }, want: { cpu: '4' } },
    { name: 'cpu from requests without a topology', domain: { resources: { requests: { cpu: '1500m' } }, devices: {} }, want: { cpu: '1500m' } },
    { name: 'cpu from limits as a last resort', domain: { resources: { limits: { cpu: 3 } }, devices: {} }, want: { cpu: 3 } },
    {
      name: 'memory from the guest before requests',
      domain: { memory: { guest: '4Gi' }, resources: { requests: { memory: '4200Mi' } }, devices: {} },
      want: { memory: '4Gi' },
    },
    { name: 'memory from requests', domain: { resources: { requests: { memory: '2Gi' } }, devices: {} }, want: { memory: '2Gi' } },
    {
      name: 'nvidia.com/gpu from GPU and host devices of NVIDIA',
      domain: {
        devices: {
          gpus: [{ name: 'g1', deviceName: 'nvidia.com/TU104GL_Tesla_T4' }, { name: 'g2', deviceName: 'nvidia.com/TU104GL_Tesla_T4' }],
          hostDevices: [{ name: 'h1', deviceName: 'nvidia.com/GA100_A100' }, { name: 'nic', deviceName: 'intel.com/sriov' }],
        },
      },
      want: { 'nvidia.com/gpu': '3' },
    },
    { name: 'nothing stated, nothing guessed', domain: { devices: {} }, want: {} },
  ];
  for (const tc of cases) it(tc.name, () => { expect(templateCapacity(spec(tc.domain))).to.deep.equal(tc.want); });

  it('reports the template architecture and linux', () => {
    expect(templateNodeInfo(spec({ devices: {} }, 'arm64'))).to.deep.equal({ architecture: 'arm64', operatingSystem: 'linux' });
    expect(templateNodeInfo(spec({ devices: {} }))).to.deep.equal({ architecture: 'amd64', operatingSystem: 'linux' });
  });
});
