// `<cluster>-ca` and `<cluster>-kubeconfig` for Cluster API, from the TenantControlPlane's CA Secret. Each is
// compared with what the cache holds and written only when it differs (a changed CA, a moved endpoint, a client
// certificate with less than a third of its life left), so a steady control plane writes nothing; the caller
// requeues for the next renewal, which no watch can announce.
import { isDeepStrictEqual } from 'node:util';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { setControllerReference, controllerOf } from '../../../lib/controller/owner-references.js';
import { CLUSTER_NAME_LABEL } from '../../../lib/controller/cluster-api-keys.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { loadCertificateAuthority } from '../../../lib/pki/pem.js';
import type { TenantControlPlane } from '../api/index.js';
import { KAMAJI_CONTROL_PLANE_TYPE, type KamajiControlPlane } from '../api/kamajicontrolplane.js';
import {
  buildCASecret,
  buildKubeconfigSecret,
  CA_CERT_KEY,
  CA_KEY_KEY,
  caSecretName,
  checkClusterKubeconfig,
  CLUSTER_SECRET_TYPE,
  decodeKey,
  issueClusterKubeconfig,
  KUBECONFIG_SECRET_KEY,
  kubeconfigSecretName,
  serverURL,
  signingCertificate,
  type Secret,
} from '../kamajicontrolplane/cluster-secrets.js';
import { CA_SECRET } from '../pki/index.js';

export type SecretsOutcome =
  | { ready: true; renewAt: number | undefined }
  | { ready: false; reason: 'WaitingForCertificateAuthority' | 'SecretOwnedElsewhere'; message: string };

export interface SecretsInputs {
  client: Client;
  kcp: KamajiControlPlane;
  tcp: TenantControlPlane;
  clusterName: string;
  endpoint: { host: string; port: number };
  validityMs: number;
  ctx: ReconcileContext;
  now?: Date;
}

const owner = (kcp: KamajiControlPlane): KubeObject & { metadata: object } => ({ ...kcp, ...KAMAJI_CONTROL_PLANE_TYPE });

function ownedByOther(live: KubeObject | undefined, kcp: KamajiControlPlane): boolean {
  const c = live ? controllerOf(live) : undefined;
  return c !== undefined && c.uid !== kcp.metadata.uid;
}

/** Metadata and type are what we want: the cluster-name label, our controller reference, the Cluster API type. */
function metadataCurrent(live: Secret, kcp: KamajiControlPlane, cluster: string): boolean {
  return live.type === CLUSTER_SECRET_TYPE && live.metadata.labels?.[CLUSTER_NAME_LABEL] === cluster && controllerOf(live)?.uid === kcp.metadata.uid;
}

async function ensureCASecret(i: SecretsInputs, tcpCA: Secret, certPem: string, keyPem: string): Promise<SecretsOutcome | undefined> {
  const { client, kcp, clusterName, ctx } = i;
  const namespace = kcp.metadata.namespace ?? '';
  const name = caSecretName(clusterName);
  if (name === tcpCA.metadata.name) {
    // The KamajiControlPlane is named like its Cluster, so `<cluster>-ca` is the tenant's own CA Secret: add the
    // keys and label kubeadm bootstrap reads to it (a merge patch leaves the operator's ca.crt / ca.key alone).
    if (decodeKey(tcpCA, CA_CERT_KEY) === certPem && decodeKey(tcpCA, CA_KEY_KEY) === keyPem && tcpCA.metadata.labels?.[CLUSTER_NAME_LABEL] === clusterName) return undefined;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await client.mergePatch(SECRET_TYPE, { namespace, name }, { metadata: { labels: { [CLUSTER_NAME_LABEL]: clusterName } }, data: { [CA_CERT_KEY]: b64(certPem), [CA_KEY_KEY]: b64(keyPem) } });
    ctx.events.normal('CertificateAuthoritySecretWritten', 'WriteSecret', `Secret ${name}: tls.crt and tls.key for kubeadm bootstrap`);
    return undefined;
  }
  const live = await client.get<Secret>(SECRET_TYPE, { namespace, name });
  if (ownedByOther(live, kcp)) return { ready: false, reason: 'SecretOwnedElsewhere', message: `Secret ${name} is controlled by another object` };
  const desired = buildCASecret(clusterName, namespace, certPem, keyPem);
  if (live && metadataCurrent(live, kcp, clusterName) && isDeepStrictEqual(live.data, desired.data)) return undefined;
  setControllerReference(desired, owner(kcp));
  await client.apply(desired);
  ctx.events.normal('CertificateAuthoritySecretWritten', 'WriteSecret', `Secret ${name}: the tenant CA for kubeadm bootstrap`);
  return undefined;
}

