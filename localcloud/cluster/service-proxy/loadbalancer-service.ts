// What a Service asks of the small MetalLB: whether it is ours to serve (type and loadBalancerClass) and which
// IP it requests, from spec.loadBalancerIP or the annotations MetalLB and kube-vip users already write.
import { parseIPv4 } from './ipv4-range.js';
import { REQUESTED_IP_ANNOTATIONS, type LoadBalancerIngress, type Service } from './service-api.js';

export type IPRequest = { kind: 'any' } | { kind: 'ip'; ip: string } | { kind: 'invalid'; message: string };

/** Services of type LoadBalancer without a class or with ours; any other class belongs to another implementation. */
export function isOurLoadBalancer(service: Service, ourClass: string): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  const cls = service.spec.loadBalancerClass;
  return cls === undefined || cls === ourClass;
}

export function requestedIP(service: Service): IPRequest {
  const sources: { from: string; value: string }[] = [];
  for (const key of REQUESTED_IP_ANNOTATIONS) {
    const value = service.metadata.annotations?.[key];
    if (value === undefined) continue;
    for (const entry of value.split(',')) sources.push({ from: `annotation ${key}`, value: entry.trim() });
  }
  const specIP = service.spec?.loadBalancerIP;
  if (specIP) sources.push({ from: 'spec.loadBalancerIP', value: specIP });

  const wanted = new Set<string>();
  for (const { from, value } of sources) {
    if (value === '' || value.includes(':')) continue; // IPv6: this pool is IPv4 only, the IPv4 entry is ours
    if (parseIPv4(value) === undefined) return { kind: 'invalid', message: `${from}: "${value}" is not an IPv4 address` };
    wanted.add(value);
  }
  if (wanted.size > 1) {
    return { kind: 'invalid', message: `conflicting IPv4 requests ${[...wanted].join(', ')} (${sources.map((s) => s.from).join(', ')})` };
  }
  const [ip] = wanted;
  return ip === undefined ? { kind: 'any' } : { kind: 'ip', ip };
}

/** The status we write: one IPv4 VIP, which kube-proxy-style data planes (ours included) serve locally. */
export function ingressFor(ip: string | undefined): LoadBalancerIngress[] {
  return ip === undefined ? [] : [{ ip, ipMode: 'VIP' }];
}

export function ingressIPs(service: Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}
