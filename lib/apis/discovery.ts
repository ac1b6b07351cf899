// discovery.k8s.io/v1 EndpointSlices as the kvcloud components read and write them: plain JSON with upstream names
// and only the fields we touch.
import type { KubeObject, TypeMeta } from '../kube/object.js';

export const ENDPOINT_SLICE_TYPE: TypeMeta = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' };

/** Names the Service an EndpointSlice belongs to; the service proxy and the EndpointSlice controllers key on it. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Names the controller that writes an EndpointSlice, so each controller touches only its own. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';

/** The API's limit on endpoints in one slice. */
export const MAX_ENDPOINTS_PER_SLICE = 1000;

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointConditions {
  /** Unset means ready, as the API defines it. */
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointPort {
  name?: string;
  protocol?: string;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: AddressType;
  endpoints?: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}
