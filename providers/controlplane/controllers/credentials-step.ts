// The tenant's certificates and kubeconfigs in Secrets: the pki/ and kubeconfig/ planners decide from what is
// stored which Secrets must be (re)written (missing, wrong CA or SANs, expiring); this step reads the Secrets,
// writes exactly those, and hands the deployment their names and one checksum over everything the pod mounts,
// so a rotation rolls the pods and a steady tenant writes nothing.
import { createHash } from 'node:crypto';
import { setControllerReference } from '../../../lib/controller/owner-references.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { loadCertificateAuthority } from '../../../lib/pki/pem.js';
import { certificatePem } from '../../../lib/pki/x509.js';
import { CHECKSUM_ANNOTATION, dataStoreUsernameOf, type TenantControlPlane } from '../api/index.js';
import type { DataStoreCredentials } from '../datastore/credentials.js';
import {
  ADMIN_KUBECONFIG_SECRET,
  CONTROLLER_MANAGER_KUBECONFIG_SECRET,
  KONNECTIVITY_KUBECONFIG_SECRET,
  planKubeconfigs,
  SCHEDULER_KUBECONFIG_SECRET,
} from '../kubeconfig/index.js';
import {
  API_SERVER_KUBELET_CLIENT_SECRET,
  API_SERVER_SECRET,
  apiServerIdentityOf,
  apiServerSANs,
  CA_SECRET,
  DATASTORE_SECRET,
  DEFAULT_PKI_OPTIONS,
  FRONT_PROXY_CA_SECRET,
  FRONT_PROXY_CLIENT_SECRET,
  KONNECTIVITY_SECRET,
  planCertificates,
  SERVICE_ACCOUNT_SECRET,
  type PKIOptions,
  type SecretData,
} from '../pki/index.js';
import type { ControlPlaneSecrets } from '../workload/deployment.js';
import { selectorLabels } from '../workload/names.js';
import { apiServerPort } from '../workload/network.js';

