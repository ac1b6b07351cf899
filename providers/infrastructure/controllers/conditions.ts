// Condition types and reasons the infrastructure controllers report. CAPK's types and reasons are kept where
// CAPK has them (dashboards and runbooks match on them); the rest are ours. Ready summarises the others.
//
// KubevirtCluster
//   LoadBalancerAvailable  False WaitingForLoadBalancer   the <cluster>-lb Service has no address yet
//                          True  LoadBalancerReady
//                          False InfraClusterUnavailable  the infraClusterSecretRef kubeconfig cannot be used
//                          False LoadBalancerProvisioningFailed  writing the <cluster>-lb Service failed (retried)
// KubevirtMachine
//   VirtualMachineProvisioned False WaitingForClusterInfrastructure | WaitingForControlPlaneAvailable |
//                                   WaitingForBootstrapData | WaitingForSSHKeys | VMNotReady | Unschedulable |
//                                   DVPending | DVFailed | DVNotReady | DVImagePullFailed | VMTerminal |
//                                   InfraClusterUnavailable | VMCreateFailed (retried) | Deleting
//                             True  VirtualMachineReady
//   BootstrapExecSucceeded    False WaitingForTenantNode | BootstrapFailed (ssh) ; True BootstrapSucceeded
//   Evacuated (only while an infra node is drained under the VM)
//                             False Migrating | DrainingNode | ReplacingVMI ; True EvacuationCompleted
//
// VMTerminal means the VM will not come back by itself: it carries the capk.cluster.x-k8s.io/vm-is-terminal
// label, or its run strategy (Halted, Once, RerunOnFailure after success) leaves the VMI finished. The machine
// then also gets failureReason/failureMessage, so a MachineHealthCheck or the MachineSet replaces it.

export const LOAD_BALANCER_AVAILABLE = 'LoadBalancerAvailable';
export const VM_PROVISIONED = 'VirtualMachineProvisioned';
export const BOOTSTRAP_EXEC_SUCCEEDED = 'BootstrapExecSucceeded';
export const EVACUATED = 'Evacuated';

export const Reasons = {
  waitingForLoadBalancer: 'WaitingForLoadBalancer',
  loadBalancerReady: 'LoadBalancerReady',
  infraClusterUnavailable: 'InfraClusterUnavailable',
  loadBalancerProvisioningFailed: 'LoadBalancerProvisioningFailed',
  vmCreateFailed: 'VMCreateFailed',
  waitingForClusterInfrastructure: 'WaitingForClusterInfrastructure',
  waitingForControlPlaneAvailable: 'WaitingForControlPlaneAvailable',
  waitingForBootstrapData: 'WaitingForBootstrapData',
  waitingForSSHKeys: 'WaitingForSSHKeys',
  vmNotReady: 'VMNotReady',
  vmReady: 'VirtualMachineReady',
  vmTerminal: 'VMTerminal',
  waitingForTenantNode: 'WaitingForTenantNode',
  bootstrapFailed: 'BootstrapFailed',
  bootstrapSucceeded: 'BootstrapSucceeded',
  migrating: 'Migrating',
  drainingNode: 'DrainingNode',
  replacingVMI: 'ReplacingVMI',
  evacuationCompleted: 'EvacuationCompleted',
  deleting: 'Deleting',
} as const;

/** failureReason for a terminal VM: Cluster API's MachineStatusError value CAPK uses. */
export const TERMINAL_FAILURE_REASON = 'UpdateError';
