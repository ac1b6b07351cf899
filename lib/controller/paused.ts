// Cluster API's pause contract: an object is left alone while its Cluster has spec.paused or either carries the
// paused annotation, and says so through a Paused condition so users see why nothing happens.
import type { KubeObject } from '../kube/object.js';
import { PAUSED_ANNOTATION } from './cluster-api-keys.js';
import { setCondition, type ObjectWithConditions } from './conditions.js';

export const PAUSED_CONDITION = 'Paused';

/** What the pause check reads of a Cluster: Cluster API's Cluster is one. */
export interface PausableCluster extends KubeObject {
  spec?: { paused?: boolean };
}

export function hasPausedAnnotation(obj: KubeObject): boolean {
  return obj.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined;
}

export function isPaused(cluster: PausableCluster | undefined, obj: KubeObject): boolean {
  return cluster?.spec?.paused === true || hasPausedAnnotation(obj);
}

/**
 * Sets the Paused condition from the pause state and returns whether the object is paused. Called on every
 * reconcile, so unpausing flips the condition back to False.
 */
export function reconcilePaused(cluster: PausableCluster | undefined, obj: ObjectWithConditions): boolean {
  if (cluster?.spec?.paused === true) {
    setCondition(obj, { type: PAUSED_CONDITION, status: 'True', reason: 'Paused', message: 'Cluster spec.paused is set to true' });
    return true;
  }
  if (hasPausedAnnotation(obj)) {
    setCondition(obj, { type: PAUSED_CONDITION, status: 'True', reason: 'Paused', message: `Object has the ${PAUSED_ANNOTATION} annotation` });
    return true;
  }
  setCondition(obj, { type: PAUSED_CONDITION, status: 'False', reason: 'NotPaused' });
  return false;
}
