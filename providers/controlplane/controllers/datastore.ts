// The DataStore reconciler: checks the operator can reach and authenticate to the datastore (status.ready),
// warns when etcd auth is off (prefix-scoped users then isolate nothing), lists the TenantControlPlanes using it
// (status.usedBy, which the deletion policy reads; a migrating tenant counts on both DataStores), and keeps its
// name and driver in the registry ConfigMap the TenantControlPlane admission policy checks references against.
import type { Logger } from 'pino';
import { markFalse, markTrue, setReadySummary } from '../../../lib/controller/conditions.js';
import { addFinalizer, removeFinalizer } from '../../../lib/controller/finalizers.js';
import { requeueAfter, done, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import {
  DATASTORE_REGISTRY_NAME,
  DATASTORE_REGISTRY_NAMESPACE,
  TENANT_CONTROL_PLANE_TYPE,
  type DataStore,
  type TenantControlPlane,
} from '../api/index.js';
import { resolveCredentials } from '../datastore/credentials.js';
import type { DriverPool } from '../datastore/driver-pool.js';
import { dataStoresOccupied } from '../datastore/migration.js';

export const DATASTORE_FINALIZER = 'kamaji.clastix.io/datastore';
export const CONNECTED = 'Connected';
export const AUTH_ENABLED = 'AuthEnabled';

export interface DataStoreDeps {
  client: Client;
  pool: DriverPool;
  log: Logger;
  defaultDataStore?: string | undefined;
  /** How often the connection is checked again. */
  healthCheckMs?: number;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The DataStore a TenantControlPlane uses, for the watch that maps tenants to their DataStore. */
export function dataStoreOf(tcp: TenantControlPlane, defaultDataStore: string | undefined): string | undefined {
  return tcp.spec.dataStore ?? tcp.status?.storage?.dataStoreName ?? defaultDataStore;
}

/** The DataStores a TenantControlPlane occupies: both ends while it migrates, so neither is deleted under it. */
export function dataStoresOf(tcp: TenantControlPlane, defaultDataStore: string | undefined): string[] {
  const names = dataStoresOccupied(tcp.spec.dataStore, tcp.status?.storage);
  return names.length > 0 ? names : defaultDataStore ? [defaultDataStore] : [];
}

/**
 * The DataStores whose usedBy may change with this TenantControlPlane's update: those it occupies and both ends of
 * its last migration (a completed migration's update is the one that takes it off the source's list).
 */
export function dataStoresToRecount(tcp: TenantControlPlane, defaultDataStore: string | undefined): string[] {
  const m = tcp.status?.storage?.migration;
  return [...new Set([...dataStoresOf(tcp, defaultDataStore), ...(m ? [m.source, m.target] : [])])].sort();
}

export class DataStoreReconciler implements Reconciler<DataStore> {
  constructor(private readonly deps: DataStoreDeps) {}

  async reconcile(ds: DataStore, ctx: ReconcileContext): Promise<Result> {
    const name = ds.metadata.name ?? '';
    const usedBy = await this.usedBy(name);
    if (JSON.stringify(ds.status?.usedBy ?? []) !== JSON.stringify(usedBy)) ds.status = { ...ds.status, usedBy };

    if (ds.metadata.deletionTimestamp) {
      // The admission policy refuses the deletion while tenants use it; a deletion that got through anyway
      // (policy not installed) still waits for them, so their etcd users can be cleaned up.
      if (usedBy.length > 0) return requeueAfter(this.deps.healthCheckMs ?? 30_000);
      await this.registry(name, null);
      this.deps.pool.forget(name);
      removeFinalizer(ds, DATASTORE_FINALIZER);
      return done();
    }
    addFinalizer(ds, DATASTORE_FINALIZER);
    await this.registry(name, ds.spec.driver);

    try {
      const creds = await resolveCredentials(this.deps.client, ds);
      const enabled = await this.deps.pool.driverFor(name, creds).authEnabled();
      markTrue(ds, CONNECTED, 'Connected', `reached ${ds.spec.endpoints.join(', ')}`);
      if (enabled) markTrue(ds, AUTH_ENABLED, 'AuthEnabled', 'tenant etcd users are confined to their prefixes');
      else if (markFalse(ds, AUTH_ENABLED, 'AuthDisabled', 'etcd auth is disabled: tenant users are not enforced and every tenant can read every key; enable it (etcdctl auth enable) with a root user')) {
        ctx.events.warning('AuthDisabled', 'CheckDataStore', 'etcd auth is disabled, so tenants are not isolated from each other');
      }
    } catch (err) {
      if (markFalse(ds, CONNECTED, 'ConnectionFailed', (err as Error).message)) ctx.events.warning('ConnectionFailed', 'CheckDataStore', (err as Error).message);
    }
    setReadySummary(ds, { conditions: [CONNECTED] });
    const ready = ds.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ds.status?.ready !== ready) ds.status = { ...ds.status, ready };
    if (ds.status.observedGeneration !== ds.metadata.generation) ds.status = { ...ds.status, observedGeneration: ds.metadata.generation };
    return requeueAfter(this.deps.healthCheckMs ?? 60_000);
  }

  private async usedBy(name: string): Promise<string[]> {
    const tcps = await this.deps.client.list<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE);
    return tcps
      .filter((t) => dataStoresOf(t, this.deps.defaultDataStore).includes(name))
      .map((t) => `${t.metadata.namespace ?? ''}/${t.metadata.name ?? ''}`)
      .sort();
  }

  /** Adds (driver) or removes (null) this DataStore's key in the admission registry, writing only on change. */
  private async registry(name: string, driver: string | null): Promise<void> {
    const ref = { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME };
    const cm = await this.deps.client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, ref);
    if ((cm?.data?.[name] ?? null) === driver) return;
    if (!cm) {
      if (driver === null) return;
      await this.deps.client.create<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: ref, data: { [name]: driver } });
      return;
    }
    await this.deps.client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap' }, ref, { data: { [name]: driver } });
  }
}
