// What a cluster template adds beside the Cluster's own objects (the tenant's cloud controller manager: its
// Deployment, cloud-config, ServiceAccount and Role), and the infra load balancers that CCM made for the tenant's
// Services. Nothing owns them, so they are deleted with the KubevirtCluster, as CAPK deletes its templates' extras.
import { SERVICE_TYPE } from '../../../lib/apis/core.js';
import type { Client } from '../../../lib/kube/client.js';
import type { TypeMeta } from '../../../lib/kube/object.js';
import { CLUSTER_NAME_LABEL, TEMPLATE_KIND_EXTRA_RESOURCE, TEMPLATE_KIND_LABEL } from '../api/index.js';

/** The kinds CAPK deletes by the extra-resource label; a template's extras are of these kinds. */
export const TEMPLATE_EXTRA_KINDS: readonly TypeMeta[] = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
];

/** The label the KubeVirt CCM puts on every infra Service it makes for a tenant Service. */
const TENANT_SERVICE_NAME_LABEL = 'cluster.x-k8s.io/tenant-service-name';

/**
 * Deletes the cluster's template extras in `namespace` and the infra Services its CCM left there (the tenant, and
 * with it the CCM's chance to remove them, is gone by now). Returns how many deletions it issued.
 */
export async function deleteTemplateExtras(client: Client, namespace: string, clusterName: string): Promise<number> {
  const targets: { type: TypeMeta; labelSelector: string }[] = [
    ...TEMPLATE_EXTRA_KINDS.map((type) => ({ type, labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName},${TEMPLATE_KIND_LABEL}=${TEMPLATE_KIND_EXTRA_RESOURCE}` })),
    { type: SERVICE_TYPE, labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName},${TENANT_SERVICE_NAME_LABEL}` },
  ];
  let deleted = 0;
  for (const { type, labelSelector } of targets) {
    let items;
    try {
      items = await client.list(type, { namespace, labelSelector, direct: true });
    } catch (err) {
      throw new Error(`list ${type.kind}s of cluster ${namespace}/${clusterName}: ${(err as Error).message}`, { cause: err });
    }
    for (const obj of items.filter((o) => !o.metadata.deletionTimestamp)) {
      const name = obj.metadata.name ?? '';
      try {
        await client.delete(type, { namespace, name });
      } catch (err) {
        throw new Error(`delete ${type.kind} ${namespace}/${name} of cluster ${clusterName}: ${(err as Error).message}`, { cause: err });
      }
      deleted++;
    }
  }
  return deleted;
}
