import { expect } from 'chai';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { applyVolumeRequestsToTemplate, hasStopRequestForVMI, trimDoneVolumeRequests, trimStateChangeRequests } from './vm-requests.js';

const vm = (status: VirtualMachine['status']): VirtualMachine => ({ metadata: { name: 'vm1' }, spec: { runStrategy: 'Always', template: { spec: { domain: { devices: {} } } } }, status });
const vmi = (uid: string, phase: NonNullable<VirtualMachineInstance['status']>['phase'] = 'Running'): VirtualMachineInstance => ({ metadata: { name: 'vm1', uid }, status: { phase } });

describe('VM state change and volume requests', () => {
  it('matches a Stop to the VMI it names (or any VMI when it names none)', () => {
    expect(hasStopRequestForVMI(vm({ stateChangeRequests: [{ action: 'Stop', uid: 'a' }] }), vmi('a'))).to.equal(true);
    expect(hasStopRequestForVMI(vm({ stateChangeRequests: [{ action: 'Stop', uid: 'a' }] }), vmi('b'))).to.equal(false);
    expect(hasStopRequestForVMI(vm({ stateChangeRequests: [{ action: 'Stop' }] }), vmi('b'))).to.equal(true);
  });

  const cases: { name: string; requests: NonNullable<VirtualMachine['status']>['stateChangeRequests']; vmi: VirtualMachineInstance | undefined; left: number }[] = [
    { name: 'keeps a Stop while its VMI runs', requests: [{ action: 'Stop', uid: 'a' }, { action: 'Start' }], vmi: vmi('a'), left: 2 },
    { name: 'drops a Stop once its VMI is gone', requests: [{ action: 'Stop', uid: 'a' }, { action: 'Start' }], vmi: undefined, left: 1 },
    { name: 'drops a Stop once another VMI runs', requests: [{ action: 'Stop', uid: 'a' }, { action: 'Start' }], vmi: vmi('b'), left: 1 },
    { name: 'keeps a Start while there is no VMI', requests: [{ action: 'Start' }], vmi: undefined, left: 1 },
    { name: 'keeps a Start while the VMI is finished', requests: [{ action: 'Start' }], vmi: vmi('a', 'Failed'), left: 1 },
    { name: 'drops a Start once a VMI runs', requests: [{ action: 'Start' }], vmi: vmi('b'), left: 0 },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const v = vm({ stateChangeRequests: [...(tc.requests ?? [])] });
      trimStateChangeRequests(v, tc.vmi);
      expect(v.status?.stateChangeRequests).to.have.length(tc.left);
    });
  }

  it('applies volume requests to the template and drops them once the template shows them', () => {
    const v = vm({ volumeRequests: [{ addVolumeOptions: { name: 'x', disk: { name: 'x' }, volumeSource: { persistentVolumeClaim: { claimName: 'x', hotpluggable: true } } } }] });
    trimDoneVolumeRequests(v);
    expect(v.status?.volumeRequests).to.have.length(1);
    applyVolumeRequestsToTemplate(v);
    expect(v.spec?.template.spec?.volumes?.map((x) => x.name)).to.deep.equal(['x']);
    trimDoneVolumeRequests(v);
    expect(v.status?.volumeRequests).to.equal(undefined);

    v.status = { volumeRequests: [{ removeVolumeOptions: { name: 'x' } }] };
    applyVolumeRequestsToTemplate(v);
    trimDoneVolumeRequests(v);
    expect(v.spec?.template.spec?.volumes).to.deep.equal([]);
    expect(v.status.volumeRequests).to.equal(undefined);
  });
});
