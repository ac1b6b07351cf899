// A Machine as cluster-autoscaler sees an instance: its id (the providerID its Node will carry, or a placeholder
// until the VM has one), whether it is being created, running or deleted, and why it failed, so cluster-autoscaler
// backs off a group whose VMs cannot be placed instead of waiting for them until its provisioning timeout.
import type { Machine } from '../../lib/apis/cluster-api.js';
import { PENDING_MACHINE_ID_PREFIX } from './api/annotations.js';

export type InstanceState = 'instanceRunning' | 'instanceCreating' | 'instanceDeleting';

/** cluster-autoscaler's InstanceErrorClass values. */
export const OUT_OF_RESOURCES_ERROR_CLASS = 1;
export const OTHER_ERROR_CLASS = 99;

export interface Instance {
  id: string;
  status: { instanceState: InstanceState; errorInfo: { errorCode: string; errorMessage: string; instanceErrorClass: number } | null };
}

// Reasons the infrastructure provider reports (mirrored by Cluster API into the Machine's InfrastructureReady
// condition) that mean the VM will not come up without a change: capacity first, then the rest.
const OUT_OF_RESOURCES_REASONS = new Set(['Unschedulable']);
const FAILED_REASONS = new Set(['VMTerminal', 'VMCreateFailed', 'DVFailed', 'DVImagePullFailed', 'BootstrapFailed']);

export function pendingMachineId(machine: Machine): string {
  return `${PENDING_MACHINE_ID_PREFIX}${machine.metadata.namespace ?? ''}/${machine.metadata.name ?? ''}`;
}

/** The Machine a placeholder instance id names. */
export function parsePendingMachineId(id: string): { namespace: string; name: string } | undefined {
  if (!id.startsWith(PENDING_MACHINE_ID_PREFIX)) return undefined;
  const [namespace, name, ...rest] = id.slice(PENDING_MACHINE_ID_PREFIX.length).split('/');
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

export function instanceId(machine: Machine): string {
  const providerID = machine.spec?.providerID;
  return providerID !== undefined && providerID !== '' ? providerID : pendingMachineId(machine);
}

export function instanceOf(machine: Machine): Instance {
  const id = instanceId(machine);
  if (machine.metadata.deletionTimestamp) return { id, status: { instanceState: 'instanceDeleting', errorInfo: null } };
  if (machine.status?.nodeRef?.name && machine.spec?.providerID) return { id, status: { instanceState: 'instanceRunning', errorInfo: null } };
  return { id, status: { instanceState: 'instanceCreating', errorInfo: creationError(machine) } };
}

function creationError(machine: Machine): Instance['status']['errorInfo'] {
  const failure = machine.status?.deprecated?.v1beta1;
  if (failure?.failureReason) {
    return { errorCode: failure.failureReason, errorMessage: failure.failureMessage ?? '', instanceErrorClass: OTHER_ERROR_CLASS };
  }
  for (const condition of machine.status?.conditions ?? []) {
    if (condition.status !== 'False' || !condition.reason) continue;
    const message = `${condition.type}: ${condition.message ?? condition.reason}`;
    if (OUT_OF_RESOURCES_REASONS.has(condition.reason)) return { errorCode: condition.reason, errorMessage: message, instanceErrorClass: OUT_OF_RESOURCES_ERROR_CLASS };
    if (FAILED_REASONS.has(condition.reason)) return { errorCode: condition.reason, errorMessage: message, instanceErrorClass: OTHER_ERROR_CLASS };
  }
  return null;
}
