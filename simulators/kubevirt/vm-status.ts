// A VirtualMachine's status as virt-controller reports it: created/ready, the VMI's conditions carried over, and
// the printableStatus users see in `kubectl get vm`, chosen by upstream's precedence (first match wins).
import type { DataVolume } from '../../lib/apis/cdi.js';
import type { RunStrategy, VirtualMachine, VirtualMachineInstance, VirtualMachinePrintableStatus } from '../../lib/apis/kubevirt.js';
import { conditionIs, dropCondition, findCondition, putCondition } from './conditions.js';
import { DATA_VOLUMES_READY, LIVE_MIGRATABLE, POD_SCHEDULED, READY, SYNCHRONIZED } from './vmi-status.js';

/** spec.runStrategy, or the older spec.running it replaces. */
export function runStrategyOf(vm: VirtualMachine): RunStrategy {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  return vm.spec?.running === true ? 'Always' : 'Halted';
}

const final = (vmi: VirtualMachineInstance): boolean => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

/** Conditions that travel from the VMI to its VM. */
const CARRIED = [READY, POD_SCHEDULED, LIVE_MIGRATABLE, DATA_VOLUMES_READY, 'Paused'];

export interface DataVolumeSummary {
  /** Every templated DataVolume exists and is populated. */
  ready: boolean;
  failed: DataVolume[];
  dataVolumes: DataVolume[];
}

export function dataVolumeFailed(dv: DataVolume): boolean {
  const running = dv.status?.conditions?.find((c) => c.type === 'Running');
  return dv.status?.phase === 'Failed' || (running?.status === 'False' && running.reason === 'Error');
}

function syncConditions(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, dvs: DataVolumeSummary): void {
  for (const type of CARRIED) {
    const c = vmi ? findCondition(vmi, type) : undefined;
    if (c) putCondition(vm, { type, status: c.status, reason: c.reason, message: c.message });
    else dropCondition(vm, type);
  }
  if (!vmi) putCondition(vm, { type: READY, status: 'False', reason: 'VMINotExists', message: 'VMI does not exist' });
  if (!vmi && dvs.dataVolumes.length > 0) {
    // Before its VMI exists, a VM waiting on its disks says so itself (the VMI would carry this otherwise).
    putCondition(
      vm,
      dvs.ready
        ? { type: DATA_VOLUMES_READY, status: 'True', reason: 'AllDVsReady', message: "All of the VMI's DVs are bound and not running" }
        : { type: DATA_VOLUMES_READY, status: 'False', reason: 'NotAllDVsReady', message: notReadyMessage(dvs) },
    );
  }
}

function notReadyMessage(dvs: DataVolumeSummary): string {
  const pending = dvs.dataVolumes.filter((d) => d.status?.phase !== 'Succeeded');
  const failed = dvs.failed.map((d) => `DataVolume ${d.metadata.name ?? ''} failed: ${d.status?.conditions?.find((c) => c.type === 'Running')?.message ?? 'import failed'}`);
  return [...failed, ...pending.filter((d) => !dvs.failed.includes(d)).map((d) => `DataVolume ${d.metadata.name ?? ''} is ${d.status?.phase ?? 'Pending'}`)].join('; ') || "Not all of the VMI's DVs are ready";
}

function printableStatus(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, dvs: DataVolumeSummary, shouldRun: boolean): VirtualMachinePrintableStatus {
  if (vm.metadata.deletionTimestamp) return 'Terminating';
  if (vmi && !final(vmi) && (vmi.metadata.deletionTimestamp || !shouldRun)) return 'Stopping';
  const migration = vmi?.status?.migrationState;
  if (migration && !migration.completed && !migration.failed) return 'Migrating';
  if (vmi?.status?.phase === 'Running') return 'Running';
  if (dvs.failed.length > 0) return 'DataVolumeError';
  if (vmi && conditionIs(vmi, POD_SCHEDULED, 'False') && findCondition(vmi, POD_SCHEDULED)?.reason === 'Unschedulable') return 'ErrorUnschedulable';
  if (!dvs.ready && shouldRun) return 'Provisioning';
  const synchronized = vmi ? findCondition(vmi, SYNCHRONIZED) : undefined;
  if (synchronized?.status === 'False' && (synchronized.reason === 'ErrImagePull' || synchronized.reason === 'ImagePullBackOff')) return synchronized.reason;
  if (vmi && !final(vmi)) return 'Starting';
  if (shouldRun && (vm.status?.startFailure?.consecutiveFailCount ?? 0) > 0) return 'CrashLoopBackOff';
  return 'Stopped';
}

export function updateVMStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  dvs: DataVolumeSummary,
  shouldRun: boolean,
): void {
  const status = (vm.status ??= {});
  status.created = vmi !== undefined;
  status.ready = vmi !== undefined && conditionIs(vmi, READY, 'True');
  // Recorded once the VM has been started at least once, as upstream does.
  if (status.runStrategy !== undefined || status.created) status.runStrategy = runStrategyOf(vm);
  syncConditions(vm, vmi, dvs);
  status.printableStatus = printableStatus(vm, vmi, dvs, shouldRun);
}
