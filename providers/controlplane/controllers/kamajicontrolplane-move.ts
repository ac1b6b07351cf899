// The hosted control plane under `clusterctl move`. clusterctl pauses the Cluster, waits while an object it moves
// carries the block-move annotation, copies the objects to the target and deletes them from the source. Cluster
// API's pause reaches the KamajiControlPlane but not the TenantControlPlane (Kamaji pauses that by its own
// annotation), whose reconciler would otherwise go on writing certificates and kubeconfigs while they are copied,
// and clean the tenant's DataStore data when clusterctl deletes the source copy. So the KamajiControlPlane holds
// block-move while its Cluster runs, pauses its TenantControlPlane when the Cluster is paused, and lets the move
// go once the TenantControlPlane reports itself Paused; the copy in the target arrives paused and is resumed when
// clusterctl resumes the Cluster there. The TenantControlPlane's running pods outlive its source copy: it releases
// them before reporting Paused, and the source retires them once the target serves (move-handover.ts).
import { BLOCK_MOVE_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import { isTrue } from '../../../lib/controller/conditions.js';
import { PAUSED_CONDITION } from '../../../lib/controller/paused.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { PAUSED_ANNOTATION, TENANT_CONTROL_PLANE_TYPE, type TenantControlPlane } from '../api/index.js';

/** Our value of Kamaji's pause annotation: a pause set by anyone else (any other value) is never lifted by us. */
export const PAUSED_FOR_CLUSTER = 'cluster-paused';

/** Keeps block-move on the KamajiControlPlane while its Cluster runs: clusterctl must wait for the pause below. */
export function holdMove(kcp: KubeObject): void {
  if (kcp.metadata.annotations?.[BLOCK_MOVE_ANNOTATION] !== undefined) return;
  kcp.metadata.annotations = { ...kcp.metadata.annotations, [BLOCK_MOVE_ANNOTATION]: '' };
}

/**
 * The Cluster is paused: pause the TenantControlPlane, and lift block-move once it reports Paused (its reconciler
 * sets that on the pass that first sees the annotation, so no earlier pass of it is still running).
 */
export async function pauseForMove(client: Client, kcp: KubeObject, tcp: TenantControlPlane | undefined, ctx: ReconcileContext): Promise<void> {
  if (tcp && tcp.metadata.annotations?.[PAUSED_ANNOTATION] === undefined) {
    await client.mergePatch(TENANT_CONTROL_PLANE_TYPE, { namespace: tcp.metadata.namespace, name: tcp.metadata.name ?? '' }, {
      metadata: { annotations: { [PAUSED_ANNOTATION]: PAUSED_FOR_CLUSTER } },
    });
    ctx.events.normal('TenantControlPlanePaused', 'PauseTenantControlPlane', `paused TenantControlPlane ${tcp.metadata.name ?? ''} with its Cluster`);
    return; // its Paused condition brings us back
  }
  if (tcp && !isTrue(tcp, PAUSED_CONDITION)) return;
  if (kcp.metadata.annotations?.[BLOCK_MOVE_ANNOTATION] === undefined) return;
  const { [BLOCK_MOVE_ANNOTATION]: _lifted, ...rest } = kcp.metadata.annotations;
  kcp.metadata.annotations = rest;
  ctx.log.info({ tenantControlPlane: tcp?.metadata.name }, 'lifted block-move: the TenantControlPlane is paused');
}

/** The Cluster runs again (after a move: in the target): resume a TenantControlPlane that we paused. */
export async function resumeAfterPause(client: Client, tcp: TenantControlPlane, ctx: ReconcileContext): Promise<void> {
  if (tcp.metadata.annotations?.[PAUSED_ANNOTATION] !== PAUSED_FOR_CLUSTER) return;
  await client.mergePatch(TENANT_CONTROL_PLANE_TYPE, { namespace: tcp.metadata.namespace, name: tcp.metadata.name ?? '' }, {
    metadata: { annotations: { [PAUSED_ANNOTATION]: null } },
  });
  ctx.events.normal('TenantControlPlaneResumed', 'ResumeTenantControlPlane', `resumed TenantControlPlane ${tcp.metadata.name ?? ''} with its Cluster`);
}
