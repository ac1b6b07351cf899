// The certificates and keys one management plane needs: cluster CA (also the kubelet/CSR signer), front-proxy
// CA for aggregator routing, service-account signing keys, and serving/client certificates, written as files
// the upstream binaries take as flags.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  certificatePem,
  createCertificateAuthority,
  generateKeyPair,
  issueCertificate,
  privateKeyPem,
  publicKeyPem,
  type CertificateAuthority,
  type CertificateRequest,
} from '../lib/pki/x509.js';

const YEAR = 365 * 86_400_000;

export interface PlanePKI {
  dir: string;
  ca: CertificateAuthority;
  caCert: string;
  caKey: string;
  frontProxyCACert: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** Issues a certificate from the cluster CA and writes `<name>.crt` / `<name>.key`. */
  issue(name: string, req: Omit<CertificateRequest, 'validFor'>): Promise<{ cert: string; key: string; certPem: string; keyPem: string }>;
}

async function writePair(dir: string, name: string, certPem: string, keyPem: string) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await writeFile(cert, certPem);
  await writeFile(key, keyPem, { mode: 0o600 });
  return { cert, key };
}

export async function createPlanePKI(dir: string): Promise<PlanePKI> {
  await mkdir(dir, { recursive: true });
  const [ca, frontProxyCA, saKey] = await Promise.all([
    createCertificateAuthority('kvcloud-harness-ca', YEAR),
    createCertificateAuthority('kvcloud-harness-front-proxy-ca', YEAR),
    generateKeyPair(),
  ]);
  const caFiles = await writePair(dir, 'ca', certificatePem(ca.cert), await privateKeyPem(ca.key));
  const fpFiles = await writePair(dir, 'front-proxy-ca', certificatePem(frontProxyCA.cert), await privateKeyPem(frontProxyCA.key));
  const saFiles = { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') };
  await writeFile(saFiles.key, await privateKeyPem(saKey), { mode: 0o600 });
  await writeFile(saFiles.pub, await publicKeyPem(saKey));

  const proxyClient = await issueCertificate(frontProxyCA, { commonName: 'front-proxy-client', usage: 'client', validFor: YEAR });
  await writePair(dir, 'front-proxy-client', certificatePem(proxyClient.cert), await privateKeyPem(proxyClient.key));

  return {
    dir,
    ca,
    caCert: caFiles.cert,
    caKey: caFiles.key,
    frontProxyCACert: fpFiles.cert,
    serviceAccountKey: saFiles.key,
    serviceAccountPub: saFiles.pub,
    async issue(name, req) {
      const { cert, key } = await issueCertificate(ca, { ...req, validFor: YEAR });
      const certPem = certificatePem(cert);
      const keyPem = await privateKeyPem(key);
      return { ...(await writePair(dir, name, certPem, keyPem)), certPem, keyPem };
    },
  };
}
