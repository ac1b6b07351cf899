// What of a tenant Service's own metadata may travel to its infra Service. Tenants share the infra namespace, so
// labels in Cluster API's namespace (tenant identity, the keys infra selectors and ownership checks read) and
// annotations that join the Service to other Services' addresses are refused instead of carried.
import type { Service } from '../../lib/apis/core.js';
import { CLUSTER_API_LABEL_PREFIX, IP_SHARING_ANNOTATIONS } from '../api/labels.js';

// Tenant annotations that describe the tenant object itself and mean nothing (or too much) on the infra Service.
const NOT_CARRIED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const SHARING = new Set<string>(IP_SHARING_ANNOTATIONS);

const refusedLabel = (key: string): boolean => key.startsWith(CLUSTER_API_LABEL_PREFIX);
const refusedAnnotation = (key: string): boolean => key.startsWith(CLUSTER_API_LABEL_PREFIX) || SHARING.has(key);

export interface TenantMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Keys left behind because they could reach another tenant's objects, as `label <key>` / `annotation <key>`. */
  refused: string[];
}

export function tenantMetadata(tenant: Service): TenantMetadata {
  const refused: string[] = [];
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(tenant.metadata.labels ?? {})) {
    if (refusedLabel(key)) refused.push(`label ${key}`);
    else labels[key] = value;
  }
  for (const [key, value] of Object.entries(tenant.metadata.annotations ?? {})) {
    if (NOT_CARRIED_ANNOTATIONS.has(key)) continue;
    if (refusedAnnotation(key)) refused.push(`annotation ${key}`);
    else annotations[key] = value;
  }
  return { labels, annotations, refused: refused.sort() };
}
