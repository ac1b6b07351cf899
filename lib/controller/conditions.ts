// metav1.Condition helpers with Cluster API's semantics: observedGeneration follows the object, the transition
// time moves only when the status does, and Ready summarises the conditions that make an object ready.
import { metaTime } from '../kube/meta-time.js';
import type { KubeObject } from '../kube/object.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ObjectWithConditions extends KubeObject {
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  /** CamelCase, required by the API. */
  reason: string;
  message?: string;
}

export const READY = 'Ready';

export function getCondition(obj: ObjectWithConditions | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

export const isTrue = (obj: ObjectWithConditions, type: string): boolean => getCondition(obj, type)?.status === 'True';
export const isFalse = (obj: ObjectWithConditions, type: string): boolean => getCondition(obj, type)?.status === 'False';

/**
 * Sets a condition in place, keeping its position among the others (so an unchanged object patches nothing).
 * Returns true when anything about the condition changed.
 */
export function setCondition(obj: ObjectWithConditions, update: ConditionUpdate, now: Date = new Date()): boolean {
  if (!/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(update.reason)) {
    throw new Error(`condition ${update.type}: reason "${update.reason}" must be CamelCase`);
  }
  obj.status ??= {};
  const conditions = (obj.status.conditions ??= []);
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(obj.metadata.generation !== undefined ? { observedGeneration: obj.metadata.generation } : {}),
    lastTransitionTime: metaTime(now),
    reason: update.reason,
    message: update.message ?? '',
  };
  const i = conditions.findIndex((c) => c.type === update.type);
  const existing = conditions[i];
  if (!existing) {
    conditions.push(next);
    return true;
  }
  if (existing.status === next.status) next.lastTransitionTime = existing.lastTransitionTime;
  const changed =
    existing.status !== next.status ||
    existing.reason !== next.reason ||
    existing.message !== next.message ||
    existing.observedGeneration !== next.observedGeneration;
  if (changed) conditions[i] = next;
  return changed;
}

export function markTrue(obj: ObjectWithConditions, type: string, reason: string, message = ''): boolean {
  return setCondition(obj, { type, status: 'True', reason, message });
}

export function markFalse(obj: ObjectWithConditions, type: string, reason: string, message = ''): boolean {
  return setCondition(obj, { type, status: 'False', reason, message });
}

export function markUnknown(obj: ObjectWithConditions, type: string, reason: string, message = ''): boolean {
  return setCondition(obj, { type, status: 'Unknown', reason, message });
}

export function removeCondition(obj: ObjectWithConditions, type: string): boolean {
  const conditions = obj.status?.conditions;
  if (!conditions) return false;
  const i = conditions.findIndex((c) => c.type === type);
  if (i < 0) return false;
  conditions.splice(i, 1);
  return true;
}

export interface SummaryOptions {
  /** The conditions that together mean Ready, in the order their problems should be reported. */
  conditions: readonly string[];
  /** Conditions that are good when False (e.g. Paused, Deleting). */
  negativePolarity?: readonly string[];
  /** Condition type to write; Ready by default. */
  target?: string;
  /**
   * Reasons for the summary by what it found (issues, else unknowns, else all good), instead of the first bad or
   * unknown condition's reason (and "Ready"): CLUSTER_API_SUMMARY_REASONS for objects that must read as Cluster
   * API's summary does.
   */
  reasons?: SummaryReasons;
}

export interface SummaryReasons {
  issues: string;
  unknown: string;
  info: string;
}

/** The reasons Cluster API's default merge strategy gives a summary, whatever the summarised conditions say. */
export const CLUSTER_API_SUMMARY_REASONS: SummaryReasons = { issues: 'IssuesReported', unknown: 'UnknownReported', info: 'InfoReported' };

/**
 * Sets Ready (or `target`) from the listed conditions: True when all are good; False when any is bad, with the
 * first bad one's reason; Unknown when none is bad but some are unknown or not reported yet. The message names
 * each condition that is not good, so `kubectl describe` tells the whole story in one place.
 */
export function setReadySummary(obj: ObjectWithConditions, opts: SummaryOptions): boolean {
  const negative = new Set(opts.negativePolarity ?? []);
  const bad: Condition[] = [];
  const unknown: { type: string; reason: string; message: string }[] = [];
  for (const type of opts.conditions) {
    const c = getCondition(obj, type);
    if (!c) {
      unknown.push({ type, reason: 'NotYetReported', message: 'condition not yet reported' });
      continue;
    }
    const good = negative.has(type) ? c.status === 'False' : c.status === 'True';
    if (good) continue;
    if (c.status === 'Unknown') unknown.push(c);
    else bad.push(c);
  }
  const target = opts.target ?? READY;
  const describe = (c: { type: string; reason: string; message: string }): string =>
    `* ${c.type}: ${c.message || c.reason}`;
  const [firstBad] = bad;
  if (firstBad) {
    return setCondition(obj, { type: target, status: 'False', reason: opts.reasons?.issues ?? firstBad.reason, message: [...bad, ...unknown].map(describe).join('\n') });
  }
  const [firstUnknown] = unknown;
  if (firstUnknown) {
    return setCondition(obj, { type: target, status: 'Unknown', reason: opts.reasons?.unknown ?? firstUnknown.reason, message: unknown.map(describe).join('\n') });
  }
  return setCondition(obj, { type: target, status: 'True', reason: opts.reasons?.info ?? 'Ready' });
}
