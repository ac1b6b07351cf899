// virt-controller's crash-loop backoff: a VMI that fails before it ever ran counts as a start failure of its VM,
// and an Always/RerunOnFailure VM waits longer after each one before starting the next VMI (printableStatus
// CrashLoopBackOff), so a guest that cannot boot does not churn pods. A VMI that reached Running resets it.
import type { RunStrategy, VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { metaTime } from '../../lib/kube/meta-time.js';

const MAX_DELAY_SECONDS = 300;
const MIN_INTERVAL_SECONDS = 10;

/** Seconds to wait after the n-th consecutive start failure: quadratic growth, capped at five minutes. */
export function startBackoffSeconds(failures: number): number {
  const interval = Math.max(MIN_INTERVAL_SECONDS, MAX_DELAY_SECONDS / 30);
  return Math.min(MAX_DELAY_SECONDS, interval * Math.max(1, failures) ** 2);
}

const everRan = (vmi: VirtualMachineInstance): boolean => vmi.status?.phaseTransitionTimestamps?.some((p) => p.phase === 'Running') === true;

/** Records a VMI that failed early, or clears the count once a VMI ran or nothing would restart it. */
export function syncStartFailure(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, strategy: RunStrategy, now: Date = new Date()): void {
  const status = (vm.status ??= {});
  const restarts = strategy === 'Always' || strategy === 'RerunOnFailure' || strategy === 'Once';
  if ((vmi && everRan(vmi)) || !restarts) {
    delete status.startFailure;
    return;
  }
  if (vmi?.status?.phase !== 'Failed' || status.startFailure?.lastFailedVMIUID === vmi.metadata.uid) return;
  const count = (status.startFailure?.consecutiveFailCount ?? 0) + 1;
  status.startFailure = {
    consecutiveFailCount: count,
    lastFailedVMIUID: vmi.metadata.uid ?? '',
    retryAfterTimestamp: metaTime(now.getTime() + startBackoffSeconds(count) * 1000),
  };
}

/** How long the VM must still wait before starting a VMI, in ms (0: go ahead). */
export function startBackoffLeftMs(vm: VirtualMachine, now: Date = new Date()): number {
  const retryAfter = vm.status?.startFailure?.retryAfterTimestamp;
  return retryAfter ? Math.max(0, Date.parse(retryAfter) - now.getTime()) : 0;
}
