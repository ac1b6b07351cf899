// Which tenant cluster an infra VM or VMI belongs to. The infra namespace may hold several tenants' VMs, and every
// name a tenant controls (a Node's name or instance-id label, an EndpointSlice's nodeName) could name another
// tenant's VM; the CCM acts only on VMs that carry its cluster name, as Cluster API labels them.
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { CLUSTER_NAME_LABEL } from '../api/labels.js';

/** The tenant cluster of a VMI (its labels come from the VM template) or a VM (its own labels, else its template's). */
export function clusterOf(obj: VirtualMachine | VirtualMachineInstance): string | undefined {
  const own = obj.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (own) return own;
  // Only a VM has a template; the VMI's spec has none, hence the loose view of spec.
  const spec = obj.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  return spec?.template?.metadata?.labels?.[CLUSTER_NAME_LABEL];
}

export const belongsToCluster = (obj: VirtualMachine | VirtualMachineInstance, clusterName: string): boolean => clusterOf(obj) === clusterName;
