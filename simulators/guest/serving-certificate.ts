// The kubelet's serving certificate for its API on port 10250, the serverTLSBootstrap way: a CSR for
// kubernetes.io/kubelet-serving under the node's own identity, naming the VM's addresses and hostname. The tenant's
// kube-controller-manager signs it once approved, but approves only kubelet client certificates by itself: a
// serving CSR waits for an approver (kvcloud's control plane provider in the tenants it runs, otherwise the
// cluster's admin with `kubectl certificate approve`). Until then the kubelet serves with a certificate it signed
// itself, as a kubelet without serverTLSBootstrap does; the tenant apiserver accepts it because it verifies kubelet
// certificates only when --kubelet-certificate-authority is set, which kvcloud's tenant control planes do not set.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import {
  certificatePem,
  createCertificateAuthority,
  createCertificateSigningRequest,
  generateKeyPair,
  issueCertificate,
  privateKeyPem,
  publicKeyPem,
} from '../../lib/pki/x509.js';
import { CSR, waitForCertificate, type CertificateSigningRequest } from './join.js';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const YEAR_MS = 365 * 86_400_000;

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

/** The SANs of the serving certificate: the node's addresses and its hostname, as the kubelet puts them. */
export function servingAltNames(nodeName: string, addresses: readonly string[]): string[] {
  return [...new Set([nodeName, ...addresses])];
}

/** A certificate the kubelet signs itself with a throwaway CA ("<node>-ca@<unix time>", the kubelet's naming). */
export async function selfSignedServingCertificate(nodeName: string, altNames: string[]): Promise<ServingCertificate> {
  const ca = await createCertificateAuthority(`${nodeName}-ca@${Math.floor(Date.now() / 1000)}`, YEAR_MS);
  const { cert, key } = await issueCertificate(ca, { commonName: `${nodeName}@${Math.floor(Date.now() / 1000)}`, altNames, usage: 'server', validFor: YEAR_MS });
  return { certPem: certificatePem(cert) + certificatePem(ca.cert), keyPem: await privateKeyPem(key) };
}

/** The kubelet-serving CSR a node sends: subject system:node:<name> in system:nodes, its SANs, server usages. */
export function servingCSR(name: string, requestPem: string): CertificateSigningRequest {
  return {
    ...CSR,
    metadata: { name },
    spec: {
      request: Buffer.from(requestPem).toString('base64'),
      signerName: KUBELET_SERVING_SIGNER,
      // An ECDSA key signs only: no key encipherment. The signer accepts exactly these for serving certificates.
      usages: ['digital signature', 'server auth'],
    },
  };
}

/**
 * Sends the CSR and resolves with the issued certificate, however long approval takes (until `signal` aborts);
 * a denied or failed CSR rejects.
 */
export async function requestServingCertificate(
  client: Client,
  nodeName: string,
  altNames: string[],
  signal: AbortSignal,
  log: Logger,
): Promise<ServingCertificate> {
  const key = await generateKeyPair('ECDSA-P256');
  const request = await createCertificateSigningRequest(key, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], altNames });
  const digest = createHash('sha256').update(await publicKeyPem(key)).digest('hex').slice(0, 10);
  const name = `csr-${nodeName.slice(0, 40)}-serving-${digest}`;
  try {
    await client.create(servingCSR(name, request));
  } catch (err) {
    if (!isAlreadyExists(err)) throw new Error(`create CSR ${name}: ${(err as Error).message}`, { cause: err });
  }
  log.info({ csr: name, signer: KUBELET_SERVING_SIGNER }, 'created CSR');
  const certPem = await waitForCertificate(client, name, Number.POSITIVE_INFINITY, signal);
  return { certPem, keyPem: await privateKeyPem(key) };
}
