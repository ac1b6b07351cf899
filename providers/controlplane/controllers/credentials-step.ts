// The tenant's certificates and kubeconfigs in Secrets with Kamaji's names and kubeadm's file names. Each Secret
// carries a checksum of what it was made from (its CA, subject, SANs, endpoint); it is (re)issued only when that
// changes, when a key is missing, or when its certificate nears expiry, so a steady tenant writes nothing and a
// new CA or endpoint re-issues exactly what depends on it. The checksum of all mounted Secrets rolls the pods.
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it, whichever module imports it first.
import 'reflect-metadata';
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';
import { setControllerReference } from '../../../lib/controller/owner-references.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import {
  certificatePem,
  createCertificateAuthority,
  generateKeyPair,
  issueCertificate,
  privateKeyPem,
  publicKeyPem,
  type CertificateAuthority,
  type CertificateRequest,
  type KeyAlgorithm,
  type KeyPair,
} from '../../../lib/pki/x509.js';
import { CHECKSUM_ANNOTATION, dataStoreUsernameOf, type TenantControlPlane } from '../api/index.js';
import type { DataStoreCredentials } from '../datastore/credentials.js';
import type { ControlPlaneSecrets } from '../workload/deployment.js';
import { ADMIN_CONF, CONTROLLER_MANAGER_CONF, KONNECTIVITY_CONF, SCHEDULER_CONF, SUPER_ADMIN_CONF, selectorLabels } from '../workload/names.js';
import { clusterDomain, kubernetesServiceIP } from '../workload/network.js';
import { API_SERVER_CONTAINER_PORT } from '../workload/service.js';

export interface ControlPlaneCredentials {
  secrets: ControlPlaneSecrets;
  /** Of every Secret the pod mounts. */
  checksum: string;
  caCertPem: string;
  adminKubeconfig: string;
  adminKubeconfigSecret: string;
  /** The key of the admin Secret the operator itself uses (system:masters, so it works before any RBAC exists). */
  adminKubeconfigKey: string;
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const SECRET = { apiVersion: 'v1', kind: 'Secret' };
const DAY = 86_400_000;
const CA_LIFETIME = 3650 * DAY;
const LEAF_LIFETIME = 365 * DAY;
/** Re-issue leaves with less than this left, as kubeadm's `certs renew` would be run. */
const RENEW_BEFORE = 30 * DAY;
const ALGORITHM: KeyAlgorithm = 'ECDSA-P256';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');
const hash = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 32);
};

/** A CA from PEM (ECDSA P-256 or RSA), for signing with a CA that already exists. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const key = createPrivateKey(keyPem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const cert = new x509.X509Certificate(certPem);
  const rsa = key.asymmetricKeyType === 'rsa';
  const params = rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: 'P-256' };
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, params, true, ['sign']);
  const publicKey = await cert.publicKey.export(params, ['verify']);
  const bits = rsa ? ((key.asymmetricKeyDetails?.modulusLength ?? 2048) >= 4096 ? 'RSA-4096' : 'RSA-2048') : 'ECDSA-P256';
  const pair: KeyPair = { algorithm: bits, keys: { privateKey, publicKey } };
  return { cert, key: pair };
}

function expiresSoon(certPem: string): boolean {
  try {
    return new x509.X509Certificate(certPem).notAfter.getTime() - Date.now() < RENEW_BEFORE;
  } catch {
    return true;
  }
}

function kubeconfig(cluster: string, server: string, caPem: string, user: string, certPem: string, keyPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    contexts: [{ name: `${user}@${cluster}`, context: { cluster, user } }],
    'current-context': `${user}@${cluster}`,
    users: [{ name: user, user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
    preferences: {},
  });
}

class SecretWriter {
  constructor(
    private readonly client: Client,
    private readonly tcp: TenantControlPlane,
    private readonly ctx: ReconcileContext,
  ) {}

  /**
   * Returns the Secret named `name`, regenerating its data when the stored checksum is not `inputs` or any of
   * `certKeys` (certificates, checked for expiry) is missing or expiring.
   */
  async ensure(name: string, inputs: string, certKeys: string[], generate: () => Promise<Record<string, string>>): Promise<Secret> {
    const ref = { namespace: this.tcp.metadata.namespace, name };
    const isCurrent = (s: Secret | undefined): boolean =>
      s?.metadata.annotations?.[CHECKSUM_ANNOTATION] === inputs && certKeys.every((k) => s.data?.[k] && !expiresSoon(unb64(s.data[k])));
    const cached = await this.client.get<Secret>(SECRET, ref);
    if (cached && isCurrent(cached)) return cached;
    // The cache may not have seen our own last write yet: only the apiserver's answer may trigger a re-issue,
    // or a fast second reconcile would replace certificates it just issued.
    const live = await this.client.get<Secret>(SECRET, ref, { direct: true });
    if (live && isCurrent(live)) return live;
    const data = await generate();
    const secret: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: this.tcp.metadata.namespace,
        labels: selectorLabels(this.tcp.metadata.name ?? ''),
        annotations: { [CHECKSUM_ANNOTATION]: inputs },
      },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    };
    setControllerReference(secret, this.tcp);
    const written = await this.client.apply(secret);
    this.ctx.events.normal(live ? 'SecretRenewed' : 'SecretCreated', 'IssueCredentials', `Secret ${name}`);
    return written;
  }
}

