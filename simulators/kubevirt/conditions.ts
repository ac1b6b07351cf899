// Conditions in KubeVirt's shape (no observedGeneration; lastProbeTime null), edited in place so an unchanged
// object patches nothing. The toolkit's metav1 helpers would add fields KubeVirt's CRDs prune, and a pruned field
// differs from our copy on every reconcile, which would turn each reconcile into a write.
import { metaTime } from '../../lib/kube/meta-time.js';
import type { KubevirtCondition } from '../../lib/apis/kubevirt.js';

export interface ConditionHolder {
  status?: { conditions?: KubevirtCondition[] } | undefined;
}

export function findCondition(obj: ConditionHolder, type: string): KubevirtCondition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

export function conditionIs(obj: ConditionHolder, type: string, status: KubevirtCondition['status']): boolean {
  return findCondition(obj, type)?.status === status;
}

/** Sets a condition; the transition time moves only when the status does. */
export function putCondition(
  obj: { status?: { conditions?: KubevirtCondition[] } },
  next: { type: string; status: KubevirtCondition['status']; reason?: string | undefined; message?: string | undefined },
): void {
  obj.status ??= {};
  const conditions = (obj.status.conditions ??= []);
  const i = conditions.findIndex((c) => c.type === next.type);
  const existing = conditions[i];
  const condition: KubevirtCondition = {
    type: next.type,
    status: next.status,
    lastProbeTime: null,
    lastTransitionTime: existing?.status === next.status ? (existing.lastTransitionTime ?? metaTime()) : metaTime(),
    ...(next.reason ? { reason: next.reason } : {}),
    ...(next.message ? { message: next.message } : {}),
  };
  if (!existing) {
    conditions.push(condition);
    return;
  }
  if (existing.status !== condition.status || existing.reason !== condition.reason || existing.message !== condition.message) conditions[i] = condition;
}

export function dropCondition(obj: ConditionHolder, type: string): void {
  const conditions = obj.status?.conditions;
  if (!conditions) return;
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) conditions.splice(i, 1);
}
