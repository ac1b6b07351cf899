// Pure builders of the kubeconfig Secrets' data: each component gets its own client certificate from the cluster
// CA with kubeadm's identity, and the server it should use (the public endpoint for admins, loopback for the
// components sharing the apiserver's pod, the Service DNS name for in-management-cluster agents).
import { X509Certificate } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { certificatePem, issueCertificate, privateKeyPem, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { KONNECTIVITY, needsRotation, type PKIOptions, type SecretData } from '../pki/index.js';
import { parseKubeconfig, renderKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import {
  ADMIN_KUBECONFIG_SECRET,
  CLUSTER_NAME,
  CONTROLLER_MANAGER_KUBECONFIG_SECRET,
  KONNECTIVITY_KUBECONFIG_SECRET,
  SCHEDULER_KUBECONFIG_SECRET,
} from './secrets.js';

export interface Identity {
  readonly commonName: string;
  readonly organizations: readonly string[];
}

/** kubeadm v1.29+: admin.conf is in kubeadm:cluster-admins, bound to cluster-admin by a ClusterRoleBinding. */
export const CLUSTER_ADMINS_GROUP = 'kubeadm:cluster-admins';
export const ADMIN: Identity = { commonName: 'kubernetes-admin', organizations: [CLUSTER_ADMINS_GROUP] };
/** Bypasses RBAC (system:masters): used to create the cluster-admins binding and for break-glass access. */
export const SUPER_ADMIN: Identity = { commonName: 'kubernetes-super-admin', organizations: ['system:masters'] };
export const CONTROLLER_MANAGER: Identity = { commonName: 'system:kube-controller-manager', organizations: [] };
export const SCHEDULER: Identity = { commonName: 'system:kube-scheduler', organizations: [] };

export interface KubeconfigTarget {
  tenant: string;
  namespace: string;
  /** The apiserver's port inside its pod and on its Service (networkProfile.port). */
  port: number;
  /** Host of the public endpoint (status.controlPlaneEndpoint without the port): IP or DNS name. */
  endpointHost: string;
  endpointPort: number;
}

export function serverURL(host: string, port: number): string {
  return `https://${isIPv6(host) ? `[${host}]` : host}:${String(port)}`;
}

export const publicServer = (t: KubeconfigTarget) => serverURL(t.endpointHost, t.endpointPort);
export const inClusterServer = (t: KubeconfigTarget) => serverURL(`${t.tenant}.${t.namespace}.svc`, t.port);
/** kube-controller-manager and kube-scheduler share the apiserver's pod: loopback needs no Service and no DNS. */
export const loopbackServer = (t: KubeconfigTarget) => serverURL('127.0.0.1', t.port);

/** `trustPem`: the CA bundle clients should trust, when it is more than the signing CA (during a CA rotation). */
async function clientKubeconfigs(ca: CertificateAuthority, identity: Identity, servers: string[], opts: PKIOptions, trustPem?: string): Promise<string[]> {
  const { cert, key } = await issueCertificate(
    ca,
    { commonName: identity.commonName, organizations: [...identity.organizations], usage: 'client', validFor: opts.certificateValidity },
    opts.keyAlgorithm,
  );
  const base = { clusterName: CLUSTER_NAME, caPem: trustPem ?? certificatePem(ca.cert), user: identity.commonName, certPem: certificatePem(cert), keyPem: await privateKeyPem(key) };
  return servers.map((server) => renderKubeconfig({ ...base, server }));
}

/** `<tenant>-admin-kubeconfig`: admin.conf / super-admin.conf on the public endpoint, and their `.svc` variants. */
export async function buildAdminKubeconfigs(target: KubeconfigTarget, ca: CertificateAuthority, opts: PKIOptions, trustPem?: string): Promise<SecretData> {
  const servers = [publicServer(target), inClusterServer(target)];
  const [[admin, adminSvc], [superAdmin, superAdminSvc]] = await Promise.all([
    clientKubeconfigs(ca, ADMIN, servers, opts, trustPem),
    clientKubeconfigs(ca, SUPER_ADMIN, servers, opts, trustPem),
  ]);
  const k = ADMIN_KUBECONFIG_SECRET;
  return { [k.admin]: admin ?? '', [k.adminInCluster]: adminSvc ?? '', [k.superAdmin]: superAdmin ?? '', [k.superAdminInCluster]: superAdminSvc ?? '' };
}

/** `<tenant>-controller-manager-kubeconfig`. */
export async function buildControllerManagerKubeconfig(target: KubeconfigTarget, ca: CertificateAuthority, opts: PKIOptions, trustPem?: string): Promise<SecretData> {
  const [conf = ''] = await clientKubeconfigs(ca, CONTROLLER_MANAGER, [loopbackServer(target)], opts, trustPem);
  return { [CONTROLLER_MANAGER_KUBECONFIG_SECRET.key]: conf };
}

/** `<tenant>-scheduler-kubeconfig`. */
export async function buildSchedulerKubeconfig(target: KubeconfigTarget, ca: CertificateAuthority, opts: PKIOptions, trustPem?: string): Promise<SecretData> {
  const [conf = ''] = await clientKubeconfigs(ca, SCHEDULER, [loopbackServer(target)], opts, trustPem);
  return { [SCHEDULER_KUBECONFIG_SECRET.key]: conf };
}

/**
 * `<tenant>-konnectivity-kubeconfig`: konnectivity-server (a sidecar of the apiserver) with the certificate from
 * `<tenant>-konnectivity-certificate`, as Kamaji builds it, so rotating that Secret rotates this one.
 */
export function buildKonnectivityKubeconfig(target: KubeconfigTarget, caPem: string, konnectivityCertificate: SecretData): SecretData {
  const certPem = konnectivityCertificate[KONNECTIVITY.layout.certKey];
  const keyPem = konnectivityCertificate[KONNECTIVITY.layout.keyKey];
  if (!certPem || !keyPem) throw new Error('the konnectivity certificate Secret data lacks tls.crt or tls.key');
  const conf = renderKubeconfig({ clusterName: CLUSTER_NAME, server: loopbackServer(target), caPem, user: KONNECTIVITY.commonName, certPem, keyPem });
  return { [KONNECTIVITY_KUBECONFIG_SECRET.key]: conf };
}

export interface KubeconfigCheck {
  server: string;
  /** What the kubeconfig must trust; its first certificate is the CA that must have signed the client certificate. */
  caPem: string;
  identity: Identity;
  now: Date;
  rotationThreshold: number;
}

/** Whether a stored kubeconfig can stay: same server and CA, client certificate of the identity, not expiring. */
export function checkKubeconfig(text: string | undefined, want: KubeconfigCheck): string | undefined {
  if (!text) return 'the kubeconfig is missing';
  let parsed;
  try {
    parsed = parseKubeconfig(text);
  } catch (err) {
    return `the kubeconfig cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (parsed.server !== want.server) return `the kubeconfig points at ${parsed.server}, want ${want.server}`;
  if (parsed.caPem.trim() !== want.caPem.trim()) return 'the kubeconfig trusts other CAs than the cluster CA in force';
  const cert = new X509Certificate(parsed.certPem);
  const ca = new X509Certificate(want.caPem);
  if (!cert.verify(ca.publicKey)) return 'the kubeconfig client certificate is not signed by the cluster CA in force';
  const subject = [`CN=${want.identity.commonName}`, ...want.identity.organizations.map((o) => `O=${o}`)].join('\n');
  if (cert.subject !== subject) return `the kubeconfig client certificate is ${cert.subject.replaceAll('\n', ', ')}, want ${subject.replaceAll('\n', ', ')}`;
  if (needsRotation(cert, want.rotationThreshold, want.now)) return `the kubeconfig client certificate expires ${cert.validTo}, within the rotation threshold`;
  return undefined;
}
