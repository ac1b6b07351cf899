// The parts of the cluster's KubeletConfiguration (kube-system/kubelet-config, which `kubeadm join` writes to
// /var/lib/kubelet/config.yaml) the guest's kubelet honours: clusterDNS and clusterDomain, what ClusterFirst pods
// resolve with. Pure, so the parsing has tests.
import { parse } from 'yaml';
import type { ClusterDNS } from '../../localcloud/cluster/pod-dns.js';

export const KUBELET_CONFIG_MAP = { namespace: 'kube-system', name: 'kubelet-config', key: 'kubelet' } as const;

/** The cluster DNS of a KubeletConfiguration; undefined when it names no DNS server (pods keep the VM's resolver). */
export function clusterDNSOf(kubeletConfiguration: string): ClusterDNS | undefined {
  const config = parse(kubeletConfiguration) as { kind?: string; clusterDNS?: unknown; clusterDomain?: unknown } | null;
  if (config?.kind !== 'KubeletConfiguration') throw new Error(`kubelet-config holds kind "${config?.kind ?? ''}", expected KubeletConfiguration`);
  const nameservers = Array.isArray(config.clusterDNS) ? config.clusterDNS.filter((ip): ip is string => typeof ip === 'string' && ip !== '') : [];
  if (nameservers.length === 0) return undefined;
  const domain = typeof config.clusterDomain === 'string' && config.clusterDomain !== '' ? config.clusterDomain.replace(/\.$/, '') : 'cluster.local';
  return { nameservers, domain };
}
