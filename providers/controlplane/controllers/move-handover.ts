// A hosted control plane that keeps serving through `clusterctl move`. clusterctl pauses the Cluster, copies the
// objects to the target, then deletes the source copies with their finalizers stripped, and only then resumes the
// Cluster in the target. Left to the garbage collector, deleting the source TenantControlPlane takes its Deployment
// and Service (and so the tenant's only apiservers) down before the target has started any: the tenant's API is
// gone until the target's pods are Ready. So the source hands over instead:
//   1. paused with its Cluster, the TenantControlPlane releases its Deployment and Service (no owner reference to it,
//      a label naming its uid) and keeps a copy of the operator's kubeconfig owned by the Deployment; only then does
//      it report Paused, which is what lets the move go;
//   2. the target's TenantControlPlane, once its own pods answer, records its uid in the tenant (the serving marker,
//      tenant/serving-marker.ts): both copies share the DataStore, so the source reads it through the tenant API;
//   3. the source retires the released objects a drain period after it first saw another uid there, so the load
//      balancer in front of the management clusters has moved its traffic (a deregistration delay);
//   4. resumed where it was (a pause without a move), the TenantControlPlane takes its objects back;
//   5. gone without a successor (deleted for another reason than a move), the released objects wait for one only so
//      long, then retire as well rather than serve a tenant nobody manages.
// This file holds the decisions; handover-release.ts and handover-retire.ts act on them.
import type { KubeObject, OwnerReference } from '../../../lib/kube/object.js';

/** On a Deployment or Service released for a move: the uid of the TenantControlPlane that released it. */
export const RELEASED_LABEL = 'kvcloud.io/released-by-tenantcontrolplane';
/** On a released Deployment: when the source first saw the tenant served by another TenantControlPlane. */
export const SUCCESSOR_SEEN_ANNOTATION = 'kvcloud.io/successor-serving-since';
/** On a released Deployment: when the source first found its TenantControlPlane gone and no successor named. */
export const GONE_SINCE_ANNOTATION = 'kvcloud.io/tenantcontrolplane-gone-since';
/** How long the source keeps serving after the target announced itself (the front's deregistration delay). */
export const DEFAULT_HANDOVER_DRAIN_MS = 15_000;
/**
 * How long a released control plane whose TenantControlPlane is gone waits for a successor to announce itself.
 * A move's target does so once its own pods are Ready, minutes after clusterctl deleted the source; far longer
 * means the TenantControlPlane was deleted for good (or the move failed) and nothing manages these objects.
 */
export const DEFAULT_HANDOVER_SUCCESSOR_TIMEOUT_MS = 30 * 60_000;

/**
 * The copy of the operator's tenant kubeconfig that outlives the moved Secrets. Its name does not start with
 * `<cluster>-` and it has an owner, so clusterctl neither moves nor deletes it.
 */
export function handoverSecretName(tenantControlPlane: string): string {
  return `handover-${tenantControlPlane}`;
}

/** The owner references of a child without the TenantControlPlane's, or undefined when it does not control the child. */
export function releasedOwners(child: KubeObject, tcpUid: string): OwnerReference[] | undefined {
  const refs = child.metadata.ownerReferences ?? [];
  if (!refs.some((r) => r.uid === tcpUid && r.controller === true)) return undefined;
  return refs.filter((r) => r.uid !== tcpUid);
}

/** True for a child this TenantControlPlane released and has not taken back. */
export function releasedBy(child: KubeObject | undefined, tcpUid: string): boolean {
  return child?.metadata.labels?.[RELEASED_LABEL] === tcpUid;
}

export type RetireDecision =
  | { action: 'keep'; reason: string }
  | { action: 'poll'; reason: string }
  | { action: 'note-gone' }
  | { action: 'give-up'; waitedMs: number }
  | { action: 'note-successor'; servingUid: string }
  | { action: 'wait'; afterMs: number }
  | { action: 'retire'; servingUid: string };

export interface RetireInputs {
  /** The uid in the released Deployment's label. */
  releasedUid: string;
  /** The uid of the TenantControlPlane of that name in this cluster now, if any. */
  presentUid: string | undefined;
  /** The uid recorded in the tenant's serving marker, undefined when unread or absent. */
  servingUid: string | undefined;
  /** SUCCESSOR_SEEN_ANNOTATION of the Deployment. */
  successorSeenAt: string | undefined;
  /** GONE_SINCE_ANNOTATION of the Deployment. */
  goneSince: string | undefined;
  now: number;
  drainMs: number;
  successorTimeoutMs: number;
}

/** What to do with a released control plane in the source cluster. */
export function decideRetirement(i: RetireInputs): RetireDecision {
  if (i.presentUid === i.releasedUid) return { action: 'keep', reason: 'its TenantControlPlane is still here (paused, or resuming takes it back)' };
  if (!i.servingUid || i.servingUid === i.releasedUid) {
    const gone = parseTime(i.goneSince);
    if (Number.isNaN(gone)) return { action: 'note-gone' };
    const waited = i.now - gone;
    return waited < i.successorTimeoutMs ? { action: 'poll', reason: 'no other TenantControlPlane serves the tenant yet' } : { action: 'give-up', waitedMs: waited };
  }
  const seen = parseTime(i.successorSeenAt);
  if (Number.isNaN(seen)) return { action: 'note-successor', servingUid: i.servingUid };
  const left = seen + i.drainMs - i.now;
  return left > 0 ? { action: 'wait', afterMs: left } : { action: 'retire', servingUid: i.servingUid };
}

/** An annotation's time, NaN when absent or unreadable (noted again then). */
function parseTime(value: string | undefined): number {
  return value ? Date.parse(value) : Number.NaN;
}
