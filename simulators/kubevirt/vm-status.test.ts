import { expect } from 'chai';
import type { DataVolume } from '../../lib/apis/cdi.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { runStrategyOf, updateVMStatus, type DataVolumeSummary } from './vm-status.js';

const vm = (extra: Partial<VirtualMachine['metadata']> = {}): VirtualMachine => ({ metadata: { name: 'vm', ...extra }, spec: { runStrategy: 'Always', template: {} } });
const vmi = (phase: string, extra: Partial<NonNullable<VirtualMachineInstance['status']>> = {}, deleting = false): VirtualMachineInstance => ({
  metadata: { name: 'vm', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { phase: phase as never, ...extra },
});
const noDisks: DataVolumeSummary = { ready: true, failed: [], dataVolumes: [] };
const failedDV: DataVolume = { metadata: { name: 'root' }, status: { phase: 'Failed', conditions: [{ type: 'Running', status: 'False', reason: 'Error', message: 'no such host' }] } };
const pendingDV: DataVolume = { metadata: { name: 'root' }, status: { phase: 'ImportInProgress' } };

describe('VirtualMachine status', () => {
  it('reads runStrategy, or the older spec.running', () => {
    expect(runStrategyOf({ metadata: {}, spec: { running: true, template: {} } })).to.equal('Always');
    expect(runStrategyOf({ metadata: {}, spec: { running: false, template: {} } })).to.equal('Halted');
    expect(runStrategyOf({ metadata: {}, spec: { runStrategy: 'Manual', template: {} } })).to.equal('Manual');
  });

  const unschedulable = { conditions: [{ type: 'PodScheduled', status: 'False' as const, reason: 'Unschedulable' }] };
  const cases: { name: string; vm?: VirtualMachine; vmi?: VirtualMachineInstance; dvs?: DataVolumeSummary; shouldRun?: boolean; want: string }[] = [
    { name: 'Terminating while the VM is deleted', vm: vm({ deletionTimestamp: '2026-01-01T00:00:00Z' }), vmi: vmi('Running'), want: 'Terminating' },
    { name: 'Stopping while the VMI is deleted', vmi: vmi('Running', {}, true), want: 'Stopping' },
    { name: 'Stopping when the VM should not run', vmi: vmi('Running'), shouldRun: false, want: 'Stopping' },
    { name: 'Migrating during a migration', vmi: vmi('Running', { migrationState: { migrationUid: 'm' } }), want: 'Migrating' },
    { name: 'Running', vmi: vmi('Running', { migrationState: { migrationUid: 'm', completed: true } }), want: 'Running' },
    { name: 'DataVolumeError when an import failed', dvs: { ready: false, failed: [failedDV], dataVolumes: [failedDV] }, want: 'DataVolumeError' },
    { name: 'ErrorUnschedulable when the pod cannot be placed', vmi: vmi('Scheduling', unschedulable), want: 'ErrorUnschedulable' },
    { name: 'Provisioning while disks are imported', dvs: { ready: false, failed: [], dataVolumes: [pendingDV] }, want: 'Provisioning' },
    { name: 'ErrImagePull when the launcher image cannot be pulled', vmi: vmi('Scheduling', { conditions: [{ type: 'Synchronized', status: 'False', reason: 'ErrImagePull' }] }), want: 'ErrImagePull' },
    { name: 'Starting while the VMI is on its way', vmi: vmi('Scheduled'), want: 'Starting' },
    { name: 'Stopped without a VMI', want: 'Stopped' },
    { name: 'CrashLoopBackOff while a failed start is backed off', vm: { ...vm(), status: { startFailure: { consecutiveFailCount: 1 } } }, want: 'CrashLoopBackOff' },
    { name: 'Stopped with a finished VMI', vmi: vmi('Succeeded'), want: 'Stopped' },
  ];
  for (const tc of cases) {
    it(`printableStatus ${tc.name}`, () => {
      const subject = tc.vm ?? vm();
      updateVMStatus(subject, tc.vmi, tc.dvs ?? noDisks, tc.shouldRun ?? true);
      expect(subject.status?.printableStatus).to.equal(tc.want);
    });
  }

  it('carries the VMI conditions over, and says why there is no VMI', () => {
    const subject = vm();
    updateVMStatus(subject, vmi('Running', { conditions: [{ type: 'Ready', status: 'True' }, { type: 'LiveMigratable', status: 'False', reason: 'DisksNotLiveMigratable' }] }), noDisks, true);
    expect(subject.status).to.deep.include({ created: true, ready: true, runStrategy: 'Always' });
    expect(subject.status?.conditions?.map((c) => [c.type, c.status, c.reason])).to.deep.equal([
      ['Ready', 'True', undefined],
      ['LiveMigratable', 'False', 'DisksNotLiveMigratable'],
    ]);
    updateVMStatus(subject, undefined, { ready: false, failed: [failedDV], dataVolumes: [failedDV] }, true);
    expect(subject.status?.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'VMINotExists' });
    expect(subject.status?.conditions?.find((c) => c.type === 'DataVolumesReady')).to.include({ status: 'False', reason: 'NotAllDVsReady', message: 'DataVolume root failed: no such host' });
    expect(subject.status?.conditions?.some((c) => c.type === 'LiveMigratable')).to.equal(false);
  });

  it('changes nothing when recomputed from the same inputs, so steady state writes nothing', () => {
    const subject = vm();
    const instance = vmi('Running', { conditions: [{ type: 'Ready', status: 'True' }] });
    updateVMStatus(subject, instance, noDisks, true);
    const first = structuredClone(subject.status);
    updateVMStatus(subject, instance, noDisks, true);
    expect(subject.status).to.deep.equal(first);
  });
});
