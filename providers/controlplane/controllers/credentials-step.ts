// The tenant's certificates and kubeconfigs in Secrets: the pki/ and kubeconfig/ planners decide from what is
// stored which Secrets must be (re)written (missing, wrong CA or SANs, expiring); this step reads the Secrets,
// writes exactly those, and hands the deployment their names and one checksum over everything the pod mounts,
// so a rotation rolls the pods and a steady tenant writes nothing.
import { createHash } from 'node:crypto';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { setControllerReference } from '../../../lib/controller/owner-references.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { loadCertificateAuthority } from '../../../lib/pki/pem.js';
import { markTrue } from '../../../lib/controller/conditions.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import { CHECKSUM_ANNOTATION, dataStoreUsernameOf, ROTATE_ANNOTATION, type TenantControlPlane } from '../api/index.js';
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
  DATASTORE_CA_KEY,
  DATASTORE_SECRET,
  DEFAULT_PKI_OPTIONS,
  FRONT_PROXY_CA_SECRET,
  FRONT_PROXY_CLIENT_SECRET,
  KONNECTIVITY_SECRET,
  planCertificates,
  renewalDue,
  rotationAnnotations,
  rotationRequests,
  SERVICE_ACCOUNT_SECRET,
  type Annotations,
  type PKIOptions,
  type SecretData,
} from '../pki/index.js';
import type { ControlPlaneSecrets } from '../management/deployment.js';
import { selectorLabels } from '../management/names.js';
import { apiServerPort } from '../management/network.js';

export interface ControlPlaneCredentials {
  secrets: ControlPlaneSecrets;
  /** Of every Secret the pod mounts. */
  checksum: string;
  /** What the cluster's clients trust: the cluster CA, or during a CA rotation the bundle of old and new. */
  caCertPem: string;
  /** `<tenant>-ca` as stored, for the CA rotation steps. */
  ca: { data: SecretData; annotations: Record<string, string> };
  /** The kubeconfig the operator itself uses inside the tenant (system:masters: works before any RBAC exists). */
  adminKubeconfig: string;
  adminKubeconfigSecret: string;
  adminKubeconfigKey: string;
  /** When the first leaf enters its renewal window (epoch ms): the reconciler comes back then. */
  renewAt?: number;
}

/** Set when leaf Secrets were reissued on request (the rotate annotation); its message says which and when. */
export const ROTATION_CONDITION = 'CertificatesRotated';

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

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

interface StoredSecrets {
  data: Record<string, SecretData | undefined>;
  annotations: Record<string, Annotations>;
}

async function readSecrets(client: Client, tcp: TenantControlPlane, direct: boolean): Promise<StoredSecrets> {
  const name = tcp.metadata.name ?? '';
  const entries = await Promise.all(
    SUFFIXES.map(async (suffix) => {
      const s = await client.get<Secret>(SECRET_TYPE, { namespace: tcp.metadata.namespace, name: `${name}-${suffix}` }, { direct });
      return [suffix, s] as const;
    }),
  );
  return {
    data: Object.fromEntries(entries.map(([suffix, s]) => [suffix, decode(s)])),
    annotations: Object.fromEntries(entries.map(([suffix, s]) => [suffix, s?.metadata.annotations])),
  };
}

/** Writes `<tenant>-<suffix>` (server-side apply, controlled by the tenant) with its data checksum and `annotations`. */
export async function writeSecret(client: Client, tcp: TenantControlPlane, suffix: string, data: SecretData, annotations: Record<string, string>): Promise<void> {
  const name = tcp.metadata.name ?? '';
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: `${name}-${suffix}`,
      namespace: tcp.metadata.namespace,
      labels: selectorLabels(name),
      annotations: { [CHECKSUM_ANNOTATION]: hash(data), ...annotations },
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  setControllerReference(secret, tcp);
  await client.apply(secret);
}

/** Leaf certificates: reissued on request and ahead of expiry. The CAs and the service-account keys are not leaves. */
const LEAF_CERTIFICATES: string[] = [API_SERVER_SECRET, API_SERVER_KUBELET_CLIENT_SECRET, FRONT_PROXY_CLIENT_SECRET, KONNECTIVITY_SECRET, DATASTORE_SECRET].map((l) => l.suffix);
const KUBECONFIGS: string[] = [ADMIN_KUBECONFIG_SECRET, CONTROLLER_MANAGER_KUBECONFIG_SECRET, SCHEDULER_KUBECONFIG_SECRET, KONNECTIVITY_KUBECONFIG_SECRET].map((k) => k.suffix);
const LEAVES = [...LEAF_CERTIFICATES, ...KUBECONFIGS];

