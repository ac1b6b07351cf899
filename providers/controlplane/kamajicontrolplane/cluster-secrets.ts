// The two Secrets Cluster API expects from a control plane provider, built from the tenant's CA:
// `<cluster>-kubeconfig` (key `value`), which Cluster API's controllers use to reach the tenant, and `<cluster>-ca`
// (tls.crt / tls.key), from which the kubeadm bootstrap provider computes the CA hash workers join with. Both are
// type cluster.x-k8s.io/secret and carry the cluster-name label, because Cluster API's managers cache only
// Secrets with that label.
//
// The kubeconfig's client certificate is short-lived (24 h by default) and re-issued once less than a third of
// its life is left. Cluster API's cluster cache keeps using the client it built until a request is refused, then
// reads the Secret again; a third of the lifetime (8 h by default) is ample for any reader to pick up the new
// Secret long before the old certificate expires, and a leaked copy is worthless within a day. A year-long
// certificate in the kubeadm:cluster-admins group, as kubeadm writes, can only be revoked by rotating the CA.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { CLUSTER_NAME_LABEL } from '../../../lib/controller/cluster-api-keys.js';
import { parseKubeconfig, renderKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { certificatePem, issueCertificate, privateKeyPem, type CertificateAuthority, type KeyAlgorithm } from '../../../lib/pki/x509.js';
import { ADMIN } from '../kubeconfig/builders.js';
import { splitCertificates } from '../pki/rotation.js';

export const CLUSTER_SECRET_TYPE = 'cluster.x-k8s.io/secret';
export const KUBECONFIG_SECRET_KEY = 'value';
export const CA_CERT_KEY = 'tls.crt';
export const CA_KEY_KEY = 'tls.key';
export const DEFAULT_KUBECONFIG_VALIDITY_MS = 24 * 3_600_000;

export const kubeconfigSecretName = (cluster: string): string => `${cluster}-kubeconfig`;
export const caSecretName = (cluster: string): string => `${cluster}-ca`;

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const decodeKey = (s: Secret | undefined, key: string): string | undefined => {
  const v = s?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

export function serverURL(endpoint: { host: string; port: number }): string {
  return `https://${isIPv6(endpoint.host) ? `[${endpoint.host}]` : endpoint.host}:${String(endpoint.port)}`;
}

function clusterSecret(cluster: string, namespace: string, name: string, data: Record<string, string>): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: CLUSTER_SECRET_TYPE,
    metadata: { name, namespace, labels: { [CLUSTER_NAME_LABEL]: cluster } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

/**
 * A fresh kubeconfig for Cluster API: the kubeadm admin identity, signed by the tenant CA, valid for `validityMs`,
 * trusting `caBundlePem` (the CA, or during a CA rotation both CAs).
 */
export async function issueClusterKubeconfig(
  ca: CertificateAuthority,
  caBundlePem: string,
  cluster: string,
  server: string,
  validityMs: number,
  keyAlgorithm: KeyAlgorithm = 'ECDSA-P256',
): Promise<string> {
  const { cert, key } = await issueCertificate(
    ca,
    { commonName: ADMIN.commonName, organizations: [...ADMIN.organizations], usage: 'client', validFor: validityMs },
    keyAlgorithm,
  );
  return renderKubeconfig({
    clusterName: cluster,
    server,
    caPem: caBundlePem,
    user: `${cluster}-admin`,
    certPem: certificatePem(cert),
    keyPem: await privateKeyPem(key),
  });
}

export function buildKubeconfigSecret(cluster: string, namespace: string, kubeconfig: string): Secret {
  return clusterSecret(cluster, namespace, kubeconfigSecretName(cluster), { [KUBECONFIG_SECRET_KEY]: kubeconfig });
}

export function buildCASecret(cluster: string, namespace: string, caCertPem: string, caKeyPem: string): Secret {
  return clusterSecret(cluster, namespace, caSecretName(cluster), { [CA_CERT_KEY]: caCertPem, [CA_KEY_KEY]: caKeyPem });
}

/**
 * The certificate of a CA bundle that ca.key belongs to: the one that signs. While the tenant CA rotates, ca.crt
 * holds the current and the next CA (in either order) and the kubeconfig trusts the whole bundle.
 */
export function signingCertificate(bundlePem: string, keyPem: string): string | undefined {
  const publicKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return splitCertificates(bundlePem).find((pem) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).equals(publicKey));
}

export interface KubeconfigCheck {
  /** Why the stored kubeconfig must be re-issued; undefined when it can stay. */
  reissue?: string;
  /** When it will need re-issuing (ms since epoch): a third of its lifetime before it expires. */
  renewAt?: number;
}

/**
 * Whether the kubeconfig stored in `<cluster>-kubeconfig` can stay: it points at `server`, trusts exactly the
 * tenant CA bundle `caPem`, its client certificate was signed by a CA of that bundle, and more than a third of its
 * lifetime is left.
 */
export function checkClusterKubeconfig(stored: string | undefined, caPem: string, server: string, now: Date): KubeconfigCheck {
  if (!stored) return { reissue: 'missing' };
  let parsed;
  let cert: X509Certificate;
  try {
    parsed = parseKubeconfig(stored);
    cert = new X509Certificate(parsed.certPem);
  } catch (err) {
    return { reissue: `unreadable: ${(err as Error).message}` };
  }
  if (parsed.server !== server) return { reissue: `server is ${parsed.server}, the endpoint is ${server}` };
  if (parsed.caPem.trim() !== caPem.trim()) return { reissue: 'the tenant CA changed' };
  if (!splitCertificates(caPem).some((pem) => cert.verify(new X509Certificate(pem).publicKey))) {
    return { reissue: 'the client certificate is not signed by the tenant CA' };
  }
  const from = cert.validFromDate.getTime();
  const to = cert.validToDate.getTime();
  const renewAt = to - (to - from) / 3;
  if (now.getTime() >= renewAt) return { reissue: `less than a third of its lifetime left (expires ${cert.validTo})`, renewAt };
  return { renewAt };
}
