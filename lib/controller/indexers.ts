// Index functions controllers commonly need: children by owner UID (what `owns` and cleanup look up), objects
// by a label's value (e.g. all Machines of a Cluster), and by namespace.
import type { KubeObject } from '../kube/object.js';
import type { IndexFunc } from './object-store.js';

export const OWNER_UID_INDEX = 'ownerUID';
export const NAMESPACE_INDEX = 'namespace';

export const byOwnerUid: IndexFunc<KubeObject> = (obj) => (obj.metadata.ownerReferences ?? []).map((o) => o.uid);

export const byNamespace: IndexFunc<KubeObject> = (obj) => [obj.metadata.namespace ?? ''];

export function labelIndexName(labelKey: string): string {
  return `label:${labelKey}`;
}

export function byLabel(labelKey: string): IndexFunc<KubeObject> {
  return (obj) => {
    const value = obj.metadata.labels?.[labelKey];
    return value === undefined ? [] : [value];
  };
}
