// The tenant side of the driver (CSIDriver, node plugin DaemonSet, default StorageClass, RBAC), applied into the
// tenant by the controller itself when --tenant-manifests names them, and kept applied while it runs
// (tenant-objects-keeper.ts): the cluster templates mount config/csi/tenant from the Cluster's <cluster>-csi-tenant
// ConfigMap, so a Cluster gets its whole driver from its own objects, at the controller's version, and the opt-out
// (no controller) leaves nothing in the tenant.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../lib/kube/object.js';

/** Every object of a multi-document manifest, in order; a document without apiVersion, kind or name is refused. */
export function parseTenantManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${String(i + 1)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Partial<KubeObject> | null;
    if (value === null) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) throw new Error(`${source}: document ${String(i + 1)} needs apiVersion, kind and metadata.name`);
    objects.push(value as KubeObject);
  }
  return objects;
}

/** The objects of the manifest file --tenant-manifests names; read before serving, so a bad file stops start-up. */
export async function readTenantManifests(path: string): Promise<KubeObject[]> {
  return parseTenantManifests(await readFile(path, 'utf8'), path);
}
