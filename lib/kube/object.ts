// The JSON shapes every Kubernetes object shares, as they travel on the wire (timestamps are RFC 3339 strings).
// Our own and upstream kinds extend KubeObject with their spec and status.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

/** apiVersion + kind: enough to find the REST resource through discovery. */
export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

/** metav1.Status, what the apiserver returns for errors and in watch ERROR events. */
export interface ApiStatus {
  kind?: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** Namespace and name of one object; namespace is absent for cluster-scoped kinds. */
export interface ObjectRef {
  namespace?: string | undefined;
  name: string;
}

/** "namespace/name" or "name": the work-queue and cache key, as client-go spells it. */
export function objectKey(obj: KubeObject | ObjectRef): string {
  const ref = 'metadata' in obj ? { namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' } : obj;
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function parseObjectKey(key: string): ObjectRef {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function typeMetaOf(obj: KubeObject): TypeMeta {
  if (!obj.apiVersion || !obj.kind) {
    throw new Error(`object ${objectKey(obj)} has no apiVersion/kind; set them before writing it`);
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind };
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/** "ConfigMap.v1" / "Lease.v1.coordination.k8s.io": the resource label our logs and metrics use. */
export function describeType(type: TypeMeta): string {
  const group = groupOf(type.apiVersion);
  return `${type.kind}.${versionOf(type.apiVersion)}${group ? `.${group}` : ''}`;
}
