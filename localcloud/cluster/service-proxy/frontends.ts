// Where a Service is reachable, per port: ClusterIP:port, each node address:nodePort, each load-balancer
// ingress IP:port and each externalIP:port, as kube-proxy programs them. Headless and ExternalName Services get
// nothing: clients resolve those through DNS, never through a proxy.
import { parseIPv4 } from './ipv4-range.js';
import type { Protocol, Service } from './service-api.js';

export type FrontendKind = 'clusterIP' | 'nodePort' | 'loadBalancer' | 'externalIP';

export interface Frontend {
  kind: FrontendKind;
  ip: string;
  port: number;
  /** Set when a traffic policy Local applies: only the proxy's own node's endpoints serve this address. */
  local?: true;
}

/**
 * Whether the client's source address must reach the endpoint: an address outside traffic arrives on, under
 * externalTrafficPolicy Local, which kube-proxy never SNATs. The data plane translates these in the kernel.
 */
export function keepsClientAddress(f: Frontend): boolean {
  return f.local === true && f.kind !== 'clusterIP';
}

export interface PortFrontends {
  /** The Service port's name; '' for the single unnamed port. */
  name: string;
  protocol: Exclude<Protocol, 'SCTP'>;
  frontends: Frontend[];
  /** Set when spec.sessionAffinity is ClientIP. */
  affinityTimeoutMs?: number;
}

// Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds: three hours.
const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

const isIPv4 = (ip: string): boolean => parseIPv4(ip) !== undefined;

export function serviceFrontends(service: Service, nodeAddresses: readonly string[]): PortFrontends[] {
  const spec = service.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  // clusterIPs holds the primary ClusterIP first; dual-stack Services carry an IPv6 one we cannot serve.
  const clusterIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter(isIPv4);
  if (clusterIPs.length === 0) return []; // headless ("None") or not allocated yet
  const exposesNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const ingressIPs =
    spec.type === 'LoadBalancer'
      ? (service.status?.loadBalancer?.ingress ?? [])
          // ipMode Proxy means traffic comes through the load balancer, so the node must not short-circuit it.
          .filter((i) => i.ipMode !== 'Proxy')
          .flatMap((i) => (i.ip && isIPv4(i.ip) ? [i.ip] : []))
      : [];
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  // internalTrafficPolicy governs ClusterIPs; externalTrafficPolicy the addresses traffic from outside arrives on.
  const internalLocal = spec.internalTrafficPolicy === 'Local' ? { local: true as const } : {};
  const externalLocal = spec.externalTrafficPolicy === 'Local' ? { local: true as const } : {};
  const affinity =
    spec.sessionAffinity === 'ClientIP'
      ? { affinityTimeoutMs: (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) * 1000 }
      : {};

  const result: PortFrontends[] = [];
  for (const port of spec.ports ?? []) {
    const protocol = port.protocol ?? 'TCP';
    if (protocol === 'SCTP') continue; // Node has no SCTP sockets
    const nodePort = exposesNodePorts ? port.nodePort : undefined; // absent with allocateLoadBalancerNodePorts=false
    const frontends: Frontend[] = [
      ...clusterIPs.map((ip) => ({ kind: 'clusterIP' as const, ip, port: port.port, ...internalLocal })),
      ...(nodePort ? nodeAddresses.map((ip) => ({ kind: 'nodePort' as const, ip, port: nodePort, ...externalLocal })) : []),
      ...ingressIPs.map((ip) => ({ kind: 'loadBalancer' as const, ip, port: port.port, ...externalLocal })),
      ...externalIPs.map((ip) => ({ kind: 'externalIP' as const, ip, port: port.port, ...externalLocal })),
    ];
    result.push({ name: port.name ?? '', protocol, frontends, ...affinity });
  }
  return result;
}
