// The source side of a hosted control plane's move handover (move-handover.ts): a TenantControlPlane paused with its
// Cluster releases its running Deployment and Service, so clusterctl's deletion of it leaves them serving, and takes
// them back when it resumes in the same cluster.
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE, SERVICE_TYPE, type Secret } from '../../../lib/apis/core.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import { ownerReferenceTo } from '../../../lib/controller/owner-references.js';
import type { Client } from '../../../lib/kube/client.js';
import type { TenantControlPlane } from '../api/index.js';
import { ADMIN_KUBECONFIG_SECRET } from '../kubeconfig/secrets.js';
import { GONE_SINCE_ANNOTATION, handoverSecretName, RELEASED_LABEL, releasedBy, releasedOwners, SUCCESSOR_SEEN_ANNOTATION } from './move-handover.js';

/** The key the operator itself reads in the admin kubeconfig Secret (the write-permissions policy exempts it). */
export const HANDOVER_KUBECONFIG_KEY = ADMIN_KUBECONFIG_SECRET.superAdmin;

/**
 * Releases the running control plane before the TenantControlPlane reports Paused. Returns false while it cannot
 * yet (no kubeconfig to keep): the move then waits, as the Paused condition stays unset.
 */
export async function releaseForMove(client: Client, tcp: TenantControlPlane, ctx: ReconcileContext): Promise<boolean> {
  const namespace = tcp.metadata.namespace;
  const name = tcp.metadata.name ?? '';
  const uid = tcp.metadata.uid ?? '';
  const deployment = await client.get(DEPLOYMENT_TYPE, { namespace, name });
  if (!deployment) return true; // nothing runs here (the copy arriving in a move's target)
  const children = [
    { type: DEPLOYMENT_TYPE, obj: deployment },
    { type: SERVICE_TYPE, obj: await client.get(SERVICE_TYPE, { namespace, name }) },
  ];
  if (children.every((c) => !c.obj || releasedOwners(c.obj, uid) === undefined)) return true; // released already
  const admin = await client.get<Secret>(SECRET_TYPE, { namespace, name: `${name}-${ADMIN_KUBECONFIG_SECRET.suffix}` });
  const kubeconfig = admin?.data?.[HANDOVER_KUBECONFIG_KEY];
  if (!kubeconfig) {
    ctx.log.info({ tenantControlPlane: name }, 'not releasing the control plane for a move yet: no admin kubeconfig to keep');
    return false;
  }
  await client.apply<Secret>({
    ...SECRET_TYPE,
    metadata: { name: handoverSecretName(name), namespace, ownerReferences: [ownerReferenceTo({ ...deployment, ...DEPLOYMENT_TYPE })] },
    type: 'Opaque',
    data: { [HANDOVER_KUBECONFIG_KEY]: kubeconfig },
  });
  for (const { type, obj } of children) {
    const owners = obj && releasedOwners(obj, uid);
    if (!obj || !owners) continue;
    await client.mergePatch(type, { namespace, name: obj.metadata.name ?? '' }, { metadata: { ownerReferences: owners, labels: { [RELEASED_LABEL]: uid } } });
  }
  ctx.events.normal('ControlPlaneReleased', 'ReleaseForMove', `Deployment and Service ${name} released: deleting this TenantControlPlane (clusterctl move) leaves them serving until another management cluster serves the tenant`);
  return true;
}

/** Resumed where it was paused: takes back what it released (no-op, and no write, for anything else). */
export async function takeBackReleased(client: Client, tcp: TenantControlPlane, ctx: ReconcileContext): Promise<void> {
  const namespace = tcp.metadata.namespace;
  const name = tcp.metadata.name ?? '';
  const uid = tcp.metadata.uid ?? '';
  let took = false;
  for (const type of [DEPLOYMENT_TYPE, SERVICE_TYPE]) {
    const obj = await client.get(type, { namespace, name });
    if (!obj || !releasedBy(obj, uid)) continue;
    const owners = [...(obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid), ownerReferenceTo(tcp, { controller: true })];
    await client.mergePatch(type, { namespace, name }, { metadata: { ownerReferences: owners, labels: { [RELEASED_LABEL]: null }, annotations: { [SUCCESSOR_SEEN_ANNOTATION]: null, [GONE_SINCE_ANNOTATION]: null } } });
    took = true;
  }
  if (!took) return;
  await client.delete(SECRET_TYPE, { namespace, name: handoverSecretName(name) });
  ctx.events.normal('ControlPlaneTakenBack', 'TakeBackReleased', `resumed without a move: Deployment and Service ${name} are controlled by the TenantControlPlane again`);
}
