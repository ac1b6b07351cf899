// Reading back what lib/pki (or a user) wrote as PEM: certificates, private keys in any of the usual encodings
// (PKCS#8, PKCS#1 RSA, SEC1 EC), and a CA to sign with. Kept apart from x509.ts, which only creates.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertificateAuthority, KeyAlgorithm, KeyPair } from './x509.js';

x509.cryptoProvider.set(webcrypto);

export function parseCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/**
 * Imports a PEM private key for signing. RSA keys of any size are labelled by family for signing purposes
 * (RSA-4096 when 4096 bits, RSA-2048 otherwise); EC keys must be P-256.
 */
export async function importPrivateKey(pem: string): Promise<KeyPair> {
  const key = createPrivateKey(pem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  let algorithm: KeyAlgorithm;
  let params: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  if (key.asymmetricKeyType === 'rsa') {
    algorithm = key.asymmetricKeyDetails?.modulusLength === 4096 ? 'RSA-4096' : 'RSA-2048';
    params = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    algorithm = 'ECDSA-P256';
    params = { name: 'ECDSA', namedCurve: 'P-256' };
  } else {
    throw new Error(`unsupported private key type ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
  }
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, params, true, ['sign']),
    webcrypto.subtle.importKey('spki', spki, params, true, ['verify']),
  ]);
  return { algorithm, keys: { privateKey, publicKey } };
}

/** A CA from its certificate and private key PEMs, refusing a key that does not belong to the certificate. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const cert = parseCertificate(certPem);
  const key = await importPrivateKey(keyPem);
  const certKey = Buffer.from(cert.publicKey.rawData);
  const ownKey = Buffer.from(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
  if (!certKey.equals(ownKey)) throw new Error(`the private key does not belong to the CA certificate ${cert.subject}`);
  return { cert, key };
}
