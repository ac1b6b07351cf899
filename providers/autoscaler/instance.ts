// A Machine as cluster-autoscaler sees an instance: its id (the providerID its Node will carry, or a placeholder
// until the VM has one), whether it is being created, running or deleted, and why it failed, so cluster-autoscaler
// backs off a group whose VMs cannot be placed instead of waiting for them until its provisioning timeout.
import type { Machine } from '../../lib/apis/cluster-api.js';
import {
  INFRASTRUCTURE_GROUP,
  KUBEVIRT_MACHINE_TYPE,
  VM_PROVISIONED_CONDITION,
  VMProvisionedReasons,
  type KubevirtMachineContract,
} from '../../lib/apis/kubevirt-infrastructure.js';
import { PENDING_MACHINE_ID_PREFIX } from './api/annotations.js';

export type InstanceState = 'instanceRunning' | 'instanceCreating' | 'instanceDeleting';

/** cluster-autoscaler's InstanceErrorClass values. */
export const OUT_OF_RESOURCES_ERROR_CLASS = 1;
export const OTHER_ERROR_CLASS = 99;

export interface Instance {
  id: string;
  status: { instanceState: InstanceState; errorInfo: { errorCode: string; errorMessage: string; instanceErrorClass: number } | null };
}

// The KubevirtMachine's VMProvisioned reasons that mean the VM will not come up without a change: capacity first, then
// the rest. They are read on the KubevirtMachine itself: the Machine's InfrastructureReady mirrors only its Ready,
// whose reason is Cluster API's summary (IssuesReported), as CAPK's is. BootstrapExecSucceeded's BootstrapFailed is
// not one of them: it is every wait for the guest to finish bootstrapping, retried, not a failure of the VM.
const OUT_OF_RESOURCES_REASONS = new Set<string>([VMProvisionedReasons.unschedulable]);
const FAILED_REASONS = new Set<string>([VMProvisionedReasons.vmTerminal, VMProvisionedReasons.vmCreateFailed, VMProvisionedReasons.dvFailed, VMProvisionedReasons.dvImagePullFailed]);

/** The KubevirtMachine a Machine's spec.infrastructureRef names (same namespace), if it names one. */
export function kubevirtMachineRef(machine: Machine): { namespace: string; name: string } | undefined {
  const ref = machine.spec?.infrastructureRef;
  if (ref?.apiGroup !== INFRASTRUCTURE_GROUP || ref.kind !== KUBEVIRT_MACHINE_TYPE.kind || !ref.name) return undefined;
  return { namespace: machine.metadata.namespace ?? '', name: ref.name };
}

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

/** The instance of `machine`; `infraMachine` is the KubevirtMachine kubevirtMachineRef names, as the cache has it. */
export function instanceOf(machine: Machine, infraMachine?: KubevirtMachineContract): Instance {
  const id = instanceId(machine);
  if (machine.metadata.deletionTimestamp) return { id, status: { instanceState: 'instanceDeleting', errorInfo: null } };
  if (machine.status?.nodeRef?.name && machine.spec?.providerID) return { id, status: { instanceState: 'instanceRunning', errorInfo: null } };
  return { id, status: { instanceState: 'instanceCreating', errorInfo: creationError(machine, infraMachine) } };
}

function creationError(machine: Machine, infraMachine: KubevirtMachineContract | undefined): Instance['status']['errorInfo'] {
  // Cluster API copies the infrastructure machine's terminal failure here (the v1beta1 contract's failureReason).
  const failure = machine.status?.deprecated?.v1beta1;
  if (failure?.failureReason) {
    return { errorCode: failure.failureReason, errorMessage: failure.failureMessage ?? '', instanceErrorClass: OTHER_ERROR_CLASS };
  }
  const provisioned = infraMachine?.status?.conditions?.find((c) => c.type === VM_PROVISIONED_CONDITION);
  if (provisioned?.status !== 'False' || !provisioned.reason) return null;
  const message = `${VM_PROVISIONED_CONDITION}: ${(provisioned.message ?? '') || provisioned.reason}`;
  if (OUT_OF_RESOURCES_REASONS.has(provisioned.reason)) return { errorCode: provisioned.reason, errorMessage: message, instanceErrorClass: OUT_OF_RESOURCES_ERROR_CLASS };
  if (FAILED_REASONS.has(provisioned.reason)) return { errorCode: provisioned.reason, errorMessage: message, instanceErrorClass: OTHER_ERROR_CLASS };
  return null;
}
