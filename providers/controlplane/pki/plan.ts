// Deciding which certificate Secrets of a tenant must be (re)written: each stored Secret is checked against what
// is wanted now (CA in force, SANs, subject, lifetime), kept when good and rebuilt otherwise. A CA that is rebuilt
// makes every leaf it signed fail its check, so exactly the dependent Secrets follow. Pure: the caller reads the
// Secrets, calls this, and writes `secrets[name]` for each `changed` name (a steady tenant changes nothing).
import { certificatePem, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { checkCA, checkLeaf, checkServiceAccountKeyPair, type CheckOptions } from './check.js';
import { buildClusterCA, buildDataStoreCertificate, buildFrontProxyCA, buildLeaf, buildServiceAccountKeyPair, loadCA, type SecretData } from './issue.js';
import type { PKIOptions } from './options.js';
import { API_SERVER, API_SERVER_KUBELET_CLIENT, dataStoreClient, FRONT_PROXY_CLIENT, KONNECTIVITY, type LeafProfile } from './profiles.js';
import { chainFor } from './ca-rotation.js';
import { splitCertificates } from './rotation.js';
import { CA_ROTATION_KEYS, CA_SECRET, DATASTORE_CA_KEY, FRONT_PROXY_CA_SECRET, SERVICE_ACCOUNT_SECRET } from './secrets.js';

/** The certificates after the leaf in a stored certificate PEM. */
const chainOf = (pem: string | undefined) => splitCertificates(pem ?? '').slice(1).join('');

export interface CertificatePlanInput {
  /** The serving certificate's SANs (apiServerSANs). */
  apiServerSANs: string[];
  /** The etcd user: CN of the datastore client certificate. */
  etcdUser: string;
  /** The DataStore's CA (certificate and key) when its driver needs a client certificate (etcd). */
  dataStoreCA?: CertificateAuthority;
  konnectivity: boolean;
  options: PKIOptions;
  now: Date;
  /** Leaf Secrets (by suffix) to reissue although their checks pass, with the reason (see rotation.ts). */
  force?: Record<string, string>;
}

/** Desired data by Secret name suffix (`<tenant>-<suffix>`), and the reason for each Secret that must be written. */
export interface CertificatePlan {
  secrets: Record<string, SecretData>;
  changed: Record<string, string>;
  /** The CAs in force, for the kubeconfig plan and the caller's checksums. */
  clusterCA: CertificateAuthority;
  /** What clients must trust for the cluster CA: `ca.crt`, the signing CA alone or, in a CA rotation, the bundle. */
  clusterTrust: string;
  frontProxyCA: CertificateAuthority;
}

export async function planCertificates(existing: Record<string, SecretData | undefined>, input: CertificatePlanInput): Promise<CertificatePlan> {
  const { options } = input;
  const check: CheckOptions = { now: input.now, rotationThreshold: options.rotationThreshold };
  const secrets: Record<string, SecretData> = {};
  const changed: Record<string, string> = {};
  const keep = async (suffix: string, problem: string | undefined, build: () => Promise<SecretData>): Promise<SecretData> => {
    const current = existing[suffix];
    const forced = input.force?.[suffix];
    if (current && problem === undefined && forced === undefined) return (secrets[suffix] = current);
    changed[suffix] = current ? (problem ?? forced ?? 'missing') : 'missing';
    return (secrets[suffix] = await build());
  };

  const caData = await keep(CA_SECRET.suffix, checkCA(existing[CA_SECRET.suffix], CA_SECRET, check), () => buildClusterCA(options));
  const clusterCA = await loadCA(caData, CA_SECRET);
  const fpData = await keep(FRONT_PROXY_CA_SECRET.suffix, checkCA(existing[FRONT_PROXY_CA_SECRET.suffix], FRONT_PROXY_CA_SECRET, check), () =>
    buildFrontProxyCA(options),
  );
  const frontProxyCA = await loadCA(fpData, FRONT_PROXY_CA_SECRET);
  await keep(SERVICE_ACCOUNT_SECRET.suffix, checkServiceAccountKeyPair(existing[SERVICE_ACCOUNT_SECRET.suffix]), () => buildServiceAccountKeyPair(options));

  const leaf = (profile: LeafProfile, issuer: CertificateAuthority, sans: string[] = [], chain = '') => {
    const stored = existing[profile.layout.suffix];
    const problem =
      checkLeaf(stored, profile, certificatePem(issuer.cert), { ...check, sans }) ??
      (chainOf(stored?.[profile.layout.certKey]) === chain ? undefined : `${profile.layout.certKey} does not carry the CA's cross-signed certificates`);
    return keep(profile.layout.suffix, problem, async () => {
      const built = await buildLeaf(profile, issuer, options, sans);
      return { ...built, [profile.layout.certKey]: (built[profile.layout.certKey] ?? '') + chain };
    });
  };
  // The two certificates a kubelet verifies with the CA it got at join (the apiserver serving it, and calling
  // it) carry the bridges, so a node that trusts only an older CA keeps accepting them (see ca-rotation.ts).
  const bridges = chainFor(certificatePem(clusterCA.cert), caData[CA_ROTATION_KEYS.bridges]);
  await leaf(API_SERVER, clusterCA, input.apiServerSANs, bridges);
  await leaf(API_SERVER_KUBELET_CLIENT, clusterCA, [], bridges);
  await leaf(FRONT_PROXY_CLIENT, frontProxyCA);
  if (input.konnectivity) await leaf(KONNECTIVITY, clusterCA);

  if (input.dataStoreCA) {
    const dsCA = input.dataStoreCA;
    const profile = dataStoreClient(input.etcdUser);
    const stored = existing[profile.layout.suffix];
    const dsPem = certificatePem(dsCA.cert);
    const problem =
      checkLeaf(stored, profile, dsPem, check) ?? (stored?.[DATASTORE_CA_KEY]?.trim() === dsPem.trim() ? undefined : `${DATASTORE_CA_KEY} is not the DataStore CA in force`);
    await keep(profile.layout.suffix, problem, () => buildDataStoreCertificate(input.etcdUser, dsCA, options));
  }
  return { secrets, changed, clusterCA, clusterTrust: caData[CA_SECRET.certKey] ?? certificatePem(clusterCA.cert), frontProxyCA };
}
