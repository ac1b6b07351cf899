// X.509 certificates and keys for everything kvcloud signs: the harness's own control plane and, later, the
// tenant control planes' PKI. ECDSA P-256 is the default because it is fast to generate; RSA stays available.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { webcrypto as WebCrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048' | 'RSA-4096';

export interface KeyPair {
  readonly algorithm: KeyAlgorithm;
  readonly keys: WebCrypto.CryptoKeyPair;
}

export interface CertificateAuthority {
  readonly cert: x509.X509Certificate;
  readonly key: KeyPair;
}

export interface CertificateRequest {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses; each is sorted into the right SAN type. */
  altNames?: string[];
  usage: 'server' | 'client' | 'server-and-client';
  /** Lifetime from now; notBefore is backdated a minute so freshly issued certs survive small clock skews. */
  validFor: number;
}

const MINUTE = 60_000;

function signingAlgorithm(algorithm: KeyAlgorithm): WebCrypto.EcdsaParams | WebCrypto.Algorithm {
  return algorithm === 'ECDSA-P256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
}

export async function generateKeyPair(algorithm: KeyAlgorithm = 'ECDSA-P256'): Promise<KeyPair> {
  const params: WebCrypto.EcKeyGenParams | WebCrypto.RsaHashedKeyGenParams =
    algorithm === 'ECDSA-P256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          hash: 'SHA-256',
          publicExponent: new Uint8Array([1, 0, 1]),
          modulusLength: algorithm === 'RSA-2048' ? 2048 : 4096,
        };
  const keys = await webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
  return { algorithm, keys };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive, as RFC 5280 requires
  return Buffer.from(bytes).toString('hex');
}

function distinguishedName(commonName: string, organizations: string[] = []): string {
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${escape(commonName)}`, ...organizations.map((o) => `O=${escape(o)}`)].join(', ');
}

export async function createCertificateAuthority(
  commonName: string,
  validFor: number,
  algorithm: KeyAlgorithm = 'ECDSA-P256',
): Promise<CertificateAuthority> {
  const key = await generateKeyPair(algorithm);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(commonName),
    notBefore: new Date(now - MINUTE),
    notAfter: new Date(now + validFor),
    keys: key.keys,
    signingAlgorithm: signingAlgorithm(algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
    ],
  });
  return { cert, key };
}

export async function issueCertificate(
  ca: CertificateAuthority,
  req: CertificateRequest,
  algorithm: KeyAlgorithm = 'ECDSA-P256',
): Promise<{ cert: x509.X509Certificate; key: KeyPair }> {
  const key = await generateKeyPair(algorithm);
  const now = Date.now();
  const extendedUsages: string[] = [];
  if (req.usage !== 'client') extendedUsages.push(x509.ExtendedKeyUsage.serverAuth);
  if (req.usage !== 'server') extendedUsages.push(x509.ExtendedKeyUsage.clientAuth);
  let keyUsage = x509.KeyUsageFlags.digitalSignature;
  // RSA keys are also used for key exchange in TLS; ECDSA keys only sign.
  if (algorithm !== 'ECDSA-P256') keyUsage |= x509.KeyUsageFlags.keyEncipherment;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  const altNames = req.altNames ?? [];
  if (altNames.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        altNames.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n })),
        false,
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(req.commonName, req.organizations),
    issuer: ca.cert.subject,
    notBefore: new Date(now - MINUTE),
    notAfter: new Date(now + req.validFor),
    publicKey: key.keys.publicKey,
    signingKey: ca.key.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.key.algorithm),
    extensions,
  });
  return { cert, key };
}

export function certificatePem(cert: x509.X509Certificate): string {
  return cert.toString('pem') + '\n';
}

/** PKCS#8 PEM, which every Kubernetes component and Node's TLS accept for both key types. */
export async function privateKeyPem(key: KeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key.keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

export async function publicKeyPem(key: KeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key.keys.publicKey);
  return x509.PemConverter.encode(der, 'PUBLIC KEY') + '\n';
}

/**
 * A PKCS#10 certificate signing request for `key`, PEM-encoded as the Kubernetes CertificateSigningRequest API
 * takes it (spec.request): the subject and, for serving certificates, the alternative names; signers decide usages
 * and lifetime.
 */
export async function createCertificateSigningRequest(
  key: KeyPair,
  subject: { commonName: string; organizations?: string[]; altNames?: string[] },
): Promise<string> {
  const altNames = subject.altNames ?? [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName(subject.commonName, subject.organizations),
    keys: key.keys,
    signingAlgorithm: signingAlgorithm(key.algorithm),
    ...(altNames.length > 0
      ? { extensions: [new x509.SubjectAlternativeNameExtension(altNames.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n })), false)] }
      : {}),
  });
  return csr.toString('pem') + '\n';
}