export interface ControlPlaneCredentials {
  secrets: ControlPlaneSecrets;
  /** Of every Secret the pod mounts. */
  checksum: string;
  caCertPem: string;
  /** The kubeconfig the operator itself uses inside the tenant (system:masters: works before any RBAC exists). */
  adminKubeconfig: string;
  adminKubeconfigSecret: string;
  adminKubeconfigKey: string;
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const SECRET = { apiVersion: 'v1', kind: 'Secret' };

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
const decode = (s: Secret | undefined): SecretData | undefined =>
  s?.data ? Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : undefined;

const SUFFIXES = [
  CA_SECRET.suffix,
  FRONT_PROXY_CA_SECRET.suffix,
  SERVICE_ACCOUNT_SECRET.suffix,
  API_SERVER_SECRET.suffix,
  API_SERVER_KUBELET_CLIENT_SECRET.suffix,
  FRONT_PROXY_CLIENT_SECRET.suffix,
  KONNECTIVITY_SECRET.suffix,
  DATASTORE_SECRET.suffix,
  ADMIN_KUBECONFIG_SECRET.suffix,
  CONTROLLER_MANAGER_KUBECONFIG_SECRET.suffix,
  SCHEDULER_KUBECONFIG_SECRET.suffix,
  KONNECTIVITY_KUBECONFIG_SECRET.suffix,
];

async function readSecrets(client: Client, tcp: TenantControlPlane, direct: boolean): Promise<Record<string, SecretData | undefined>> {
  const name = tcp.metadata.name ?? '';
  const entries = await Promise.all(
    SUFFIXES.map(async (suffix) => {
      const s = await client.get<Secret>(SECRET, { namespace: tcp.metadata.namespace, name: `${name}-${suffix}` }, { direct });
      return [suffix, decode(s)] as const;
    }),
  );
  return Object.fromEntries(entries);
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
  options: PKIOptions = DEFAULT_PKI_OPTIONS,
): Promise<ControlPlaneCredentials | undefined> {
  if (!ds.caKey) return undefined;
  const name = tcp.metadata.name ?? '';
  const namespace = tcp.metadata.namespace ?? '';
  const konnectivity = tcp.spec.addons?.konnectivity !== undefined;
  const dataStoreCA = await loadCertificateAuthority(ds.caCert.toString(), ds.caKey.toString());

  const plan = async (existing: Record<string, SecretData | undefined>) => {
    const now = new Date();
    const certs = await planCertificates(existing, {
      apiServerSANs: apiServerSANs(apiServerIdentityOf(tcp, [endpoint.host])),
      etcdUser: dataStoreUsernameOf(tcp),
      dataStoreCA,
      konnectivity,
      options,
      now,
    });
    const konnectivityCertificate = konnectivity ? certs.secrets[KONNECTIVITY_SECRET.suffix] : undefined;
    const kubeconfigs = await planKubeconfigs(existing, {
      target: { tenant: name, namespace, port: apiServerPort(tcp.spec.networkProfile), endpointHost: endpoint.host, endpointPort: endpoint.port },
      ca: certs.clusterCA,
      ...(konnectivityCertificate ? { konnectivityCertificate } : {}),
      options,
      now,
    });
    return { certs, secrets: { ...certs.secrets, ...kubeconfigs.secrets }, changed: { ...certs.changed, ...kubeconfigs.changed } };
  };

  let result = await plan(await readSecrets(client, tcp, false));
  // The cache may not have seen our own last writes yet: only the apiserver's answer may trigger a re-issue, or
  // a quick second reconcile would replace certificates it has just issued.
  if (Object.keys(result.changed).length > 0) result = await plan(await readSecrets(client, tcp, true));

  for (const [suffix, reason] of Object.entries(result.changed)) {
    const data = result.secrets[suffix] ?? {};
    const secret: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: `${name}-${suffix}`, namespace, labels: selectorLabels(name), annotations: { [CHECKSUM_ANNOTATION]: hash(data) } },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    };
    setControllerReference(secret, tcp);
    await client.apply(secret);
    ctx.events.normal(reason === 'missing' ? 'SecretCreated' : 'SecretRenewed', 'IssueCredentials', `Secret ${name}-${suffix}: ${reason}`);
  }

  const secretOf = (suffix: string) => `${name}-${suffix}`;
  const secrets: ControlPlaneSecrets = {
    ca: secretOf(CA_SECRET.suffix),
    apiServer: secretOf(API_SERVER_SECRET.suffix),
    apiServerKubeletClient: secretOf(API_SERVER_KUBELET_CLIENT_SECRET.suffix),
    frontProxyCA: secretOf(FRONT_PROXY_CA_SECRET.suffix),
    frontProxyClient: secretOf(FRONT_PROXY_CLIENT_SECRET.suffix),
    serviceAccount: secretOf(SERVICE_ACCOUNT_SECRET.suffix),
    dataStoreCertificate: secretOf(DATASTORE_SECRET.suffix),
    controllerManagerKubeconfig: secretOf(CONTROLLER_MANAGER_KUBECONFIG_SECRET.suffix),
    schedulerKubeconfig: secretOf(SCHEDULER_KUBECONFIG_SECRET.suffix),
    ...(konnectivity ? { konnectivityKubeconfig: secretOf(KONNECTIVITY_KUBECONFIG_SECRET.suffix) } : {}),
  };
  const mounted = [
    CA_SECRET,
    API_SERVER_SECRET,
    API_SERVER_KUBELET_CLIENT_SECRET,
    FRONT_PROXY_CA_SECRET,
    FRONT_PROXY_CLIENT_SECRET,
    SERVICE_ACCOUNT_SECRET,
    DATASTORE_SECRET,
    CONTROLLER_MANAGER_KUBECONFIG_SECRET,
    SCHEDULER_KUBECONFIG_SECRET,
    ...(konnectivity ? [KONNECTIVITY_KUBECONFIG_SECRET] : []),
  ].map((l) => l.suffix);
  const status = (suffix: string) => ({ secretName: secretOf(suffix), checksum: hash(result.secrets[suffix] ?? {}) });
  tcp.status = {
    ...tcp.status,
    certificates: {
      ...tcp.status?.certificates,
      ca: status(CA_SECRET.suffix),
      apiServer: status(API_SERVER_SECRET.suffix),
      apiServerKubeletClient: status(API_SERVER_KUBELET_CLIENT_SECRET.suffix),
      frontProxyCA: status(FRONT_PROXY_CA_SECRET.suffix),
      frontProxyClient: status(FRONT_PROXY_CLIENT_SECRET.suffix),
      sa: status(SERVICE_ACCOUNT_SECRET.suffix),
    },
    storage: { ...tcp.status?.storage, certificate: status(DATASTORE_SECRET.suffix) },
    kubeconfig: {
      admin: status(ADMIN_KUBECONFIG_SECRET.suffix),
      controllerManager: status(CONTROLLER_MANAGER_KUBECONFIG_SECRET.suffix),
      scheduler: status(SCHEDULER_KUBECONFIG_SECRET.suffix),
    },
  };
  return {
    secrets,
    checksum: hash(mounted.map((suffix) => [suffix, result.secrets[suffix]])),
    caCertPem: certificatePem(result.certs.clusterCA.cert),
    adminKubeconfig: result.secrets[ADMIN_KUBECONFIG_SECRET.suffix]?.[ADMIN_KUBECONFIG_SECRET.superAdmin] ?? '',
    adminKubeconfigSecret: secretOf(ADMIN_KUBECONFIG_SECRET.suffix),
    adminKubeconfigKey: ADMIN_KUBECONFIG_SECRET.superAdmin,
  };
}
