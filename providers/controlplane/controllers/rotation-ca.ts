// The CA rotation step of a healthy pass: gathers the evidence each phase waits for (pods rolled out with the
// current Secrets; the bundle in cluster-info and kube-root-ca.crt; every Node's kubelet client certificate from
// the new CA, seen in the CSRs kube-controller-manager signed) and moves `<tenant>-ca` one phase on
// (pki/ca-rotation.ts holds the phases and why joined nodes keep working). The phase lives in that Secret, so a
// restarted operator carries on where it was; the CARotation condition says where that is.
import { X509Certificate } from 'node:crypto';
import { SECRET_TYPE } from '../../../lib/apis/core.js';
import { getCondition, markFalse, markTrue } from '../../../lib/controller/conditions.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { parse } from 'yaml';
import { ROTATE_CA_ANNOTATION, type TenantControlPlane } from '../api/index.js';
import {
  beginCARotation,
  CA_ROTATION_NODES_ANNOTATION,
  CA_ROTATION_REQUEST_ANNOTATION,
  CA_ROTATION_SWITCHED_ANNOTATION,
  CA_SECRET,
  caStateOf,
  decideCAStep,
  retireOldCA,
  splitCertificates,
  switchCASigner,
  type CAState,
  type PKIOptions,
  type SecretData,
} from '../pki/index.js';
import type { Deployment } from '../management/deployment.js';
import { CHECKSUM_ANNOTATION } from '../api/labels.js';
import { writeSecret, type ControlPlaneCredentials } from './credentials-step.js';

export const CA_ROTATION_CONDITION = 'CARotation';

const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
interface CertificateSigningRequest extends KubeObject {
  spec?: { signerName?: string };
  status?: { certificate?: string };
}

const normalized = (pem: string) => pem.replace(/\s+/g, '');

/** The pods run the Secrets as they are now: the template carries their checksum and is rolled out everywhere. */
export function rolledOut(d: Deployment, checksum: string): boolean {
  const st = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    d.spec?.template.metadata?.annotations?.[CHECKSUM_ANNOTATION] === checksum &&
    st.observedGeneration === d.metadata.generation &&
    st.updatedReplicas === want &&
    st.replicas === want &&
    st.readyReplicas === want
  );
}

/** cluster-info (what kubeadm join discovers) and kube-root-ca.crt (what pods trust) hold exactly the bundle. */
async function trustPublished(tenant: Client, bundle: string[]): Promise<boolean> {
  const info = await tenant.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-public', name: 'cluster-info' }, { direct: true });
  const kubeconfig = parse(info?.data?.kubeconfig ?? '') as { clusters?: { cluster?: { 'certificate-authority-data'?: string } }[] } | null;
  const discovered = Buffer.from(kubeconfig?.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? '', 'base64').toString();
  const root = await tenant.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-system', name: 'kube-root-ca.crt' }, { direct: true });
  const exactly = (text: string | undefined) => text !== undefined && normalized(text) === normalized(bundle.join(''));
  return exactly(discovered) && exactly(root?.data?.['ca.crt']);
}

/**
 * Nodes seen with a kubelet client certificate that `newCA` issued: the CSRs kube-controller-manager signed for
 * kubernetes.io/kube-apiserver-client-kubelet (a kubelet's bootstrap or its rotation), by the node name in the
 * certificate's subject. The CSR cleaner removes issued requests after an hour, so the caller keeps what it saw.
 */