async function ensureKubeconfigSecret(i: SecretsInputs, certPem: string, keyPem: string): Promise<SecretsOutcome> {
  const { client, kcp, clusterName, ctx } = i;
  const namespace = kcp.metadata.namespace ?? '';
  const name = kubeconfigSecretName(clusterName);
  const server = serverURL(i.endpoint);
  const now = i.now ?? new Date();
  let live = await client.get<Secret>(SECRET_TYPE, { namespace, name });
  if (ownedByOther(live, kcp)) return { ready: false, reason: 'SecretOwnedElsewhere', message: `Secret ${name} is controlled by another object` };
  let check = checkClusterKubeconfig(decodeKey(live, KUBECONFIG_SECRET_KEY), certPem, server, now);
  if (check.reissue) {
    // The cache may not show our own last write yet: only the apiserver's copy may trigger a second issue.
    live = await client.get<Secret>(SECRET_TYPE, { namespace, name }, { direct: true });
    check = checkClusterKubeconfig(decodeKey(live, KUBECONFIG_SECRET_KEY), certPem, server, now);
  }
  let value = decodeKey(live, KUBECONFIG_SECRET_KEY);
  if (check.reissue || !value) {
    const signer = signingCertificate(certPem, keyPem);
    if (!signer) return { ready: false, reason: 'WaitingForCertificateAuthority', message: 'no certificate of the tenant CA Secret matches its ca.key' };
    const ca = await loadCertificateAuthority(signer, keyPem);
    value = await issueClusterKubeconfig(ca, certPem, clusterName, server, i.validityMs);
    check = checkClusterKubeconfig(value, certPem, server, now);
  } else if (live && metadataCurrent(live, kcp, clusterName)) {
    return { ready: true, renewAt: check.renewAt };
  }
  const desired = buildKubeconfigSecret(clusterName, namespace, value);
  setControllerReference(desired, owner(kcp));
  await client.apply(desired);
  const why = live ? 'renewed' : 'issued';
  ctx.events.normal(live ? 'KubeconfigRenewed' : 'KubeconfigIssued', 'WriteSecret', `Secret ${name}: client certificate ${why}, valid ${String(Math.round(i.validityMs / 3_600_000))}h`);
  return { ready: true, renewAt: check.renewAt };
}

export async function ensureClusterSecrets(i: SecretsInputs): Promise<SecretsOutcome> {
  const namespace = i.kcp.metadata.namespace ?? '';
  const caName = i.tcp.status?.certificates?.ca?.secretName ?? `${i.tcp.metadata.name ?? ''}-${CA_SECRET.suffix}`;
  const tcpCA = await i.client.get<Secret>(SECRET_TYPE, { namespace, name: caName });
  const certPem = decodeKey(tcpCA, CA_SECRET.certKey);
  const keyPem = decodeKey(tcpCA, CA_SECRET.keyKey);
  if (!tcpCA || !certPem || !keyPem) {
    return { ready: false, reason: 'WaitingForCertificateAuthority', message: `the TenantControlPlane has not written its CA Secret ${caName} yet` };
  }
  const ca = await ensureCASecret(i, tcpCA, certPem, keyPem);
  if (ca) return ca;
  return ensureKubeconfigSecret(i, certPem, keyPem);
}
