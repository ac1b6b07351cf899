import { expect } from 'chai';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import { machineAddresses, notReadyReason, terminalState } from './vm-status.js';

const vm = (over: Partial<VirtualMachine> = {}): VirtualMachine => ({
  metadata: { name: 'm1' },
  spec: { runStrategy: 'Always', template: { spec: { domain: { devices: {} } } } },
  status: { printableStatus: 'Starting' },
  ...over,
});
const vmi = (over: Partial<VirtualMachineInstance> = {}): VirtualMachineInstance => ({ metadata: { name: 'm1' }, status: { phase: 'Running' }, ...over });
const dv = (name: string, status: DataVolume['status']): DataVolume => ({ metadata: { name }, status });

describe('providers/infrastructure/controllers: VM status', () => {
  const reasons: { name: string; vm: VirtualMachine; vmi?: VirtualMachineInstance; dvs?: DataVolume[]; want: string; message?: string }[] = [
    {
      name: 'unschedulable VM',
      vm: vm({ status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } }),
      want: 'Unschedulable',
      message: '0/3 nodes are available',
    },
    { name: 'pending DataVolume', vm: vm(), dvs: [dv('m1-boot', { phase: 'Pending' })], want: 'DVPending', message: 'DataVolume m1-boot is not ready; phase Pending' },
    { name: 'failed DataVolume', vm: vm(), dvs: [dv('m1-boot', { phase: 'Succeeded' }), dv('m1-data', { phase: 'Failed' })], want: 'DVFailed' },
    {
      name: 'image pull failure of an import',
      vm: vm(),
      dvs: [dv('m1-boot', { phase: 'ImportInProgress', conditions: [{ type: 'Running', status: 'False', reason: 'ImagePullFailed', message: 'no such image' }] })],
      want: 'DVImagePullFailed',
      message: 'DataVolume m1-boot import is not running: no such image',
    },
    { name: 'import still running', vm: vm(), dvs: [dv('m1-boot', { phase: 'ImportInProgress' })], want: 'DVNotReady' },
    { name: 'otherwise the printable status', vm: vm(), want: 'VMNotReady', message: 'VM is not ready: Starting' },
    {
      name: 'scheduled: DataVolumes no longer explain it',
      vm: vm({ status: { printableStatus: 'Starting', conditions: [{ type: 'PodScheduled', status: 'True' }] } }),
      dvs: [dv('m1-boot', { phase: 'Pending' })],
      want: 'VMNotReady',
    },
  ];
  for (const tc of reasons) {
    it(`explains not-ready: ${tc.name}`, () => {
      const got = notReadyReason(tc.vm, tc.vmi, tc.dvs ?? []);
      expect(got.reason).to.equal(tc.want);
      if (tc.message) expect(got.message).to.equal(tc.message);
    });
  }

  it('lists every interface IP once, dual-stack, after the hostname and DNS name', () => {
    const addresses = machineAddresses('m1', vmi({ status: { interfaces: [{ ipAddress: '10.244.1.5', ipAddresses: ['10.244.1.5', 'fd00::5'] }, { ipAddress: '192.168.0.9/24' }] } }));
    expect(addresses).to.deep.equal([
      { type: 'Hostname', address: 'm1' },
      { type: 'InternalDNS', address: 'm1' },
      { type: 'InternalIP', address: '10.244.1.5' },
      { type: 'ExternalIP', address: '10.244.1.5' },
      { type: 'InternalIP', address: 'fd00::5' },
      { type: 'ExternalIP', address: 'fd00::5' },
      { type: 'InternalIP', address: '192.168.0.9' },
      { type: 'ExternalIP', address: '192.168.0.9' },
    ]);
  });

  const terminal: { name: string; vm: VirtualMachine; vmi?: VirtualMachineInstance; terminal: boolean }[] = [
    { name: 'Always restarts a failed VMI', vm: vm(), vmi: vmi({ status: { phase: 'Failed' } }), terminal: false },
    { name: 'Halted with a finished VMI', vm: vm({ spec: { runStrategy: 'Halted', template: {} } }), vmi: vmi({ status: { phase: 'Succeeded' } }), terminal: true },
    { name: 'Once with a failed VMI', vm: vm({ spec: { runStrategy: 'Once', template: {} } }), vmi: vmi({ status: { phase: 'Failed' } }), terminal: true },
    { name: 'RerunOnFailure after a clean shutdown', vm: vm({ spec: { runStrategy: 'RerunOnFailure', template: {} } }), vmi: vmi({ status: { phase: 'Succeeded' } }), terminal: true },
    { name: 'RerunOnFailure after a failure', vm: vm({ spec: { runStrategy: 'RerunOnFailure', template: {} } }), vmi: vmi({ status: { phase: 'Failed' } }), terminal: false },
    { name: 'the terminal label on the VM', vm: vm({ metadata: { name: 'm1', labels: { 'capk.cluster.x-k8s.io/vm-is-terminal': 'disk lost' } } }), terminal: true },
    { name: 'no VMI yet', vm: vm({ spec: { runStrategy: 'Halted', template: {} } }), terminal: false },
  ];
  for (const tc of terminal) {
    it(`${tc.terminal ? 'reports' : 'does not report'} a terminal state: ${tc.name}`, () => {
      expect(terminalState(tc.vm, tc.vmi) !== undefined).to.equal(tc.terminal);
    });
  }
});
