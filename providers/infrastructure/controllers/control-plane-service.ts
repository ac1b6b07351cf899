// The <cluster>-lb Service in front of the control-plane VMs, and the control-plane endpoint it yields: the
// LoadBalancer's ingress IP or hostname, the NodePort on an infra node's address, or the ClusterIP.
import { SERVICE_TYPE, type Node, type Service } from '../../../lib/apis/core.js';
import {
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_SERVICE_SUFFIX,
  DEFAULT_API_SERVER_PORT,
  ROLE_CONTROL_PLANE,
  ROLE_LABEL,
  type KubevirtCluster,
} from '../api/index.js';

export function controlPlaneServiceName(clusterName: string): string {
  return `${clusterName}${CONTROL_PLANE_SERVICE_SUFFIX}`;
}

export function desiredControlPlaneService(kc: KubevirtCluster, clusterName: string, namespace: string): Service {
  const template = kc.spec?.controlPlaneServiceTemplate;
  const port = template?.spec?.port ?? DEFAULT_API_SERVER_PORT;
  return {
    apiVersion: SERVICE_TYPE.apiVersion,
    kind: SERVICE_TYPE.kind,
    metadata: {
      name: controlPlaneServiceName(clusterName),
      namespace,
      labels: { ...template?.metadata?.labels, [CLUSTER_NAME_LABEL]: clusterName },
      ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
    },
    spec: {
      type: template?.spec?.type ?? 'ClusterIP',
      selector: { [CLUSTER_NAME_LABEL]: clusterName, [ROLE_LABEL]: ROLE_CONTROL_PLANE },
      // The guest's apiserver listens on 6443 whatever port the Service is reached at.
      ports: [{ name: 'api-server', protocol: 'TCP', port, targetPort: DEFAULT_API_SERVER_PORT }],
    },
  };
}

export interface Endpoint {
  host: string;
  port: number;
}

function nodeAddress(nodes: readonly Node[]): string | undefined {
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const node of nodes) {
      const address = node.status?.addresses?.find((a) => a.type === type)?.address;
      if (address) return address;
    }
  }
  return undefined;
}

/** Where the tenant apiserver is reached through the Service, or undefined while it has no address yet. */
export function endpointFromService(service: Service, nodes: readonly Node[]): Endpoint | undefined {
  const port = service.spec?.ports?.[0];
  if (!port) return undefined;
  switch (service.spec?.type) {
    case 'LoadBalancer': {
      const ingress = service.status?.loadBalancer?.ingress?.find((i) => i.ip ?? i.hostname);
      const host = ingress?.ip ?? ingress?.hostname;
      return host ? { host, port: port.port } : undefined;
    }
    case 'NodePort': {
      const host = nodeAddress(nodes);
      return host && port.nodePort ? { host, port: port.nodePort } : undefined;
    }
    default: {
      const ip = service.spec?.clusterIP;
      return ip && ip !== 'None' ? { host: ip, port: port.port } : undefined;
    }
  }
}
