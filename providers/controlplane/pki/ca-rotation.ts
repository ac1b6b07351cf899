// Rotating a tenant's cluster CA without touching its nodes, as pure steps over the `<tenant>-ca` Secret data:
//
//   Stable    ca.crt = [current]                      ca.key = current
//   Trusting  ca.crt = [current, next]  (bundle)      ca.key = current, ca-next.key = next
//   Switched  ca.crt = [next, current]  (bundle)      ca.key = next
//   Stable    ca.crt = [next]                         ca.key = next    (the old CA retired)
//
// Why a joined node keeps working throughout: a kubelet trusts the apiserver through the CA it was handed at
// join (kubelet.conf, and /etc/kubernetes/pki/ca.crt for the apiserver's calls to it), and nothing ever rewrites
// those files on the node. So a new trust bundle alone would not reach it; instead, when the rotation starts, the
// old CA cross-signs the new one (a "bridge": the new CA's name and key, issued by the old CA). The serving
// certificate and the apiserver's kubelet client certificate carry the bridges after the leaf, so a client that
// trusts only the old CA builds leaf -> bridge -> old CA, and one that trusts the new CA stops at the new CA. The
// other direction, the node's own client certificate, is the reason the old CA stays in --client-ca-file until
// every node has renewed it from the new CA (kubelet certificate rotation through a CSR, which
// kube-controller-manager signs with the CA in force); only then, and after a minimum soak, is it retired. The
// bridges stay: they can vouch for the new CA no longer than the old CA itself lives, and they sign nothing.
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { certificatePem, createCertificateAuthority, privateKeyPem, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { loadCA, type SecretData } from './issue.js';
import type { PKIOptions } from './options.js';
import { splitCertificates } from './rotation.js';
import { CA_ROTATION_KEYS, CA_SECRET } from './secrets.js';
import { CLUSTER_CA_COMMON_NAME } from './profiles.js';

export type CAPhase = 'Stable' | 'Trusting' | 'Switched';

export interface CAState {
  phase: CAPhase;
  /** Every trusted CA certificate (PEM), the signing one first. */
  bundle: string[];
  /** Cross-signed certificates, newest first. */
  bridges: string[];
}

export function caStateOf(data: SecretData): CAState {
  const bundle = splitCertificates(data[CA_SECRET.certKey] ?? '');
  const bridges = splitCertificates(data[CA_ROTATION_KEYS.bridges] ?? '');
  const phase: CAPhase = data[CA_ROTATION_KEYS.nextKey] ? 'Trusting' : bundle.length > 1 ? 'Switched' : 'Stable';
  return { phase, bundle, bridges };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/** `next`'s name and key, issued by `previous`: what lets a client that trusts only `previous` accept `next`. */
export async function crossSign(next: CertificateAuthority, previous: CertificateAuthority): Promise<x509.X509Certificate> {
  const notAfter = Math.min(next.cert.notAfter.getTime(), previous.cert.notAfter.getTime());
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: next.cert.subject,
    issuer: previous.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(notAfter),
    publicKey: next.key.keys.publicKey,
    signingKey: previous.key.keys.privateKey,
    signingAlgorithm: previous.key.algorithm === 'ECDSA-P256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(next.key.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(previous.cert, false),
    ],
  });
}

const stillValid = (now: Date) => (pem: string) => new X509Certificate(pem).validToDate.getTime() > now.getTime();

/**
 * Stable -> Trusting: a new CA, trusted beside the current one (which still signs), and its bridge. The new CA
 * gets its own name: a client that trusts only the old CA must find the bridge, not mistake the old CA for the
 * new one's issuer.
 */
export async function beginCARotation(data: SecretData, opts: PKIOptions, now: Date): Promise<SecretData> {
  const current = await loadCA(data, CA_SECRET);
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  const next = await createCertificateAuthority(`${CLUSTER_CA_COMMON_NAME}-${stamp}`, opts.caValidity, opts.keyAlgorithm);
  const currentPem = certificatePem(current.cert);
  const bridges = [certificatePem(await crossSign(next, current)), ...caStateOf(data).bridges.filter(stillValid(now))];
  return {
    [CA_SECRET.certKey]: currentPem + certificatePem(next.cert),
    [CA_SECRET.keyKey]: data[CA_SECRET.keyKey] ?? '',
    [CA_ROTATION_KEYS.nextKey]: await privateKeyPem(next.key),
    [CA_ROTATION_KEYS.signerCert]: currentPem,
    [CA_ROTATION_KEYS.bridges]: bridges.join(''),
  };
}

/** Trusting -> Switched: the new CA signs (leaves follow: their checks ask for the CA in force); both stay trusted. */
export function switchCASigner(data: SecretData): SecretData {
  const { bundle, bridges } = caStateOf(data);
  const [current = '', next = ''] = bundle;
  return {
    [CA_SECRET.certKey]: next + current,
    [CA_SECRET.keyKey]: data[CA_ROTATION_KEYS.nextKey] ?? '',
    [CA_ROTATION_KEYS.signerCert]: next,
    [CA_ROTATION_KEYS.bridges]: bridges.join(''),
  };
}

