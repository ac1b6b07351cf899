// What a KubevirtMachine reports from its VM, VMI and DataVolumes: readiness with the reason it is not ready,
// whether it can live-migrate, the addresses of every interface (dual-stack), and whether the VM reached a state it
// will not leave by itself.
import type { DataVolume } from '../../../lib/apis/cdi.js';
import type { MachineAddress } from '../../../lib/apis/cluster-api.js';
import {
  VMI_LIVE_MIGRATABLE_CONDITION,
  VMI_POD_SCHEDULED_CONDITION,
  VMI_READY_CONDITION,
  type KubevirtCondition,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../../../lib/apis/kubevirt.js';
import type { ConditionStatus } from '../../../lib/controller/conditions.js';
import { VM_TERMINAL_LABEL } from '../api/labels.js';
import { Reasons } from './conditions.js';

function condition(conditions: readonly KubevirtCondition[] | undefined, type: string): KubevirtCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isVMIReady(vmi: VirtualMachineInstance | undefined): boolean {
  return condition(vmi?.status?.conditions, VMI_READY_CONDITION)?.status === 'True';
}

export function isLiveMigratable(vmi: VirtualMachineInstance): boolean {
  return condition(vmi.status?.conditions, VMI_LIVE_MIGRATABLE_CONDITION)?.status === 'True';
}

/**
 * VMLiveMigratable as CAPK reports it from the VMI's LiveMigratable condition: True with its own reason, False with
 * the VMI's (KubeVirt's DisksNotLiveMigratable, InterfaceNotLiveMigratable, ...); undefined until the VMI says.
 */
export function liveMigratable(vmi: VirtualMachineInstance | undefined): { status: ConditionStatus; reason: string; message: string } | undefined {
  const c = condition(vmi?.status?.conditions, VMI_LIVE_MIGRATABLE_CONDITION);
  if (!vmi || !c) return undefined;
  if (c.status === 'True') return { status: 'True', reason: Reasons.vmLiveMigratable, message: '' };
  const name = vmi.metadata.name ?? '';
  return { status: 'False', reason: (c.reason ?? '') || 'NotLiveMigratable', message: `VM ${name} cannot be live-migrated: ${c.message ?? c.reason ?? ''}` };
}

export function isVMIFinal(vmi: VirtualMachineInstance): boolean {
  return vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
}

export interface NotReady {
  reason: string;
  message: string;
}

/** Why the VM is not ready, most specific first: scheduling, then its DataVolumes, else its printable status. */
export function notReadyReason(vm: VirtualMachine | undefined, vmi: VirtualMachineInstance | undefined, dataVolumes: readonly DataVolume[]): NotReady {
  const status = vm?.status?.printableStatus;
  const fallback = { reason: Reasons.vmNotReady, message: status ? `VM is not ready: ${status}` : 'VM is not ready' };
  const scheduled = condition(vm?.status?.conditions, VMI_POD_SCHEDULED_CONDITION) ?? condition(vmi?.status?.conditions, VMI_POD_SCHEDULED_CONDITION);
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: Reasons.unschedulable, message: scheduled.message ?? 'no infra node can run the VM' };
  }
  if (scheduled?.status === 'True') return fallback;
  for (const dv of dataVolumes) {
    const name = dv.metadata.name ?? '';
    const phase = dv.status?.phase ?? 'Unknown';
    const message = `DataVolume ${name} is not ready; phase ${phase}`;
    if (phase === 'Succeeded') continue;
    if (phase === 'Pending') return { reason: Reasons.dvPending, message };
    if (phase === 'Failed') return { reason: Reasons.dvFailed, message };
    const running = dv.status?.conditions?.find((c) => c.type === 'Running');
    if (running?.status === 'False') {
      const why = `DataVolume ${name} import is not running: ${running.message ?? running.reason ?? ''}`;
      return { reason: running.reason === 'ImagePullFailed' ? Reasons.dvImagePullFailed : Reasons.dvNotReady, message: why };
    }
    return { reason: Reasons.dvNotReady, message };
  }
  return fallback;
}

/** Hostname and internal DNS name (the VM name, which is the tenant Node's), then every interface IP. */
export function machineAddresses(vmName: string, vmi: VirtualMachineInstance | undefined): MachineAddress[] {
  const ips: string[] = [];
  for (const iface of vmi?.status?.interfaces ?? []) {
    for (const ip of [iface.ipAddress, ...(iface.ipAddresses ?? [])]) {
      if (ip && !ips.includes(ip)) ips.push(ip.split('/')[0] ?? ip);
    }
  }
  const unique = [...new Set(ips)];
  return [
    { type: 'Hostname', address: vmName },
    { type: 'InternalDNS', address: vmName },
    ...unique.flatMap((ip): MachineAddress[] => [
      { type: 'InternalIP', address: ip },
      { type: 'ExternalIP', address: ip },
    ]),
  ];
}

/** A message when the VM will not recover by itself, else undefined. */
export function terminalState(vm: VirtualMachine | undefined, vmi: VirtualMachineInstance | undefined): string | undefined {
  const vmLabel = vm?.metadata.labels?.[VM_TERMINAL_LABEL];
  if (vmLabel !== undefined) return `the VM's ${VM_TERMINAL_LABEL} label marks it terminal: ${vmLabel}`;
  const vmiLabel = vmi?.metadata.labels?.[VM_TERMINAL_LABEL];
  if (vmiLabel !== undefined) return `the VMI's ${VM_TERMINAL_LABEL} label marks it terminal: ${vmiLabel}`;
  if (!vm || !vmi) return undefined;
  const strategy = vm.spec?.runStrategy ?? (vm.spec?.running === false ? 'Halted' : 'Always');
  if ((strategy === 'Halted' || strategy === 'Once') && isVMIFinal(vmi)) return `the VMI finished (${vmi.status?.phase ?? ''}) and run strategy ${strategy} will not restart it`;
  if (strategy === 'RerunOnFailure' && vmi.status?.phase === 'Succeeded') return 'the VMI shut down cleanly and run strategy RerunOnFailure will not restart it';
  return undefined;
}
