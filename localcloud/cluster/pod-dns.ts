// A pod's /etc/resolv.conf, decided the kubelet's way from its dnsPolicy and dnsConfig and the node's cluster DNS
// (the kubelet's clusterDNS and clusterDomain): ClusterFirst pods ask the cluster's DNS Service and search their
// namespace first; Default pods (and hostNetwork ones that did not ask for ClusterFirstWithHostNet) keep the
// machine's file. Pure, so the policy table has tests; the pod runner mounts what it returns.
import type { Pod } from './pod-api.js';

export interface ClusterDNS {
  /** The DNS Service IPs (kube-dns). */
  nameservers: string[];
  /** The cluster domain, cluster.local by default. */
  domain: string;
}

// The kubelet's limits: glibc reads at most three nameservers and six search domains.
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 6;

/** The file's content, or undefined when the pod keeps the machine's /etc/resolv.conf. */
export function podResolvConf(pod: Pod, cluster: ClusterDNS | undefined): string | undefined {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const config = pod.spec.dnsConfig;
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && pod.spec.hostNetwork !== true);
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (clusterFirst && cluster && cluster.nameservers.length > 0) {
    const ns = pod.metadata.namespace ?? 'default';
    nameservers = [...cluster.nameservers];
    searches = [`${ns}.svc.${cluster.domain}`, `svc.${cluster.domain}`, cluster.domain];
    options = ['ndots:5'];
  } else if (policy !== 'None') {
    // Default, or no cluster DNS to use (the kubelet falls back to Default): the machine's file, which the pod
    // sees unchanged; a dnsConfig is not merged into it here.
    return undefined;
  }
  nameservers = [...new Set([...nameservers, ...(config?.nameservers ?? [])])].slice(0, MAX_NAMESERVERS);
  searches = [...new Set([...searches, ...(config?.searches ?? [])])].slice(0, MAX_SEARCHES);
  // dnsConfig options override the ones of the same name.
  const byName = new Map(options.map((o) => [o.split(':')[0] ?? o, o]));
  for (const o of config?.options ?? []) byName.set(o.name, o.value === undefined ? o.name : `${o.name}:${o.value}`);
  options = [...byName.values()];
  const lines = [
    ...nameservers.map((n) => `nameserver ${n}`),
    ...(searches.length > 0 ? [`search ${searches.join(' ')}`] : []),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
