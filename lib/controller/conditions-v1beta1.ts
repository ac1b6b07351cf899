// The deprecated Cluster API v1beta1 condition shape (with severity, Ready first), mirrored from our metav1
// conditions for consumers still on the v1beta1 contract, e.g. clusterctl and older dashboards.
import type { Condition, ObjectWithConditions } from './conditions.js';

export type V1Beta1Severity = 'Error' | 'Warning' | 'Info' | '';

export interface V1Beta1Condition {
  type: string;
  status: Condition['status'];
  severity?: V1Beta1Severity;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface V1Beta1MirrorOptions {
  /** Severity for a condition that is not True; Warning by default, as most of ours mean "not there yet". */
  severity?: (c: Condition) => V1Beta1Severity;
  /**
   * The conditions Ready summarises, in order. A v1beta1 summary carried the reason and message of its worst
   * condition (the first False, else the first Unknown), never a generic one, so a v1beta2 Ready with Cluster API's
   * summary reasons (IssuesReported, ...) is mirrored with those.
   */
  readySummaryOf?: readonly string[];
}

/** Ready as a v1beta1 summary of `types` reports it; Ready unchanged when none of them is False or Unknown. */
function v1beta1Ready(ready: Condition, conditions: readonly Condition[], types: readonly string[]): Condition {
  const listed = types.map((t) => conditions.find((c) => c.type === t)).filter((c): c is Condition => c !== undefined);
  const worst = listed.find((c) => c.status === 'False') ?? listed.find((c) => c.status === 'Unknown');
  return worst && ready.status !== 'True' ? { ...ready, reason: worst.reason, message: worst.message } : ready;
}

/** v1beta1 lists Ready first, then the rest by type, and True conditions carry neither reason nor severity. */
export function toV1Beta1Conditions(conditions: readonly Condition[], opts: V1Beta1MirrorOptions = {}): V1Beta1Condition[] {
  const severity = opts.severity ?? (() => 'Warning');
  const summaryOf = opts.readySummaryOf;
  return [...conditions]
    .map((c) => (c.type === 'Ready' && summaryOf ? v1beta1Ready(c, conditions, summaryOf) : c))
    .sort((a, b) => (a.type === 'Ready' ? -1 : b.type === 'Ready' ? 1 : a.type.localeCompare(b.type)))
    .map((c) =>
      c.status === 'True'
        ? { type: c.type, status: c.status, lastTransitionTime: c.lastTransitionTime }
        : {
            type: c.type,
            status: c.status,
            severity: c.status === 'False' ? severity(c) : '',
            lastTransitionTime: c.lastTransitionTime,
            reason: c.reason,
            ...(c.message ? { message: c.message } : {}),
          },
    );
}

/** Writes the mirror where the v1beta2 contract keeps it: status.deprecated.v1beta1.conditions. */
export function mirrorV1Beta1Conditions(obj: ObjectWithConditions, opts: V1Beta1MirrorOptions = {}): void {
  obj.status ??= {};
  const status = obj.status as { deprecated?: { v1beta1?: { conditions?: V1Beta1Condition[] } } };
  status.deprecated ??= {};
  status.deprecated.v1beta1 ??= {};
  status.deprecated.v1beta1.conditions = toV1Beta1Conditions(obj.status.conditions ?? [], opts);
}
