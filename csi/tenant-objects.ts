// The tenant side of the driver (CSIDriver, node plugin DaemonSet, default StorageClass, RBAC), applied into the
// tenant by the controller itself when --tenant-manifests names them: the cluster templates mount config/csi/tenant
// from the Cluster's <cluster>-csi-tenant ConfigMap, so a Cluster gets its whole driver from its own objects, at the
// controller's version, and the opt-out (no controller) leaves nothing in the tenant. Server-side apply without
// force: a field a tenant admin has taken over (the default-class annotation, say) stays theirs.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { isConflict } from '../lib/kube/api-error.js';
import type { Client } from '../lib/kube/client.js';
import { objectKey, type KubeObject } from '../lib/kube/object.js';
import type { Logger } from '../lib/observability/logger.js';

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

const named = (o: KubeObject) => `${o.kind ?? ''} ${objectKey(o)}`;

/**
 * Applies `objects` in order (the Namespace before what lives in it). Returns the objects left as they are because
 * someone else owns a field we would set; any other failure is thrown for the caller to retry.
 */
export async function applyTenantObjects(tenant: Client, objects: readonly KubeObject[], log: Logger): Promise<string[]> {
  const kept: string[] = [];
  for (const obj of objects) {
    try {
      await tenant.apply(obj, { force: false });
    } catch (err) {
      if (!isConflict(err)) throw new Error(`apply ${named(obj)} in the tenant: ${(err as Error).message}`, { cause: err });
      kept.push(named(obj));
      log.warn({ object: named(obj), err: (err as Error).message }, 'left a tenant object whose fields another manager owns');
    }
  }
  return kept;
}

/** The objects of the manifest file --tenant-manifests names; read before serving, so a bad file stops start-up. */
export async function readTenantManifests(path: string): Promise<KubeObject[]> {
  return parseTenantManifests(await readFile(path, 'utf8'), path);
}

export interface TenantInstallOptions {
  tenant: Client;
  objects: readonly KubeObject[];
  log: Logger;
  signal: AbortSignal;
  /** First retry delay; doubled up to maxDelayMs. */
  delayMs?: number;
  maxDelayMs?: number;
}

/**
 * Applies the objects until each is applied or left to its owner, retrying with backoff while the tenant cannot take
 * them (its apiserver still coming up); returns when done or aborted.
 */
export async function installTenantObjects(opts: TenantInstallOptions): Promise<void> {
  const { objects } = opts;
  let delay = opts.delayMs ?? 1_000;
  for (let attempt = 1; !opts.signal.aborted; attempt++) {
    try {
      const kept = await applyTenantObjects(opts.tenant, objects, opts.log);
      opts.log.info({ objects: objects.length, kept: kept.length, attempt }, 'applied the tenant objects');
      return;
    } catch (err) {
      opts.log.warn({ err: (err as Error).message, attempt, retryInMs: delay }, 'tenant objects not applied yet');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        opts.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 30_000);
    }
  }
}