/** Switched -> Stable: the old CA leaves the bundle, so nothing it signed is accepted any more. */
export function retireOldCA(data: SecretData): SecretData {
  const { bundle, bridges } = caStateOf(data);
  return {
    [CA_SECRET.certKey]: bundle[0] ?? '',
    [CA_SECRET.keyKey]: data[CA_SECRET.keyKey] ?? '',
    ...(bridges.length > 0 ? { [CA_ROTATION_KEYS.bridges]: bridges.join('') } : {}),
  };
}

/**
 * The bridges a certificate issued by `signerPem` carries after itself: from the bridge for the signer (same name
 * and key) down to the oldest, so a client trusting any earlier CA finds its way. Empty for a never-rotated CA.
 */
export function chainFor(signerPem: string, bridgesPem: string | undefined): string {
  const signer = new X509Certificate(signerPem);
  const bridges = splitCertificates(bridgesPem ?? '');
  const from = bridges.findIndex((b) => {
    const c = new X509Certificate(b);
    return c.subject === signer.subject && c.publicKey.equals(signer.publicKey);
  });
  return from < 0 ? '' : bridges.slice(from).join('');
}

export interface CAEvidence {
  /** The control plane pods run the Secrets as they are now (the Deployment rolled out with their checksum). */
  rolledOut: boolean;
  /** The tenant publishes exactly the bundle: cluster-info (join discovery) and kube-root-ca.crt (pods). */
  trustPublished: boolean;
  /** Nodes not yet seen with a kubelet client certificate from the new CA. */
  nodesPending: string[];
}

export interface CARotationInput {
  state: CAState;
  /** The rotate-ca annotation on the TenantControlPlane. */
  request: string | undefined;
  /** The request value the last rotation was started for. */
  handled: string | undefined;
  /** When the new CA started signing (Switched). */
  switchedAt: Date | undefined;
  evidence: CAEvidence;
  now: Date;
  /** Minimum time between the switch and the retirement of the old CA. */
  soakMs: number;
}

export interface CAStep {
  action: 'none' | 'begin' | 'switch' | 'retire';
  /** The CA rotation condition after the step; undefined for a tenant that never asked for one. */
  condition?: { status: 'True' | 'False'; reason: string; message: string };
}

/** The next step of a CA rotation from the stored phase and what the cluster shows. */
export function decideCAStep(input: CARotationInput): CAStep {
  const { state, request, handled, evidence } = input;
  const asked = `rotate-ca=${JSON.stringify(handled ?? request ?? '')}`;
  const waiting = (reason: string, message: string): CAStep => ({ action: 'none', condition: { status: 'False', reason, message: `${asked}: ${message}` } });
  switch (state.phase) {
    case 'Stable':
      if (request !== undefined && request !== handled) {
        return { action: 'begin', condition: { status: 'False', reason: 'NewCATrusted', message: `rotate-ca=${JSON.stringify(request)}: a new CA is trusted beside the old one, which still signs` } };
      }
      if (handled === undefined) return { action: 'none' };
      // Retired in the Secret; done once the pods and the tenant show the new CA alone.
      if (!evidence.rolledOut || !evidence.trustPublished) return waiting('OldCARetiring', 'the old CA left the bundle; waiting for the pods and the tenant to trust the new CA alone');
      return { action: 'none', condition: { status: 'True', reason: 'OldCARetired', message: `${asked}: the new CA signs and is the only one trusted` } };
    case 'Trusting':
      if (!evidence.rolledOut) return waiting('NewCATrusted', 'waiting for the control plane pods to run with the trust bundle');
      if (!evidence.trustPublished) return waiting('NewCATrusted', 'waiting for the tenant to publish the trust bundle in cluster-info and kube-root-ca.crt');
      return { action: 'switch', condition: { status: 'False', reason: 'LeavesReissued', message: `${asked}: the new CA signs; leaf certificates and kubeconfigs are reissued from it` } };
    case 'Switched': {
      if (!evidence.rolledOut) return waiting('LeavesReissued', 'waiting for the control plane pods to run with certificates from the new CA');
      const pending = evidence.nodesPending;
      if (pending.length > 0) {
        const shown = pending.slice(0, 10).join(', ') + (pending.length > 10 ? ', ...' : '');
        return waiting('WaitingForNodes', `${pending.length} node(s) still authenticate with a kubelet client certificate of the old CA: ${shown}`);
      }
      const retireAt = (input.switchedAt?.getTime() ?? 0) + input.soakMs;
      if (input.now.getTime() < retireAt) return waiting('Soaking', `every node renewed its certificate; the old CA is retired at ${new Date(retireAt).toISOString()}`);
      return { action: 'retire', condition: { status: 'False', reason: 'OldCARetiring', message: `${asked}: the old CA left the bundle; waiting for the pods and the tenant to trust the new CA alone` } };
    }
  }
}
