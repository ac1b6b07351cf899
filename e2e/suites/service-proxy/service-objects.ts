// Services and hand-made EndpointSlices as the suites create them: selector-less Services (so no EndpointSlice
// controller competes with the test) and slices labelled the way that controller labels its own.
import { ENDPOINT_SLICE, SERVICE, SERVICE_NAME_LABEL, type EndpointSlice, type Service, type SliceEndpoint } from '../../../localcloud/cluster/service-proxy/service-api.js';
import { POD_PORTS, type TestPod } from './test-pods.js';

const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';

export type ServiceSpec = NonNullable<Service['spec']>;

/** A selector-less Service with the test pods' ports: "http" 80, "dns" 53/UDP and "raw" 9000 ("echo" only on request). */
export function webService(namespace: string, name: string, spec: Partial<ServiceSpec> = {}): Service {
  return {
    ...SERVICE,
    metadata: { namespace, name },
    spec: {
      type: 'ClusterIP',
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: POD_PORTS.http },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: POD_PORTS.udp },
        { name: 'raw', protocol: 'TCP', port: 9000, targetPort: POD_PORTS.raw },
      ],
      ...spec,
    },
  };
}

export interface EndpointState {
  pod: TestPod;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function sliceEndpoints(states: readonly EndpointState[]): SliceEndpoint[] {
  return states.map(({ pod, ready = true, serving, terminating }) => ({
    addresses: [pod.ip],
    conditions: { ready, serving: serving ?? ready, terminating: terminating ?? false },
  }));
}

export function endpointSlice(namespace: string, service: string, states: readonly EndpointState[]): EndpointSlice {
  return {
    ...ENDPOINT_SLICE,
    metadata: { namespace, name: `${service}-manual`, labels: { [SERVICE_NAME_LABEL]: service, [MANAGED_BY_LABEL]: 'e2e.kvcloud.io' } },
    addressType: 'IPv4',
    endpoints: sliceEndpoints(states),
    ports: [
      { name: 'http', protocol: 'TCP', port: POD_PORTS.http },
      { name: 'dns', protocol: 'UDP', port: POD_PORTS.udp },
      { name: 'raw', protocol: 'TCP', port: POD_PORTS.raw },
      { name: 'echo', protocol: 'TCP', port: POD_PORTS.echo },
    ],
  };
}
