// Pure builders of a tenant's PKI Secret data (PEM text by key, as the Secrets' stringData): CAs, leaves from the
// profile table, the datastore client certificate and the service-account key pair. Nothing here talks to a cluster.
import { loadCertificateAuthority } from '../../../lib/pki/pem.js';
import {
  certificatePem,
  createCertificateAuthority,
  generateKeyPair,
  issueCertificate,
  privateKeyPem,
  publicKeyPem,
  type CertificateAuthority,
} from '../../../lib/pki/x509.js';
import type { PKIOptions } from './options.js';
import { CLUSTER_CA_COMMON_NAME, dataStoreClient, FRONT_PROXY_CA_COMMON_NAME, type LeafProfile } from './profiles.js';
import { CA_SECRET, DATASTORE_CA_KEY, FRONT_PROXY_CA_SECRET, SERVICE_ACCOUNT_SECRET, type CertificateSecretLayout } from './secrets.js';

/** A Secret's content as text by key; the caller base64-encodes it into `data` or sends it as `stringData`. */
export type SecretData = Record<string, string>;

async function buildCA(commonName: string, layout: CertificateSecretLayout, opts: PKIOptions): Promise<SecretData> {
  const ca = await createCertificateAuthority(commonName, opts.caValidity, opts.keyAlgorithm);
  return { [layout.certKey]: certificatePem(ca.cert), [layout.keyKey]: await privateKeyPem(ca.key) };
}

/** `<tenant>-ca`: the cluster CA that signs the apiserver, its clients, kubeconfigs and (through kcm) kubelets. */
export function buildClusterCA(opts: PKIOptions): Promise<SecretData> {
  return buildCA(CLUSTER_CA_COMMON_NAME, CA_SECRET, opts);
}

/** `<tenant>-front-proxy-ca-certificate`: the aggregation layer's own CA, separate as kubeadm keeps it. */
export function buildFrontProxyCA(opts: PKIOptions): Promise<SecretData> {
  return buildCA(FRONT_PROXY_CA_COMMON_NAME, FRONT_PROXY_CA_SECRET, opts);
}

/** The CA stored in a Secret under `layout`, ready to sign. */
export function loadCA(data: SecretData, layout: CertificateSecretLayout): Promise<CertificateAuthority> {
  const cert = data[layout.certKey];
  const key = data[layout.keyKey];
  if (!cert || !key) return Promise.reject(new Error(`CA Secret data lacks ${layout.certKey} or ${layout.keyKey}`));
  return loadCertificateAuthority(cert, key);
}

/** A leaf certificate and its key under the profile's keys; `sans` only for serving certificates. */
export async function buildLeaf(profile: LeafProfile, issuer: CertificateAuthority, opts: PKIOptions, sans: string[] = []): Promise<SecretData> {
  const { cert, key } = await issueCertificate(
    issuer,
    {
      commonName: profile.commonName,
      organizations: [...profile.organizations],
      altNames: sans,
      usage: profile.usage,
      validFor: opts.certificateValidity,
    },
    opts.keyAlgorithm,
  );
  return { [profile.layout.certKey]: certificatePem(cert), [profile.layout.keyKey]: await privateKeyPem(key) };
}

/**
 * `<tenant>-datastore-certificate`: the apiserver's etcd client certificate, CN = the tenant's etcd user, signed
 * by the DataStore's CA, with that CA beside it as ca.crt (the apiserver's --etcd-cafile).
 */
export async function buildDataStoreCertificate(
  etcdUser: string,
  dataStoreCA: CertificateAuthority,
  opts: PKIOptions,
): Promise<SecretData> {
  return { [DATASTORE_CA_KEY]: certificatePem(dataStoreCA.cert), ...(await buildLeaf(dataStoreClient(etcdUser), dataStoreCA, opts)) };
}

/** `<tenant>-sa-certificate`: the key pair that signs and verifies service-account tokens. */
export async function buildServiceAccountKeyPair(opts: PKIOptions): Promise<SecretData> {
  const key = await generateKeyPair(opts.keyAlgorithm);
  return { [SERVICE_ACCOUNT_SECRET.privateKey]: await privateKeyPem(key), [SERVICE_ACCOUNT_SECRET.publicKey]: await publicKeyPem(key) };
}
