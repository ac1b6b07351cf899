// The Service `<tcp>` in front of the tenant control plane pods: the apiserver port (networkProfile.port,
// 6443 by default, the same inside the pod as Kamaji does, so loopback and Service URLs agree), the Konnectivity server port when that addon is on, and the user's additional ports; its
// type, load-balancer class and source ranges come straight from the spec.
import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { KubeObject } from '../../../lib/kube/object.js';
import { apiServerPort } from './network.js';
import { selectorLabels, serviceName } from './names.js';
import type { TenantControlPlane } from '../api/index.js';

export interface Service extends KubeObject {
  spec?: V1ServiceSpec;
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export const API_SERVER_PORT_NAME = 'kube-apiserver';
export const KONNECTIVITY_PORT_NAME = 'konnectivity-server';
export const DEFAULT_KONNECTIVITY_PORT = 8132;

export function konnectivityPort(tcp: TenantControlPlane): number | undefined {
  const k = tcp.spec.addons?.konnectivity;
  return k ? (k.server?.port ?? DEFAULT_KONNECTIVITY_PORT) : undefined;
}

export function buildService(tcp: TenantControlPlane): Service {
  const name = tcp.metadata.name ?? '';
  const svc = tcp.spec.controlPlane.service;
  const np = tcp.spec.networkProfile;
  const ports: V1ServiceSpec['ports'] = [
    { name: API_SERVER_PORT_NAME, protocol: 'TCP', port: apiServerPort(np), targetPort: apiServerPort(np) },
  ];
  const kPort = konnectivityPort(tcp);
  if (kPort !== undefined) ports.push({ name: KONNECTIVITY_PORT_NAME, protocol: 'TCP', port: kPort, targetPort: kPort });
  for (const p of svc.additionalPorts ?? []) {
    ports.push({
      name: p.name,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: p.targetPort,
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    });
  }
  const spec: V1ServiceSpec = { type: svc.serviceType, selector: selectorLabels(name), ports };
  if (svc.serviceType === 'LoadBalancer') {
    if (np?.loadBalancerClass) spec.loadBalancerClass = np.loadBalancerClass;
    if (np?.loadBalancerSourceRanges?.length) spec.loadBalancerSourceRanges = np.loadBalancerSourceRanges;
    if (svc.allocateLoadBalancerNodePorts !== undefined) spec.allocateLoadBalancerNodePorts = svc.allocateLoadBalancerNodePorts;
    // A requested address is asked of the load balancer, as Kamaji does; implementations that ignore it still
    // report their own ingress, which the endpoint then ignores in favour of the address.
    if (np?.address) spec.loadBalancerIP = np.address;
  } else if (np?.allowAddressAsExternalIP && np.address) {
    spec.externalIPs = [np.address];
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(name),
      namespace: tcp.metadata.namespace,
      labels: { ...svc.additionalMetadata?.labels, ...selectorLabels(name) },
      ...(svc.additionalMetadata?.annotations ? { annotations: svc.additionalMetadata.annotations } : {}),
    },
    spec,
  };
}

/**
 * The address clients reach the apiserver at: networkProfile.address, else the LoadBalancer's ingress, else the
 * ClusterIP. Undefined while a LoadBalancer waits for its ingress.
 */
export function endpointAddress(tcp: TenantControlPlane, observed: Service | undefined): string | undefined {
  const np = tcp.spec.networkProfile;
  if (np?.address) return np.address;
  if (!observed) return undefined;
  if (tcp.spec.controlPlane.service.serviceType === 'LoadBalancer') {
    const ingress = observed.status?.loadBalancer?.ingress?.[0];
    return ingress?.ip ?? ingress?.hostname;
  }
  const ip = observed.spec?.clusterIP;
  return ip && ip !== 'None' ? ip : undefined;
}

/** "host:port" with IPv6 hosts bracketed, the form of status.controlPlaneEndpoint. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
