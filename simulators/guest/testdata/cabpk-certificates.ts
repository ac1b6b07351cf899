// Fresh CA material for a CABPK control-plane init, as the kubeadm bootstrap provider would find it in a
// cluster's <cluster>-ca, -etcd, -proxy and -sa Secrets. The cluster CA object is returned too, so a test can
// issue its own admin client certificate from it.
import {
  certificatePem,
  createCertificateAuthority,
  generateKeyPair,
  privateKeyPem,
  publicKeyPem,
  type CertificateAuthority,
} from '../../../lib/pki/x509.js';
import type { ControlPlaneInit } from './cabpk-userdata.js';

const YEAR = 365 * 86_400_000;

export type ControlPlaneCertificates = Pick<ControlPlaneInit, 'ca' | 'etcdCA' | 'frontProxyCA' | 'serviceAccount'>;

export async function newControlPlaneCertificates(): Promise<{ clusterCA: CertificateAuthority; certificates: ControlPlaneCertificates }> {
  const [ca, etcdCA, frontProxyCA, sa] = await Promise.all([
    createCertificateAuthority('kubernetes', YEAR),
    createCertificateAuthority('etcd-ca', YEAR),
    createCertificateAuthority('front-proxy-ca', YEAR),
    generateKeyPair(),
  ]);
  const pair = async (c: CertificateAuthority) => ({ cert: certificatePem(c.cert), key: await privateKeyPem(c.key) });
  return {
    clusterCA: ca,
    certificates: {
      ca: await pair(ca),
      etcdCA: await pair(etcdCA),
      frontProxyCA: await pair(frontProxyCA),
      serviceAccount: { pub: await publicKeyPem(sa), key: await privateKeyPem(sa) },
    },
  };
}
