// Deciding whether a stored certificate can stay: still valid beyond the rotation threshold, signed by the CA in
// force, with the subject, usage and SANs wanted now (a changed certSANs must reissue), and its key matching.
// Each check returns the problem as a sentence, or undefined when the Secret is good: the caller turns the
// sentence into a condition message or an Event.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KeyAlgorithm } from '../../../lib/pki/x509.js';
import { canonicalIP } from '../../../lib/net/ip.js';
import type { SecretData } from './issue.js';
import type { LeafProfile } from './profiles.js';
import { SERVICE_ACCOUNT_SECRET, type CertificateSecretLayout } from './secrets.js';

/** True when the certificate is not yet valid, or expires within `threshold` ms of `now`. */
export function needsRotation(cert: X509Certificate | string, threshold: number, now: Date): boolean {
  const c = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  return c.validFromDate.getTime() > now.getTime() || c.validToDate.getTime() - now.getTime() < threshold;
}

export interface CheckOptions {
  now: Date;
  rotationThreshold: number;
  /** When set, a key of another algorithm is reissued (the operator's key algorithm changed). */
  keyAlgorithm?: KeyAlgorithm;
}

function keyAlgorithmOf(cert: X509Certificate): KeyAlgorithm | undefined {
  const details = cert.publicKey.asymmetricKeyDetails;
  if (cert.publicKey.asymmetricKeyType === 'ec') return details?.namedCurve === 'prime256v1' ? 'ECDSA-P256' : undefined;
  if (cert.publicKey.asymmetricKeyType === 'rsa') return details?.modulusLength === 4096 ? 'RSA-4096' : details?.modulusLength === 2048 ? 'RSA-2048' : undefined;
  return undefined;
}

function pairProblem(data: SecretData | undefined, layout: CertificateSecretLayout, opts: CheckOptions): { cert?: X509Certificate; problem?: string } {
  const certPem = data?.[layout.certKey];
  const keyPem = data?.[layout.keyKey];
  if (!certPem || !keyPem) return { problem: `${layout.certKey} or ${layout.keyKey} is missing` };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return { problem: `${layout.keyKey} does not belong to ${layout.certKey}` };
  } catch (err) {
    return { problem: `${layout.certKey}/${layout.keyKey} cannot be parsed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (needsRotation(cert, opts.rotationThreshold, opts.now)) return { cert, problem: `${layout.certKey} expires ${cert.validTo}, within the rotation threshold` };
  if (opts.keyAlgorithm && keyAlgorithmOf(cert) !== opts.keyAlgorithm) return { cert, problem: `${layout.certKey} has a key other than ${opts.keyAlgorithm}` };
  return { cert };
}

/** Checks a CA Secret: present, key matching, not expiring. */
export function checkCA(data: SecretData | undefined, layout: CertificateSecretLayout, opts: CheckOptions): string | undefined {
  const { cert, problem } = pairProblem(data, layout, opts);
  if (problem) return problem;
  if (!cert?.ca) return `${layout.certKey} is not a CA certificate`;
  return undefined;
}

function sanSet(names: Iterable<string>): Set<string> {
  return new Set([...names].map((n) => canonicalIP(n) ?? n.toLowerCase()));
}

function sansOf(certPem: string): string[] {
  const ext = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return (ext?.names.items ?? []).map((n) => n.value);
}

function usagesOf(certPem: string): string[] {
  return new x509.X509Certificate(certPem).getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String) ?? [];
}

/**
 * Checks a leaf Secret against its profile, the issuing CA's certificate in force and, for serving certificates,
 * the SANs wanted now. Extra or missing SANs both reissue: a removed certSAN must stop being trusted.
 */
export function checkLeaf(
  data: SecretData | undefined,
  profile: LeafProfile,
  issuerCertPem: string,
  opts: CheckOptions & { sans?: string[] },
): string | undefined {
  const { layout } = profile;
  const { cert, problem } = pairProblem(data, layout, opts);
  if (problem || !cert) return problem;
  const issuer = new X509Certificate(issuerCertPem);
  if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
    return `${layout.certKey} is not signed by the current ${profile.signer}`;
  }
  const wantSubject = [`CN=${profile.commonName}`, ...profile.organizations.map((o) => `O=${o}`)].join('\n');
  if (cert.subject !== wantSubject) return `${layout.certKey} has subject ${cert.subject.replaceAll('\n', ', ')}, want ${wantSubject.replaceAll('\n', ', ')}`;
  const certPem = cert.toString();
  const wantUsage = profile.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  if (!usagesOf(certPem).includes(wantUsage)) return `${layout.certKey} lacks the ${profile.usage}Auth extended key usage`;
  const want = sanSet(opts.sans ?? []);
  const have = sanSet(sansOf(certPem));
  const missing = [...want].filter((n) => !have.has(n));
  const extra = [...have].filter((n) => !want.has(n));
  if (missing.length > 0 || extra.length > 0) {
    return `${layout.certKey} SANs differ from the wanted ones (missing: ${missing.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'})`;
  }
  return undefined;
}

/** Checks the service-account key pair: both halves present and belonging together. */
export function checkServiceAccountKeyPair(data: SecretData | undefined): string | undefined {
  const priv = data?.[SERVICE_ACCOUNT_SECRET.privateKey];
  const pub = data?.[SERVICE_ACCOUNT_SECRET.publicKey];
  if (!priv || !pub) return `${SERVICE_ACCOUNT_SECRET.privateKey} or ${SERVICE_ACCOUNT_SECRET.publicKey} is missing`;
  try {
    const derived = createPublicKey(createPrivateKey(priv)).export({ type: 'spki', format: 'der' });
    const stored = createPublicKey(pub).export({ type: 'spki', format: 'der' });
    return derived.equals(stored) ? undefined : `${SERVICE_ACCOUNT_SECRET.publicKey} does not belong to ${SERVICE_ACCOUNT_SECRET.privateKey}`;
  } catch (err) {
    return `the service-account keys cannot be parsed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
