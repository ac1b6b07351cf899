// Deterministic names of everything the operator creates for a TenantControlPlane `<tcp>`, as Kamaji names
// them, so manifests and scripts written for Kamaji find the same objects; and the labels that select them.
import { TENANT_NAME_LABEL } from '../api/labels.js';

/** The pod selector of the Deployment and Service, also on every child. */
export function selectorLabels(tcpName: string): Record<string, string> {
  return { [TENANT_NAME_LABEL]: tcpName };
}

export const deploymentName = (tcp: string): string => tcp;
export const serviceName = (tcp: string): string => tcp;
export const ingressName = (tcp: string): string => tcp;
export const tlsRouteName = (tcp: string): string => tcp;

/** The kubeconfig Secrets' data keys, kubeadm's file names. */
export const ADMIN_CONF = 'admin.conf';
export const SUPER_ADMIN_CONF = 'super-admin.conf';
export const CONTROLLER_MANAGER_CONF = 'controller-manager.conf';
export const SCHEDULER_CONF = 'scheduler.conf';
export const KONNECTIVITY_CONF = 'konnectivity-server.conf';