/** Every client or serving certificate in a leaf Secret's data: PEM values, and the client certificate of a kubeconfig. */
function leafCertificates(suffix: string, data: SecretData | undefined): string[] {
  if (!data) return [];
  if (KUBECONFIGS.includes(suffix)) {
    return Object.values(data).flatMap((text) => {
      try {
        return [parseKubeconfig(text).certPem];
      } catch {
        return []; // an unreadable kubeconfig fails its check and is rebuilt
      }
    });
  }
  return Object.entries(data)
    .filter(([key]) => key !== DATASTORE_CA_KEY || suffix !== DATASTORE_SECRET.suffix)
    .map(([, v]) => v)
    .filter((v) => v.includes('BEGIN CERTIFICATE'));
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
  const tcpRequest = tcp.metadata.annotations?.[ROTATE_ANNOTATION];

  const plan = async (stored: StoredSecrets) => {
    const now = new Date();
    const force = rotationRequests(LEAVES, stored.annotations, tcpRequest);
    const certs = await planCertificates(stored.data, {
      apiServerSANs: apiServerSANs(apiServerIdentityOf(tcp, [endpoint.host])),
      etcdUser: dataStoreUsernameOf(tcp),
      dataStoreCA,
      konnectivity,
      options,
      now,
      force,
    });
    const konnectivityCertificate = konnectivity ? certs.secrets[KONNECTIVITY_SECRET.suffix] : undefined;
    const kubeconfigs = await planKubeconfigs(stored.data, {
      target: { tenant: name, namespace, port: apiServerPort(tcp.spec.networkProfile), endpointHost: endpoint.host, endpointPort: endpoint.port },
      ca: certs.clusterCA,
      trustPem: certs.clusterTrust,
      ...(konnectivityCertificate ? { konnectivityCertificate } : {}),
      options,
      now,
      force,
    });
    return { now, force, stored, certs, secrets: { ...certs.secrets, ...kubeconfigs.secrets }, changed: { ...certs.changed, ...kubeconfigs.changed } };
  };

  let result = await plan(await readSecrets(client, tcp, false));
  // The cache may not have seen our own last writes yet: only the apiserver's answer may trigger a re-issue, or
  // a quick second reconcile would replace certificates it has just issued.
  if (Object.keys(result.changed).length > 0) result = await plan(await readSecrets(client, tcp, true));

  const requested: string[] = [];
  for (const [suffix, reason] of Object.entries(result.changed)) {
    const data = result.secrets[suffix] ?? {};
    const leaf = LEAVES.includes(suffix);
    const onRequest = leaf && result.force[suffix] !== undefined;
    if (onRequest) requested.push(suffix);
    await writeSecret(client, tcp, suffix, data, leaf ? rotationAnnotations(onRequest, tcpRequest, result.now) : {});
    ctx.events.normal(reason === 'missing' ? 'SecretCreated' : 'SecretRenewed', 'IssueCredentials', `Secret ${name}-${suffix}: ${reason}`);
  }
  if (requested.length > 0) {
    const why = tcpRequest !== undefined ? `${ROTATE_ANNOTATION}=${JSON.stringify(tcpRequest)}` : ROTATE_ANNOTATION;
    markTrue(tcp, ROTATION_CONDITION, 'RotatedOnRequest', `${requested.length} Secrets reissued at ${result.now.toISOString()} for ${why}: ${requested.sort().join(', ')}`);
    ctx.events.normal('CertificatesRotated', 'RotateCertificates', `${requested.length} Secrets reissued for ${why}`);
  }
  const renewAt = renewalDue(
    LEAVES.flatMap((suffix) => leafCertificates(suffix, result.secrets[suffix])),
    options.rotationThreshold,
  );

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
    caCertPem: result.certs.clusterTrust,
    ca: { data: result.secrets[CA_SECRET.suffix] ?? {}, annotations: result.stored.annotations[CA_SECRET.suffix] ?? {} },
    adminKubeconfig: result.secrets[ADMIN_KUBECONFIG_SECRET.suffix]?.[ADMIN_KUBECONFIG_SECRET.superAdmin] ?? '',
    adminKubeconfigSecret: secretOf(ADMIN_KUBECONFIG_SECRET.suffix),
    adminKubeconfigKey: ADMIN_KUBECONFIG_SECRET.superAdmin,
    ...(renewAt !== undefined ? { renewAt } : {}),
  };
}
