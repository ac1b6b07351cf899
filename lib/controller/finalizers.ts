// Finalizer edits on the in-memory object; the patch helper writes them after reconcile, with optimistic
// locking because a merge patch replaces the whole list.
import type { KubeObject } from '../kube/object.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** Returns true when the finalizer was added. */
export function addFinalizer(obj: KubeObject, finalizer: string): boolean {
  if (hasFinalizer(obj, finalizer)) return false;
  (obj.metadata.finalizers ??= []).push(finalizer);
  return true;
}

/** Returns true when the finalizer was removed. */
export function removeFinalizer(obj: KubeObject, finalizer: string): boolean {
  const list = obj.metadata.finalizers;
  if (!list?.includes(finalizer)) return false;
  obj.metadata.finalizers = list.filter((f) => f !== finalizer);
  return true;
}

export function isDeleting(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}
