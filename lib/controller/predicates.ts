// Filters deciding which informer events reach a controller's queue. Each says yes by default, so a predicate
// only needs the event types it cares about.
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/object.js';
import { MANAGED_BY_ANNOTATION } from './cluster-api-keys.js';
import { hasPausedAnnotation } from './paused.js';

export interface Predicate<T extends KubeObject = KubeObject> {
  create?(obj: T): boolean;
  update?(old: T, obj: T): boolean;
  delete?(obj: T): boolean;
}

export function passesCreate<T extends KubeObject>(predicates: readonly Predicate<T>[], obj: T): boolean {
  return predicates.every((p) => p.create?.(obj) ?? true);
}

export function passesUpdate<T extends KubeObject>(predicates: readonly Predicate<T>[], old: T, obj: T): boolean {
  return predicates.every((p) => p.update?.(old, obj) ?? true);
}

export function passesDelete<T extends KubeObject>(predicates: readonly Predicate<T>[], obj: T): boolean {
  return predicates.every((p) => p.delete?.(obj) ?? true);
}

/** Updates only when spec changed (generation moves); status-only and metadata-only writes are ignored. */
export function generationChanged(): Predicate {
  return { update: (old, obj) => old.metadata.generation !== obj.metadata.generation };
}

function mapChanged(field: 'labels' | 'annotations', key?: string): Predicate {
  return {
    update: (old, obj) =>
      key === undefined
        ? !isDeepStrictEqual(old.metadata[field] ?? {}, obj.metadata[field] ?? {})
        : old.metadata[field]?.[key] !== obj.metadata[field]?.[key],
  };
}

/** Updates that change any label, or the one named. */
export const labelChanged = (key?: string): Predicate => mapChanged('labels', key);
/** Updates that change any annotation, or the one named. */
export const annotationChanged = (key?: string): Predicate => mapChanged('annotations', key);

/** Drops events for objects carrying the paused annotation; removing it is an update that passes. */
export function notPaused(): Predicate {
  return {
    create: (obj) => !hasPausedAnnotation(obj),
    update: (_old, obj) => !hasPausedAnnotation(obj),
    delete: (obj) => !hasPausedAnnotation(obj),
  };
}

/** Drops events for infrastructure that another system manages (Cluster API's managed-by annotation). */
export function notExternallyManaged(): Predicate {
  const unmanaged = (obj: KubeObject): boolean => obj.metadata.annotations?.[MANAGED_BY_ANNOTATION] === undefined;
  return { create: unmanaged, update: (_old, obj) => unmanaged(obj), delete: unmanaged };
}

/** Passes when any of the predicates passes (predicates in a list otherwise all have to). */
export function anyOf(...predicates: Predicate[]): Predicate {
  return {
    create: (obj) => predicates.some((p) => p.create?.(obj) ?? true),
    update: (old, obj) => predicates.some((p) => p.update?.(old, obj) ?? true),
    delete: (obj) => predicates.some((p) => p.delete?.(obj) ?? true),
  };
}
