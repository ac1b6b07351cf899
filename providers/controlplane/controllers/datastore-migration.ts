// Drives a TenantControlPlane's DataStore migration (the phases are described in datastore/migration.ts). The
// TenantControlPlane reconciler runs its usual steps against the DataStore that serves the tenant in this pass
// (the source until the copy is done, the target after), with the write-permissions phase blocking every write
// while the migration needs it; then it calls `stepMigration`, which moves to the next phase only once the
// current one is done, one phase per pass, so every phase starts from a status that records the one before.
// Kamaji leaves the tenant's data on the old DataStore; kvcloud removes the tenant's keys and etcd user there once
// the tenant runs on the new one: the copy is then the only live data, and stale keys under a prefix nobody owns
// would be served again, unnoticed, if the tenant ever moved back. --datastore-data-on-delete is about deleting a
// tenant, whose data nobody else holds; here the data is not deleted but moved, so it does not apply.
import { markFalse, markTrue } from '../../../lib/controller/conditions.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { done, requeueAfter, type ReconcileContext, type Result } from '../../../lib/controller/reconciler.js';
import { isForbidden } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';
import type { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import { DATASTORE_TYPE, dataStoreSchemaOf, dataStoreUsernameOf, type DataStore, type TenantControlPlane } from '../api/index.js';
import { resolveCredentials, type DataStoreCredentials } from '../datastore/credentials.js';
import type { DriverPool } from '../datastore/driver-pool.js';
import { copyPrefix } from '../datastore/etcd-copy.js';
import { tenantPrefix } from '../datastore/etcd-driver.js';
import type { Migration, MigrationPhase } from '../datastore/migration.js';
import { ADMIN_KUBECONFIG_SECRET } from '../kubeconfig/secrets.js';
import type { Deployment } from '../management/deployment.js';
import { rolledOut } from './version-status.js';

export const MIGRATION_CONDITION = 'DataStoreMigrated';

/** Part of the write-permissions policy's refusal while migrating (tenant/write-permissions.ts). */
const BLOCK_MESSAGE = 'migrates to another DataStore';

export interface MigrationDeps {
  client: Client;
  pool: DriverPool;
  tenants: ClusterAccessCache<RemoteCluster>;
}

interface Store {
  ds: DataStore;
  creds: DataStoreCredentials;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

async function loadStore(client: Client, name: string): Promise<DataStore | undefined> {
  return client.get<DataStore & { metadata: object }>(DATASTORE_TYPE, { name });
}

function record(tcp: TenantControlPlane, m: Migration, extra: Record<string, unknown> = {}): void {
  const storage = tcp.status?.storage;
  tcp.status = { ...tcp.status, storage: { ...storage, migration: { ...storage?.migration, source: m.source, target: m.target, phase: m.phase, ...extra } } };
}

function advance(tcp: TenantControlPlane, m: Migration, phase: MigrationPhase, extra: Record<string, unknown> = {}): void {
  record(tcp, { ...m, phase }, extra);
}

/**
 * Checks that a migration requested by a spec.dataStore change can run (the target exists and has the same
 * driver) and records its start; returns the refusal when it cannot, which the caller reports and ignores.
 */
export async function startMigration(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, ctx: ReconcileContext): Promise<string | undefined> {
  const target = await loadStore(deps.client, m.target);
  const driver = tcp.status?.storage?.driver;
  let refusal: { reason: string; message: string } | undefined;
  if (!target) refusal = { reason: 'TargetDataStoreNotFound', message: `DataStore ${m.target} does not exist; the tenant stays on ${m.source}` };
  else if (driver && target.spec.driver !== driver) {
    refusal = {
      reason: 'DriverMismatch',
      message: `DataStore ${m.target} uses the ${target.spec.driver} driver and ${m.source} the ${driver} driver: a migration copies data between DataStores of the same driver only; the tenant stays on ${m.source}`,
    };
  }
  if (refusal) {
    if (markFalse(tcp, MIGRATION_CONDITION, refusal.reason, refusal.message)) ctx.events.warning(refusal.reason, 'MigrateDataStore', refusal.message);
    return refusal.message;
  }
  tcp.status = { ...tcp.status, storage: { ...tcp.status?.storage, migration: { ...m, startedAt: now() } } };
  markFalse(tcp, MIGRATION_CONDITION, 'BlockingWrites', `moving from DataStore ${m.source} to ${m.target}: blocking the tenant's writes`);
  ctx.events.normal('MigrationStarted', 'MigrateDataStore', `moving the tenant's data from DataStore ${m.source} to ${m.target}; its users' writes are refused until it completes`);
  return undefined;
}

export interface StepInputs {
  deployment: Deployment;
  /** The Secret holding admin.conf: the identity handed to users, which the write block must refuse. */
  adminKubeconfigSecret: string;
  /** Forget that the write-permissions phase was applied, so the next pass applies (or deletes) it again. */
  resyncWriteBlock: () => void;
}

/** Runs the current phase; returns how to come back. */
export async function stepMigration(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, inputs: StepInputs, ctx: ReconcileContext): Promise<Result> {
  switch (m.phase) {
    case 'BlockingWrites':
      return blockWrites(deps, tcp, m, inputs);
    case 'Copying':
      return copy(deps, tcp, m, ctx);
    case 'Switching':
      return switchOver(deps, tcp, m, inputs);
    case 'Cleaning':
      return clean(deps, tcp, m, inputs, ctx);
    case 'Completed':
      return done();
  }
}

// Whether the tenant apiserver refuses a user's write for the migration: a dry-run create as admin.conf, the
// identity users get. The policy objects being in the tenant is not enough: the apiserver loads them asynchronously.
async function writesRefused(deps: MigrationDeps, tcp: TenantControlPlane, inputs: StepInputs): Promise<boolean> {
  const admin = await deps.tenants.kubeconfigSecret({ namespace: tcp.metadata.namespace, name: inputs.adminKubeconfigSecret }, ADMIN_KUBECONFIG_SECRET.admin);
  const probe = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kvcloud-migration-write-probe', namespace: 'default' } };
  try {
    await admin.client.create(probe, { dryRun: true });
    return false;
  } catch (err) {
    if (!isForbidden(err) || !(err as Error).message.includes(BLOCK_MESSAGE)) throw new Error(`probe the tenant's write block: ${(err as Error).message}`, { cause: err });
    return true;
  }
}

async function blockWrites(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, inputs: StepInputs): Promise<Result> {
  if (!(await writesRefused(deps, tcp, inputs))) {
    markFalse(tcp, MIGRATION_CONDITION, 'WaitingForWriteBlock', 'the tenant apiserver still accepts writes; waiting for it to load the write-block policy');
    return requeueAfter(500);
  }
  advance(tcp, m, 'Copying');
  markFalse(tcp, MIGRATION_CONDITION, 'Copying', `writes are blocked; copying ${tenantPrefix(dataStoreSchemaOf(tcp))} from DataStore ${m.source} to ${m.target}`);
  return requeueAfter(1);
}

async function storeOrThrow(client: Client, name: string): Promise<Store> {
  const ds = await loadStore(client, name);
  if (!ds) throw new Error(`DataStore ${name} does not exist`);
  return { ds, creds: await resolveCredentials(client, ds) };
}

async function copy(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, ctx: ReconcileContext): Promise<Result> {
  const tenant = { user: dataStoreUsernameOf(tcp), schema: dataStoreSchemaOf(tcp) };
  const prefix = tenantPrefix(tenant.schema);
  try {
    const source = await storeOrThrow(deps.client, m.source);
    const target = await storeOrThrow(deps.client, m.target);
    const to = deps.pool.driverFor(m.target, target.creds);
    await to.ensureTenant(tenant);
    const started = Date.now();
    const res = await copyPrefix(deps.pool.driverFor(m.source, source.creds).kv, to.kv, prefix);
    const ms = Date.now() - started;
    advance(tcp, m, 'Switching', { copiedKeys: res.copied });
    markFalse(tcp, MIGRATION_CONDITION, 'Switching', `copied ${res.copied} keys to DataStore ${m.target}; rolling the control plane over to it`);
    ctx.events.normal(
      'DataStoreCopied',
      'MigrateDataStore',
      `copied ${res.copied} keys under ${prefix} from DataStore ${m.source} to ${m.target} (revision ${res.revision}) in ${ms} ms; ${res.skippedLeased} keys bound to etcd leases (Events, leases) not copied`,
    );
    ctx.log.info({ source: m.source, target: m.target, copied: res.copied, skippedLeased: res.skippedLeased, ms }, 'copied tenant keys');
  } catch (err) {
    markFalse(tcp, MIGRATION_CONDITION, 'CopyFailed', (err as Error).message);
    ctx.events.warning('CopyFailed', 'MigrateDataStore', (err as Error).message);
    throw err;
  }
  return requeueAfter(1);
}

// The reconciler already applied the Deployment with the target's servers and a client certificate from its CA;
// the switch is done when the Deployment has rolled out. An old pod may still answer for a while though (it
// terminates after --shutdown-delay-duration, and kept-alive connections reach it): its etcd user is removed from
// the source now, so whatever still lands there fails instead of writing to data nobody will read again.
async function switchOver(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, inputs: StepInputs): Promise<Result> {
  if (!rolledOut(inputs.deployment)) {
    markFalse(tcp, MIGRATION_CONDITION, 'Switching', `waiting for the control plane pods on DataStore ${m.target} to roll out`);
    return done(); // the Deployment watch brings us back
  }
  const source = await loadStore(deps.client, m.source);
  if (source) {
    const tenant = { user: dataStoreUsernameOf(tcp), schema: dataStoreSchemaOf(tcp) };
    await deps.pool.driverFor(m.source, await resolveCredentials(deps.client, source)).removeTenant(tenant, { deleteData: false });
  }
  advance(tcp, m, 'Cleaning');
  tcp.status = { ...tcp.status, storage: { ...tcp.status?.storage, dataStoreName: m.target } };
  markFalse(tcp, MIGRATION_CONDITION, 'Cleaning', `the tenant runs on DataStore ${m.target}; allowing writes and removing its data from ${m.source}`);
  return requeueAfter(1);
}

async function clean(deps: MigrationDeps, tcp: TenantControlPlane, m: Migration, inputs: StepInputs, ctx: ReconcileContext): Promise<Result> {
  // The reconciler lifted the write block in this pass; a lift that reached an old pod failed against the fenced
  // source, but check that users may write before calling the migration done.
  if (await writesRefused(deps, tcp, inputs)) {
    inputs.resyncWriteBlock();
    markFalse(tcp, MIGRATION_CONDITION, 'Cleaning', 'the tenant apiserver still refuses writes; lifting the write block again');
    return requeueAfter(1000);
  }
  const tenant = { user: dataStoreUsernameOf(tcp), schema: dataStoreSchemaOf(tcp) };
  let deletedKeys = 0;
  const source = await loadStore(deps.client, m.source);
  if (source) {
    try {
      ({ deletedKeys } = await deps.pool.driverFor(m.source, await resolveCredentials(deps.client, source)).removeTenant(tenant, { deleteData: true }));
    } catch (err) {
      markFalse(tcp, MIGRATION_CONDITION, 'CleanupFailed', (err as Error).message);
      ctx.events.warning('CleanupFailed', 'MigrateDataStore', (err as Error).message);
      throw err;
    }
  }
  const started = Date.parse(tcp.status?.storage?.migration?.startedAt ?? '');
  const seconds = Number.isNaN(started) ? undefined : Math.round((Date.now() - started) / 1000);
  advance(tcp, m, 'Completed', { finishedAt: now() });
  const cleaned = source ? `etcd user ${tenant.user} and ${deletedKeys} keys removed from ${m.source}` : `DataStore ${m.source} is gone, nothing left to remove there`;
  const message = `moved from DataStore ${m.source} to ${m.target}${seconds === undefined ? '' : ` in ${seconds}s`}: ${tcp.status?.storage?.migration?.copiedKeys ?? 0} keys copied; ${cleaned}`;
  markTrue(tcp, MIGRATION_CONDITION, 'Completed', message);
  ctx.events.normal('MigrationCompleted', 'MigrateDataStore', message);
  return requeueAfter(1);
}
