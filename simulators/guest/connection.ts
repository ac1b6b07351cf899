// The guest's connections to its tenant apiserver, one per identity it has in turn: anonymous and unverified
// (token discovery), bootstrap token, then the node's own client certificate.
import { KubeConfig } from '@kubernetes/client-node';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';

export type Credentials =
  | { kind: 'anonymous' }
  | { kind: 'token'; token: string }
  | { kind: 'certificate'; certPem: string; keyPem: string };

export interface ConnectionParams {
  server: string;
  /** Trusted CA bundle; absent means the server's certificate is not verified (discovery only). */
  caPem?: string | undefined;
  credentials: Credentials;
  userAgent: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeConfigFor(p: ConnectionParams): KubeConfig {
  const kc = new KubeConfig();
  const user =
    p.credentials.kind === 'token'
      ? { name: 'guest', token: p.credentials.token }
      : p.credentials.kind === 'certificate'
        ? { name: 'guest', certData: b64(p.credentials.certPem), keyData: b64(p.credentials.keyPem) }
        : { name: 'guest' };
  kc.loadFromOptions({
    clusters: [{ name: 'tenant', server: p.server, skipTLSVerify: p.caPem === undefined, ...(p.caPem ? { caData: b64(p.caPem) } : {}) }],
    users: [user],
    contexts: [{ name: 'guest', cluster: 'tenant', user: 'guest' }],
    currentContext: 'guest',
  });
  return kc;
}

export function openTransport(p: ConnectionParams): Promise<RestTransport> {
  return RestTransport.fromKubeConfig(kubeConfigFor(p), { userAgent: p.userAgent, requestTimeoutMs: 10_000 });
}

// The kinds a kubelet touches, mapped up front: the anonymous identity may not read discovery documents, and the
// others need no round trip for it.
const KUBELET_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'Node', resource: 'nodes', namespaced: false },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', resource: 'leases', namespaced: true },
  { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', resource: 'certificatesigningrequests', namespaced: false },
];

export function clientOn(transport: RestTransport): Client {
  const mapper = new RestMapper(transport);
  for (const mapping of KUBELET_KINDS) mapper.register(mapping);
  return new Client({ transport, mapper, fieldManager: 'kubelet' });
}
