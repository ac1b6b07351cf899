// ownerReference helpers. Owners are matched by API group and kind, not version, because Cluster API objects
// are served at several versions and a reference written at v1beta1 still names the same owner at v1beta2.
import { groupOf, type KubeObject, type OwnerReference, type TypeMeta } from '../kube/object.js';

export function ownerReferenceTo(owner: KubeObject, opts: { controller?: boolean } = {}): OwnerReference {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata;
  if (!apiVersion || !kind || !name || !uid) throw new Error('owner needs apiVersion, kind, name and uid');
  return { apiVersion, kind, name, uid, ...(opts.controller ? { controller: true, blockOwnerDeletion: true } : {}) };
}

function sameOwner(a: { apiVersion: string; kind: string; name: string }, b: { apiVersion: string; kind: string; name: string }): boolean {
  return groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && a.name === b.name;
}

/** Adds or refreshes (e.g. to a new apiVersion or uid) a reference to the owner; returns true when changed. */
export function setOwnerReference(obj: KubeObject, ref: OwnerReference): boolean {
  const refs = (obj.metadata.ownerReferences ??= []);
  const i = refs.findIndex((r) => sameOwner(r, ref));
  const existing = refs[i];
  if (!existing) {
    refs.push(ref);
    return true;
  }
  const merged = { ...existing, ...ref };
  if (JSON.stringify(merged) === JSON.stringify(existing)) return false;
  refs[i] = merged;
  return true;
}

/** Makes `owner` the controller of `obj`; refuses if another object already controls it. */
export function setControllerReference(obj: KubeObject, owner: KubeObject): boolean {
  const ref = ownerReferenceTo(owner, { controller: true });
  const current = controllerOf(obj);
  if (current && !sameOwner(current, ref)) {
    throw new Error(`${obj.metadata.name ?? ''} is already controlled by ${current.kind} ${current.name}`);
  }
  return setOwnerReference(obj, ref);
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function ownerOfType(obj: KubeObject, type: TypeMeta): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => groupOf(r.apiVersion) === groupOf(type.apiVersion) && r.kind === type.kind);
}

export function hasOwnerReference(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

export function removeOwnerReference(obj: KubeObject, owner: KubeObject): boolean {
  const refs = obj.metadata.ownerReferences;
  if (!refs?.some((r) => r.uid === owner.metadata.uid)) return false;
  obj.metadata.ownerReferences = refs.filter((r) => r.uid !== owner.metadata.uid);
  return true;
}
