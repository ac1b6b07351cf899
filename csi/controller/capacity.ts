// GetCapacity: how much the tenant may still provision, which is its storage budget in the infra cluster: the
// ResourceQuotas of its infra namespace (requests.storage, <class>.storageclass.storage.k8s.io/requests.storage, and
// the claim counts beside them), as the apiserver's quota admission will judge the claims CDI creates. The infra
// storage's own free space is not the tenant's to see (CSIStorageCapacity objects live in the infra driver's
// namespace). Where no quota bounds the bytes, the capacity is unknown, and CSI has no value for unknown (zero, or no
// answer at all, mean "none" to the Kubernetes scheduler), so the answer is an error that names the missing quota.
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';
import { failedPrecondition, unavailable } from '../status.js';
import { quantityBytes } from './datavolume.js';

export const RESOURCE_QUOTA_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'ResourceQuota' };

export interface ResourceQuota extends KubeObject {
  spec?: { hard?: Record<string, string>; scopes?: string[]; scopeSelector?: unknown };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

const CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

/**
 * The infra StorageClass the volumes asked about would get: `{ name }` for a named (or the known default) class, or
 * `{ name: undefined }` for the default class when the controller may not read StorageClasses to learn its name.
 */
export interface InfraClass {
  name: string | undefined;
}

/** What quota resource `resource` limits for claims of `cls`: their bytes, their number, or nothing. */
function limitKind(resource: string, cls: InfraClass): 'bytes' | 'claims' | undefined {
  const at = resource.indexOf(CLASS_SUFFIX);
  const scope = at < 0 ? undefined : resource.slice(0, at);
  const rest = at < 0 ? resource : resource.slice(at + CLASS_SUFFIX.length);
  // A class's own limit counts for its claims; for a default class whose name is unknown, every class's limit does,
  // so the answer is one the volume surely fits (a lower bound) rather than one it may not.
  if (scope !== undefined && cls.name !== undefined && scope !== cls.name) return undefined;
  if (rest === 'requests.storage') return 'bytes';
  if (rest === 'persistentvolumeclaims' || (scope === undefined && rest === 'count/persistentvolumeclaims')) return 'claims';
  return undefined;
}

export interface Remaining {
  /** Bytes left under the tightest byte limit; undefined when no quota limits bytes. */
  bytes: number | undefined;
  /** Claims left under the tightest count limit; undefined when no quota counts claims. */
  claims: number | undefined;
}

/**
 * What the namespace's quotas leave for claims of `cls`, from each quota's status (hard and used, as the quota
 * controller last computed them). Scoped quotas select pods or claims by attributes the DataVolumes' claims do not
 * carry, so they are not counted. A quota whose usage is not computed yet is UNAVAILABLE: retry shortly.
 */
export function remainingUnderQuotas(quotas: readonly ResourceQuota[], cls: InfraClass): Remaining {
  let bytes: number | undefined;
  let claims: number | undefined;
  for (const q of quotas) {
    if ((q.spec?.scopes ?? []).length > 0 || q.spec?.scopeSelector) continue;
    for (const [resource, hardText] of Object.entries(q.spec?.hard ?? {})) {
      const kind = limitKind(resource, cls);
      if (!kind) continue;
      const hard = quantityBytes(q.status?.hard?.[resource] ?? hardText);
      const used = quantityBytes(q.status?.used?.[resource]);
      if (hard === undefined || used === undefined) throw unavailable(`ResourceQuota ${q.metadata.namespace ?? ''}/${q.metadata.name ?? ''}: the usage of ${resource} is not computed yet; retry`);
      const left = Math.max(0, hard - used);
      if (kind === 'bytes') bytes = Math.min(bytes ?? left, left);
      else claims = Math.min(claims ?? left, left);
    }
  }
  return { bytes, claims };
}

/** available_capacity for what the quotas leave; FAILED_PRECONDITION when nothing bounds the bytes. */
export function availableCapacity(left: Remaining, namespace: string, cls: InfraClass): number {
  // No claim left to create: nothing can be provisioned, whatever the bytes.
  if (left.claims === 0) return 0;
  if (left.bytes !== undefined) return left.bytes;
  const classKey = cls.name !== undefined ? ` or ${cls.name}${CLASS_SUFFIX}requests.storage` : '';
  throw failedPrecondition(
    `no ResourceQuota in the infra namespace ${namespace} limits requests.storage${classKey}, so the tenant's storage is unbounded and its capacity unknown (CSI has no value for unknown: 0 would mean none); give the namespace a storage quota to report capacity`,
  );
}
