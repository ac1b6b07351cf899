// CSI node IDs name the tenant node's VM: "<infra namespace>/<vm>" as kubevirt/csi-driver's node plugin reports
// it (from the Node's providerID kubevirt://<vm> and its cluster-namespace annotation), or the bare VM name.
// A node ID naming another namespace is no node of this tenant: the controller never looks outside its own.

export const PROVIDER_ID_PREFIX = 'kubevirt://';
export const CLUSTER_NAMESPACE_ANNOTATION = 'cluster.x-k8s.io/cluster-namespace';
export const INFRA_VM_NAME_ANNOTATION = 'csi.kubevirt.io/infra-vm-name';
export const INFRA_VM_NAMESPACE_ANNOTATION = 'csi.kubevirt.io/infra-vm-namespace';

/** The VM a node ID names in `infraNamespace`; undefined when it names none there. */
export function vmNameOf(nodeId: string, infraNamespace: string): string | undefined {
  const parts = nodeId.split('/');
  if (parts.length === 1) return parts[0] === '' ? undefined : parts[0];
  if (parts.length === 2 && parts[0] === infraNamespace && parts[1]) return parts[1];
  return undefined;
}

/** A tenant Node's node ID, from its providerID and annotations; undefined when they do not name a VM. */
export function nodeIdOf(providerID: string | undefined, annotations: Record<string, string> = {}): string | undefined {
  const vm = providerID?.startsWith(PROVIDER_ID_PREFIX) ? providerID.slice(PROVIDER_ID_PREFIX.length) : annotations[INFRA_VM_NAME_ANNOTATION];
  const namespace = providerID?.startsWith(PROVIDER_ID_PREFIX) ? annotations[CLUSTER_NAMESPACE_ANNOTATION] : annotations[INFRA_VM_NAMESPACE_ANNOTATION];
  if (!vm) return undefined;
  return namespace ? `${namespace}/${vm}` : vm;
}