/**
 * Ensures every certificate and kubeconfig Secret; undefined when the DataStore gives no CA key to sign the
 * tenant's datastore client certificate with.
 */
export async function ensureCredentials(
  client: Client,
  tcp: TenantControlPlane,
  endpoint: { host: string; port: number },
  ds: DataStoreCredentials,
  ctx: ReconcileContext,
): Promise<ControlPlaneCredentials | undefined> {
  if (!ds.caKey) return undefined;
  const name = tcp.metadata.name ?? '';
  const ns = tcp.metadata.namespace ?? '';
  const w = new SecretWriter(client, tcp, ctx);
  const np = tcp.spec.networkProfile;
  const domain = clusterDomain(np);
  const names: ControlPlaneSecrets = {
    ca: `${name}-ca`,
    apiServer: `${name}-api-server-certificate`,
    apiServerKubeletClient: `${name}-api-server-kubelet-client-certificate`,
    frontProxyCA: `${name}-front-proxy-ca-certificate`,
    frontProxyClient: `${name}-front-proxy-client-certificate`,
    serviceAccount: `${name}-sa-certificate`,
    dataStoreCertificate: `${name}-datastore-certificate`,
    controllerManagerKubeconfig: `${name}-controller-manager-kubeconfig`,
    schedulerKubeconfig: `${name}-scheduler-kubeconfig`,
    ...(tcp.spec.addons?.konnectivity ? { konnectivityKubeconfig: `${name}-konnectivity-kubeconfig` } : {}),
  };
  const admin = `${name}-admin-kubeconfig`;

  // Certificate authorities: created once, kept while present.
  const caSecret = await w.ensure(names.ca, 'ca', ['ca.crt'], async () => {
    const ca = await createCertificateAuthority('kubernetes', CA_LIFETIME, ALGORITHM);
    return { 'ca.crt': certificatePem(ca.cert), 'ca.key': await privateKeyPem(ca.key) };
  });
  const fpSecret = await w.ensure(names.frontProxyCA, 'front-proxy-ca', ['front-proxy-ca.crt'], async () => {
    const ca = await createCertificateAuthority('front-proxy-ca', CA_LIFETIME, ALGORITHM);
    return { 'front-proxy-ca.crt': certificatePem(ca.cert), 'front-proxy-ca.key': await privateKeyPem(ca.key) };
  });
  const caPem = unb64(caSecret.data?.['ca.crt']);
  const fpPem = unb64(fpSecret.data?.['front-proxy-ca.crt']);
  const ca = await loadCertificateAuthority(caPem, unb64(caSecret.data?.['ca.key']));
  const frontProxyCA = await loadCertificateAuthority(fpPem, unb64(fpSecret.data?.['front-proxy-ca.key']));

  const leaf = async (signer: CertificateAuthority, base: string, req: Omit<CertificateRequest, 'validFor'>): Promise<Record<string, string>> => {
    const { cert, key } = await issueCertificate(signer, { ...req, validFor: LEAF_LIFETIME }, ALGORITHM);
    return { [`${base}.crt`]: certificatePem(cert), [`${base}.key`]: await privateKeyPem(key) };
  };

  const sans = [
    ...new Set([
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      `kubernetes.default.svc.${domain}`,
      name,
      `${name}.${ns}`,
      `${name}.${ns}.svc`,
      `${name}.${ns}.svc.${domain}`,
      'localhost',
      '127.0.0.1',
      kubernetesServiceIP(np),
      endpoint.host,
      ...(np?.advertiseAddress ? [np.advertiseAddress] : []),
      ...(np?.certSANs ?? []),
    ]),
  ];
  const apiServer = await w.ensure(names.apiServer, hash(caPem, ...sans), ['apiserver.crt'], () =>
    leaf(ca, 'apiserver', { commonName: 'kube-apiserver', altNames: sans, usage: 'server' }),
  );
  const kubeletClient = await w.ensure(names.apiServerKubeletClient, hash(caPem, 'kubelet-client'), ['apiserver-kubelet-client.crt'], () =>
    leaf(ca, 'apiserver-kubelet-client', { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubeadm:cluster-admins'], usage: 'client' }),
  );
  const frontProxyClient = await w.ensure(names.frontProxyClient, hash(fpPem, 'front-proxy-client'), ['front-proxy-client.crt'], () =>
    leaf(frontProxyCA, 'front-proxy-client', { commonName: 'front-proxy-client', usage: 'client' }),
  );
  const sa = await w.ensure(names.serviceAccount, 'sa', [], async () => {
    const key = await generateKeyPair(ALGORITHM);
    return { 'sa.pub': await publicKeyPem(key), 'sa.key': await privateKeyPem(key) };
  });
  const mounted: Secret[] = [caSecret, fpSecret, apiServer, kubeletClient, frontProxyClient, sa];

  // The apiserver's etcd client certificate: CN is the tenant's etcd user, signed by the DataStore's CA.
  const dsCAPem = ds.caCert.toString();
  const user = dataStoreUsernameOf(tcp);
  const dsSecret = await w.ensure(names.dataStoreCertificate, hash(dsCAPem, user), ['server.crt'], async () => {
    const dsCA = await loadCertificateAuthority(dsCAPem, ds.caKey?.toString() ?? '');
    const { cert, key } = await issueCertificate(dsCA, { commonName: user, usage: 'client', validFor: LEAF_LIFETIME }, ALGORITHM);
    return { 'ca.crt': dsCAPem, 'server.crt': certificatePem(cert), 'server.key': await privateKeyPem(key) };
  });
  mounted.push(dsSecret);

  // Kubeconfigs: the components talk to their own apiserver over the pod's loopback; users to the endpoint.
  const local = `https://localhost:${API_SERVER_CONTAINER_PORT}`;
  const external = `https://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  const kc = async (server: string, cn: string, orgs: string[], file: string): Promise<Record<string, string>> => {
    const { cert, key } = await issueCertificate(ca, { commonName: cn, organizations: orgs, usage: 'client', validFor: LEAF_LIFETIME }, ALGORITHM);
    return { [file]: kubeconfig(name, server, caPem, cn, certificatePem(cert), await privateKeyPem(key)) };
  };
  const cm = await w.ensure(names.controllerManagerKubeconfig, hash(caPem, local, 'kcm'), [], () => kc(local, 'system:kube-controller-manager', [], CONTROLLER_MANAGER_CONF));
  const sched = await w.ensure(names.schedulerKubeconfig, hash(caPem, local, 'scheduler'), [], () => kc(local, 'system:kube-scheduler', [], SCHEDULER_CONF));
  mounted.push(cm, sched);
  if (names.konnectivityKubeconfig) {
    mounted.push(
      await w.ensure(names.konnectivityKubeconfig, hash(caPem, local, 'konnectivity'), [], () => kc(local, 'system:konnectivity-server', [], KONNECTIVITY_CONF)),
    );
  }
  const adminSecret = await w.ensure(admin, hash(caPem, external, 'admin'), [], async () => ({
    ...(await kc(external, 'kubernetes-admin', ['kubeadm:cluster-admins'], ADMIN_CONF)),
    ...(await kc(external, 'kubernetes-super-admin', ['system:masters'], SUPER_ADMIN_CONF)),
  }));

  const checksumOf = (s: Secret): string => s.metadata.annotations?.[CHECKSUM_ANNOTATION] ?? '';
  const status = (s: Secret) => ({ secretName: s.metadata.name, checksum: hash(JSON.stringify(s.data ?? {})) });
  tcp.status = {
    ...tcp.status,
    certificates: {
      ...tcp.status?.certificates,
      ca: status(caSecret),
      frontProxyCA: status(fpSecret),
      apiServer: status(apiServer),
      apiServerKubeletClient: status(kubeletClient),
      frontProxyClient: status(frontProxyClient),
      sa: status(sa),
    },
    storage: { ...tcp.status?.storage, certificate: status(dsSecret) },
    kubeconfig: { admin: status(adminSecret), controllerManager: status(cm), scheduler: status(sched) },
  };
  return {
    secrets: names,
    checksum: hash(...mounted.map((s) => `${s.metadata.name ?? ''}=${checksumOf(s)}:${hash(JSON.stringify(s.data ?? {}))}`)),
    caCertPem: caPem,
    adminKubeconfig: unb64(adminSecret.data?.[SUPER_ADMIN_CONF]),
    adminKubeconfigSecret: admin,
    adminKubeconfigKey: SUPER_ADMIN_CONF,
  };
}
