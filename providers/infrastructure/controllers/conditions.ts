// Condition types and reasons the infrastructure controllers report: CAPK's types, and CAPK's reasons wherever CAPK
// sets one (dashboards, runbooks and `kubectl wait --for=condition=...` written for CAPK match on them). kvcloud adds a
// reason only to VMProvisioned, whose False reasons CAPK already draws from the VM's state, and keeps its own
// Evacuated (CAPK has no such step). Ready summarises VMProvisioned and BootstrapExecSucceeded (KubevirtMachine) or
// LoadBalancerAvailable (KubevirtCluster) with Cluster API's summary reasons, as CAPK's SetSummaryCondition does:
// IssuesReported (False), UnknownReported (Unknown), InfoReported (True). The v1beta1 mirror's Ready carries the
// worst summarised condition's reason instead, as v1beta1 summaries did.
//
// KubevirtCluster
//   LoadBalancerAvailable  True  LoadBalancerAvailable
//                          False LoadBalancerProvisioningFailed  the <cluster>-lb Service could not be written, has
//                                                                no address yet, or the infraClusterSecretRef
//                                                                kubeconfig cannot be used (all retried)
//                          False Deleting
// KubevirtMachine
//   VMProvisioned          True  VMProvisioned
//                          False WaitingForClusterInfrastructure | WaitingForControlPlaneAvailable |
//                                WaitingForBootstrapData | VMCreateFailed (retried) | VMNotReady | Unschedulable |
//                                DVPending | DVFailed | DVNotReady | DVImagePullFailed | Deleting        (CAPK's)
//                                WaitingForSSHKeys | InfraClusterUnavailable | VMTerminal               (kvcloud's)
//   BootstrapExecSucceeded True  BootstrapExecSucceeded
//                          True  BootstrapCheckingNotSupported  checkStrategy ssh without a key pair (externally
//                                                               managed KubevirtCluster): the tenant Node registered
//                          False BootstrapFailed  not bootstrapped yet (the message says what it waits for; retried)
//   VMLiveMigratable       True  VMLiveMigratable ; False <the VMI's LiveMigratable reason, e.g. DisksNotLiveMigratable>
//                          (set once the VMI reports LiveMigratable; not part of Ready)
//   Evacuated (only while an infra node is drained under the VM)
//                          False Migrating | DrainingNode | ReplacingVMI ; True EvacuationCompleted
//
// VMTerminal means the VM will not come back by itself: it carries the capk.cluster.x-k8s.io/vm-is-terminal
// label, or its run strategy (Halted, Once, RerunOnFailure after success) leaves the VMI finished. The machine
// then also gets failureReason/failureMessage, so a MachineHealthCheck or the MachineSet replaces it.
import { CLUSTER_API_SUMMARY_REASONS, type SummaryOptions } from '../../../lib/controller/conditions.js';
import { VM_PROVISIONED_CONDITION, VMProvisionedReasons } from '../../../lib/apis/kubevirt-infrastructure.js';

export const LOAD_BALANCER_AVAILABLE = 'LoadBalancerAvailable';
export const VM_PROVISIONED = VM_PROVISIONED_CONDITION;
export const BOOTSTRAP_EXEC_SUCCEEDED = 'BootstrapExecSucceeded';
export const VM_LIVE_MIGRATABLE = 'VMLiveMigratable';
export const EVACUATED = 'Evacuated';

export const Reasons = {
  ...VMProvisionedReasons,
  loadBalancerAvailable: 'LoadBalancerAvailable',
  loadBalancerProvisioningFailed: 'LoadBalancerProvisioningFailed',
  infraClusterUnavailable: 'InfraClusterUnavailable',
  waitingForClusterInfrastructure: 'WaitingForClusterInfrastructure',
  waitingForControlPlaneAvailable: 'WaitingForControlPlaneAvailable',
  waitingForBootstrapData: 'WaitingForBootstrapData',
  waitingForSSHKeys: 'WaitingForSSHKeys',
  vmProvisioned: 'VMProvisioned',
  vmNotReady: 'VMNotReady',
  dvPending: 'DVPending',
  dvNotReady: 'DVNotReady',
  bootstrapExecSucceeded: 'BootstrapExecSucceeded',
  bootstrapCheckingNotSupported: 'BootstrapCheckingNotSupported',
  bootstrapFailed: 'BootstrapFailed',
  vmLiveMigratable: 'VMLiveMigratable',
  migrating: 'Migrating',
  drainingNode: 'DrainingNode',
  replacingVMI: 'ReplacingVMI',
  evacuationCompleted: 'EvacuationCompleted',
  deleting: 'Deleting',
} as const;

/** What Ready summarises on each kind, with Cluster API's summary reasons. */
export const MACHINE_READY_SUMMARY: SummaryOptions = { conditions: [VM_PROVISIONED, BOOTSTRAP_EXEC_SUCCEEDED], reasons: CLUSTER_API_SUMMARY_REASONS };
export const CLUSTER_READY_SUMMARY: SummaryOptions = { conditions: [LOAD_BALANCER_AVAILABLE], reasons: CLUSTER_API_SUMMARY_REASONS };

/** failureReason for a terminal VM: Cluster API's MachineStatusError value CAPK uses. */
export const TERMINAL_FAILURE_REASON = 'UpdateError';