async function nodesOnNewCA(tenant: Client, newCA: string): Promise<string[]> {
  const ca = new X509Certificate(newCA);
  const csrs = await tenant.list<CertificateSigningRequest>({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' }, { direct: true });
  const out: string[] = [];
  for (const csr of csrs) {
    if (csr.spec?.signerName !== KUBELET_CLIENT_SIGNER || !csr.status?.certificate) continue;
    const [pem] = splitCertificates(Buffer.from(csr.status.certificate, 'base64').toString());
    if (!pem) continue;
    const cert = new X509Certificate(pem);
    const node = /^CN=system:node:(.+)$/m.exec(cert.subject)?.[1];
    if (node && cert.checkIssued(ca) && cert.verify(ca.publicKey)) out.push(node);
  }
  return out;
}

async function nodeNames(tenant: Client): Promise<string[]> {
  return (await tenant.list({ apiVersion: 'v1', kind: 'Node' }, { direct: true })).map((n) => n.metadata.name ?? '');
}

const csv = (v: string | undefined) => (v ? v.split(',').filter((s) => s !== '') : []);

/**
 * Moves a requested CA rotation on by at most one phase; true while one is in progress (nothing watchable
 * reports node certificates, so the caller polls). A tenant that never asked reads nothing from the tenant.
 */
export async function reconcileCARotation(
  client: Client,
  tenant: Client,
  tcp: TenantControlPlane,
  c: ControlPlaneCredentials,
  deployment: Deployment,
  ctx: ReconcileContext,
  opts: PKIOptions,
): Promise<boolean> {
  const { data, annotations } = c.ca;
  const state: CAState = caStateOf(data);
  const request = tcp.metadata.annotations?.[ROTATE_CA_ANNOTATION];
  const handled = annotations[CA_ROTATION_REQUEST_ANNOTATION];
  const switchedAt = annotations[CA_ROTATION_SWITCHED_ANNOTATION];
  const now = new Date();

  let confirmed = csv(annotations[CA_ROTATION_NODES_ANNOTATION]);
  let nodesPending: string[] = [];
  if (state.phase === 'Switched') {
    const seen = new Set([...confirmed, ...(await nodesOnNewCA(tenant, state.bundle[0] ?? ''))]);
    const nodes = await nodeNames(tenant);
    nodesPending = nodes.filter((n) => !seen.has(n)).sort();
    confirmed = nodes.filter((n) => seen.has(n)).sort();
  }
  // Trust is read from the tenant while it changes: before the switch, and after the retirement until it shows.
  const retiredShown = state.phase === 'Stable' && getCondition(tcp, CA_ROTATION_CONDITION)?.status === 'True';
  const readTrust = state.phase === 'Trusting' || (state.phase === 'Stable' && handled !== undefined && request === handled && !retiredShown);
  const step = decideCAStep({
    state,
    request,
    handled,
    switchedAt: switchedAt ? new Date(switchedAt) : undefined,
    evidence: {
      // Once shown retired, later rollouts (an upgrade) are none of this rotation's business.
      rolledOut: retiredShown || rolledOut(deployment, c.checksum),
      trustPublished: readTrust ? await trustPublished(tenant, state.bundle) : true,
      nodesPending,
    },
    now,
    soakMs: opts.caRotationSoak,
  });

  const write = (next: SecretData, extra: Record<string, string>) => writeSecret(client, tcp, CA_SECRET.suffix, next, extra);
  // Only the apiserver's copy may start a phase: a pass on a stale cache must not begin a second new CA.
  if (step.action !== 'none') {
    const fresh = await client.get<KubeObject & { data?: Record<string, string> }>(
      SECRET_TYPE,
      { namespace: tcp.metadata.namespace, name: `${tcp.metadata.name ?? ''}-${CA_SECRET.suffix}` },
      { direct: true },
    );
    if (Buffer.from(fresh?.data?.[CA_SECRET.certKey] ?? '', 'base64').toString() !== data[CA_SECRET.certKey] || fresh?.metadata.annotations?.[CA_ROTATION_REQUEST_ANNOTATION] !== handled) {
      return true;
    }
  }
  switch (step.action) {
    case 'begin':
      await write(await beginCARotation(data, opts, now), { [CA_ROTATION_REQUEST_ANNOTATION]: request ?? '' });
      ctx.events.normal('CARotationStarted', 'RotateCA', `a new cluster CA is trusted beside the old one for ${ROTATE_CA_ANNOTATION}=${JSON.stringify(request ?? '')}`);
      break;
    case 'switch':
      await write(switchCASigner(data), { [CA_ROTATION_REQUEST_ANNOTATION]: handled ?? '', [CA_ROTATION_SWITCHED_ANNOTATION]: now.toISOString() });
      ctx.events.normal('CASwitched', 'RotateCA', 'the new cluster CA signs; leaf certificates and kubeconfigs are reissued from it');
      break;
    case 'retire':
      await write(retireOldCA(data), { [CA_ROTATION_REQUEST_ANNOTATION]: handled ?? '' });
      ctx.events.normal('OldCARetired', 'RotateCA', 'every node renewed its kubelet certificate from the new CA; the old CA is no longer trusted');
      break;
    case 'none':
      if (state.phase === 'Switched' && confirmed.join(',') !== (annotations[CA_ROTATION_NODES_ANNOTATION] ?? '')) {
        await write(data, { [CA_ROTATION_REQUEST_ANNOTATION]: handled ?? '', [CA_ROTATION_SWITCHED_ANNOTATION]: switchedAt ?? '', [CA_ROTATION_NODES_ANNOTATION]: confirmed.join(',') });
      }
      break;
  }
  const cond = step.condition;
  if (cond) (cond.status === 'True' ? markTrue : markFalse)(tcp, CA_ROTATION_CONDITION, cond.reason, cond.message);
  return step.action !== 'none' || cond?.status === 'False';
}
