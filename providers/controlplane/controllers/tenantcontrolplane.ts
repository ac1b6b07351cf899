// The TenantControlPlane reconciler: a tenant's control plane as pods in the management cluster. Each step is
// idempotent, names its objects deterministically and returns early while it waits, saying why in a condition:
// DataStore -> Service and endpoint -> certificates -> datastore user and prefix -> kubeconfigs -> Deployment ->
// the tenant apiserver answering /readyz -> the kubeadm objects and addons inside the tenant -> Ingress/Gateway ->
// the next phase of a DataStore migration (datastore-migration.ts) or of a requested CA rotation. It comes back
// when the first certificate is due for renewal.
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Client } from '../../../lib/kube/client.js';
import type { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { markFalse, markTrue, markUnknown, setReadySummary } from '../../../lib/controller/conditions.js';
import { addFinalizer, removeFinalizer } from '../../../lib/controller/finalizers.js';
import { setControllerReference } from '../../../lib/controller/owner-references.js';
import { objectKey } from '../../../lib/kube/object.js';
import { PAUSED_CONDITION } from '../../../lib/controller/paused.js';
import { DELETE_FOR_MOVE_ANNOTATION } from '../../../lib/controller/cluster-api-keys.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import { DATASTORE_TYPE, dataStoreSchemaOf, dataStoreUsernameOf, PAUSED_ANNOTATION, type DataStore, type TenantControlPlane } from '../api/index.js';
import { resolveCredentials, type DataStoreCredentials } from '../datastore/credentials.js';
import type { DriverPool } from '../datastore/driver-pool.js';
import { tenantPrefix } from '../datastore/etcd-driver.js';
import { blocksWrites, decideStorage, type Migration } from '../datastore/migration.js';
import { phaseChecksum, phaseIntact, syncPhase, tenantPhases, type Phase } from '../tenant/phases.js';
import { blockedOperations } from '../tenant/write-permissions.js';
import { buildDeployment, egressSelectorConfiguration, type Deployment } from '../management/deployment.js';
import { userNamespacesSupported } from '../management/hardening.js';
import { apiServerPort, managementRangeConflict, type ManagementRanges } from '../management/network.js';
import { buildService, endpointAddress, joinHostPort, type Service } from '../management/service.js';
import { CA_ROTATION_KEYS, DEFAULT_PKI_OPTIONS, type PKIOptions } from '../pki/index.js';
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';
import { MIGRATION_CONDITION, startMigration, stepMigration } from './datastore-migration.js';
import { ensureCredentials, type ControlPlaneCredentials } from './credentials-step.js';
import { releaseForMove, takeBackReleased } from './handover-release.js';
import { PAUSED_FOR_CLUSTER } from './kamajicontrolplane-move.js';
import { exposeThroughIngressOrGateway } from './exposure.js';
import { reconcileCARotation } from './rotation-ca.js';
import { untilRenewal } from './rotation-schedule.js';
import { withCASigner } from './rotation-signer.js';
import { probeTenant } from './tenant-probe.js';
import { addonVersion, decideVersionStatus, type VersionInputs } from './version-status.js';
import { WritePermissionsWatch } from './write-permissions-watch.js';
import type { ServingCertificateApprover } from './serving-csr-approver.js';

export const TCP_FINALIZER = 'kamaji.clastix.io/finalizer';

/** How often a Ready tenant is looked at again (its etcd user, its apiserver) without any event. */
const READY_RESYNC_MS = 5 * 60_000;

export const CONDITIONS = {
  dataStore: 'DataStoreReady',
  endpoint: 'EndpointReady',
  certificates: 'CertificatesReady',
  storage: 'DataStoreSetupReady',
  deployment: 'DeploymentReady',
  apiServer: 'APIServerReady',
  tenant: 'TenantResourcesReady',
} as const;
const SUMMARY = Object.values(CONDITIONS);

export interface TenantControlPlaneDeps {
  client: Client;
  pool: DriverPool;
  tenants: ClusterAccessCache<RemoteCluster>;
  log: Logger;
  /** The DataStore used when spec.dataStore is empty (Kamaji's --datastore flag). */
  defaultDataStore?: string | undefined;
  /** Delete the tenant's keys with its etcd user (Kamaji's behaviour), or keep them. */
  deleteDataOnRemoval: boolean;
  /** How often to look again while waiting for things no watch reports (the tenant apiserver, etcd). */
  pollMs?: number;
  /** Key algorithm, lifetimes and the renewal threshold of the tenants' certificates. */
  pki?: PKIOptions;
  /** Queues a TenantControlPlane (namespace/name) again: changes inside its tenant are no event of the management cluster. */
  enqueue?: (key: string) => void;
  /** The management cluster's ranges (--management-pod-cidr, --management-service-cidr): tenants must stay apart. */
  managementRanges?: ManagementRanges | undefined;
  /** Approves the kubelets' serving CSRs inside each tenant once its resources are applied. */
  servingCertificates?: ServingCertificateApprover | undefined;
}

/** The DataStore serving the tenant in this pass, and the migration in progress (not yet validated when new). */
function storageOf(tcp: TenantControlPlane, deps: TenantControlPlaneDeps): { serving: string | undefined; migration: Migration | undefined } {
  const d = decideStorage(tcp.spec.dataStore, tcp.status?.storage);
  return { serving: d.serving ?? deps.defaultDataStore, migration: d.migration };
}

/** The migration recorded in status and not finished. */
function runningMigration(tcp: TenantControlPlane): Migration | undefined {
  const m = tcp.status?.storage?.migration;
  return m && m.phase !== 'Completed' ? m : undefined;
}

export class TenantControlPlaneReconciler implements Reconciler<TenantControlPlane> {
  /** Per tenant uid, the checksum of each tenant phase last applied by this process. */
  private readonly applied = new Map<string, Map<string, string>>();
  /** Per tenant uid, the storage checksum this process set up: the cache may not show our status write yet. */
  private readonly storageSetUp = new Map<string, string>();
  private readonly writePermissionsWatch: WritePermissionsWatch | undefined;

  constructor(private readonly deps: TenantControlPlaneDeps) {
    this.writePermissionsWatch = deps.enqueue ? new WritePermissionsWatch(deps.enqueue) : undefined;
  }

  async reconcile(tcp: TenantControlPlane, ctx: ReconcileContext): Promise<Result> {
    const pausedBy = tcp.metadata.annotations?.[PAUSED_ANNOTATION];
    // clusterctl replaces all annotations with delete-for-move right before it deletes the source copy, which
    // removes the pause: that copy must stay hands-off all the same, or it takes back what it released.
    const movingOut = tcp.metadata.annotations?.[DELETE_FOR_MOVE_ANNOTATION] !== undefined;
    if (pausedBy !== undefined || movingOut) {
      // Paused with its Cluster, perhaps for clusterctl move: Paused lets the move go, so release first.
      if ((pausedBy === PAUSED_FOR_CLUSTER || movingOut) && !(await releaseForMove(this.deps.client, tcp, ctx))) return requeueAfter(this.pollMs);
      if (movingOut && tcp.metadata.deletionTimestamp) return this.reconcileDelete(tcp, ctx);
      markTrue(tcp, PAUSED_CONDITION, 'Paused', movingOut ? 'clusterctl move is deleting this copy' : `the ${PAUSED_ANNOTATION} annotation is set`);
      return done();
    }
    markFalse(tcp, PAUSED_CONDITION, 'NotPaused');
    if (tcp.metadata.deletionTimestamp) return this.reconcileDelete(tcp, ctx);
    addFinalizer(tcp, TCP_FINALIZER);
    try {
      await takeBackReleased(this.deps.client, tcp, ctx);
      return await this.reconcileNormal(tcp, ctx);
    } finally {
      setReadySummary(tcp, { conditions: SUMMARY });
      tcp.status = { ...tcp.status, observedGeneration: tcp.metadata.generation };
    }
  }

  private async reconcileNormal(tcp: TenantControlPlane, ctx: ReconcileContext): Promise<Result> {
    // Admission cannot know the management cluster's ranges; the operator is told them and refuses here.
    const conflict = this.deps.managementRanges && managementRangeConflict(tcp.spec.networkProfile, this.deps.managementRanges);
    if (conflict) {
      if (markFalse(tcp, CONDITIONS.deployment, 'NetworkOverlapsManagement', conflict)) ctx.events.warning('NetworkOverlapsManagement', 'ValidateNetwork', conflict);
      return done(); // a spec change brings the tenant back
    }
    const decided = storageOf(tcp, this.deps);
    let migration = decided.migration;
    if (!migration && this.migrationRefused(tcp)) {
      markTrue(tcp, MIGRATION_CONDITION, 'NotRequested', 'spec.dataStore names the DataStore in use again');
    }
    if (migration && !runningMigration(tcp)) {
      // A new spec.dataStore: validated here, as admission may not have seen the DataStores (policy not installed).
      const refusal = await startMigration(this.deps, tcp, migration, ctx);
      if (refusal) migration = undefined;
    }
    const dataStore = await this.observeDataStore(tcp, decided.serving, migration === undefined && !this.migrationRefused(tcp));
    if (!dataStore) return done(); // the DataStore watch brings us back
    let creds: DataStoreCredentials;
    try {
      creds = await resolveCredentials(this.deps.client, dataStore);
    } catch (err) {
      markFalse(tcp, CONDITIONS.dataStore, 'DataStoreCredentialsUnavailable', (err as Error).message);
      return requeueAfter(this.pollMs);
    }
    markTrue(tcp, CONDITIONS.dataStore, 'DataStoreFound', `DataStore ${dataStore.metadata.name ?? ''}`);

    const endpoint = await this.ensureService(tcp);
    if (!endpoint) return done(); // the Service watch reports the load balancer's ingress

    const credentials = await ensureCredentials(this.deps.client, tcp, endpoint, creds, ctx, this.deps.pki);
    if (!credentials) {
      markFalse(tcp, CONDITIONS.certificates, 'WaitingForDataStoreCA', 'the DataStore has no CA private key to sign the tenant client certificate');
      return done();
    }
    markTrue(tcp, CONDITIONS.certificates, 'CertificatesIssued');
    return untilRenewal(await this.reconcileWithCredentials(tcp, dataStore, creds, endpoint, credentials, ctx), credentials.renewAt, Date.now());
  }

  private async reconcileWithCredentials(
    tcp: TenantControlPlane,
    dataStore: DataStore,
    creds: DataStoreCredentials,
    endpoint: { host: string; port: number },
    credentials: ControlPlaneCredentials,
    ctx: ReconcileContext,
  ): Promise<Result> {
    if (!(await this.ensureStorage(tcp, dataStore, creds, ctx))) return requeueAfter(this.pollMs);

    const deployment = await this.ensureDeployment(tcp, endpoint.host, credentials, creds);
    const readyReplicas = deployment.status?.readyReplicas ?? 0;
    if (readyReplicas < 1) {
      markFalse(tcp, CONDITIONS.deployment, 'WaitingForPods', `${readyReplicas} of ${deployment.spec?.replicas ?? 0} control plane pods ready`);
      this.setVersionStatus(tcp, false, deployment);
      return done(); // the Deployment watch reports ready replicas
    }
    markTrue(tcp, CONDITIONS.deployment, 'PodsReady', `${readyReplicas} of ${deployment.spec?.replicas ?? 0} control plane pods ready`);

    const probe = await probeTenant(credentials.adminKubeconfig);
    if (!probe.ready) {
      markFalse(tcp, CONDITIONS.apiServer, 'APIServerNotReady', probe.message);
      this.setVersionStatus(tcp, false, deployment);
      return requeueAfter(this.pollMs);
    }
    markTrue(tcp, CONDITIONS.apiServer, 'APIServerReady', `/readyz ok, version ${probe.version ?? 'unknown'}`);

    const kubernetesVersion = addonVersion(this.versionInputs(tcp, true, deployment));
    const tenantReady = await this.ensureTenantResources(tcp, endpoint, credentials, kubernetesVersion, ctx);
    this.setVersionStatus(tcp, true, deployment);
    await exposeThroughIngressOrGateway(this.deps.client, tcp, ctx);
    if (!tenantReady) return requeueAfter(this.pollMs);
    const migration = runningMigration(tcp);
    if (migration) {
      const resyncWriteBlock = () => this.applied.get(tcp.metadata.uid ?? '')?.delete('write-permissions');
      const res = await stepMigration(this.deps, tcp, migration, { deployment, adminKubeconfigSecret: credentials.adminKubeconfigSecret, resyncWriteBlock }, ctx);
      this.setVersionStatus(tcp, true, deployment);
      return res;
    }
    // A CA rotation moves on only from a healthy pass, and polls: node certificates are no event of ours.
    const tenant = await this.deps.tenants.kubeconfigSecret({ namespace: tcp.metadata.namespace, name: credentials.adminKubeconfigSecret }, credentials.adminKubeconfigKey);
    if (await reconcileCARotation(this.deps.client, tenant.client, tcp, credentials, deployment, ctx, this.deps.pki ?? DEFAULT_PKI_OPTIONS)) return requeueAfter(this.pollMs);
    // A Ready tenant comes back now and then although no watch fires: nothing else would notice an etcd user
    // deleted by hand. The pass reads only (caches, two etcd reads, /readyz), so it costs no write.
    return requeueAfter(READY_RESYNC_MS);
  }

  private get pollMs(): number {
    return this.deps.pollMs ?? 2000;
  }


  /** A spec.dataStore change that startMigration refused: the tenant stays where status says it is. */
  private migrationRefused(tcp: TenantControlPlane): boolean {
    return tcp.status?.conditions?.some((c) => c.type === MIGRATION_CONDITION && c.status === 'False' && (c.reason === 'DriverMismatch' || c.reason === 'TargetDataStoreNotFound')) === true;
  }

  /** `record`: write the name to status.storage (not during a migration, whose last step records the target). */
  private async observeDataStore(tcp: TenantControlPlane, name: string | undefined, record: boolean): Promise<DataStore | undefined> {
    if (!name) {
      markFalse(tcp, CONDITIONS.dataStore, 'NoDataStore', 'spec.dataStore is empty and the operator has no default DataStore (--datastore)');
      return undefined;
    }
    const ds = await this.deps.client.get<DataStore & { metadata: object }>(DATASTORE_TYPE, { name });
    if (!ds) {
      markFalse(tcp, CONDITIONS.dataStore, 'DataStoreNotFound', `DataStore ${name} does not exist`);
      return undefined;
    }
    const storage = tcp.status?.storage;
    if (record && (storage?.dataStoreName !== name || storage.driver !== ds.spec.driver)) {
      tcp.status = { ...tcp.status, storage: { ...storage, dataStoreName: name, driver: ds.spec.driver } };
    }
    return ds;
  }

  private async ensureService(tcp: TenantControlPlane): Promise<{ host: string; port: number } | undefined> {
    const desired = buildService(tcp);
    setControllerReference(desired, tcp);
    const { object: live } = await applyIfChanged<Service>(this.deps.client, desired);
    const host = endpointAddress(tcp, live);
    const port = apiServerPort(tcp.spec.networkProfile);
    const service = {
      name: live.metadata.name,
      namespace: live.metadata.namespace,
      port,
      ...(live.status?.loadBalancer ? { loadBalancer: live.status.loadBalancer } : {}),
    };
    tcp.status = { ...tcp.status, kubernetesResources: { ...tcp.status?.kubernetesResources, service } };
    if (!host) {
      markFalse(tcp, CONDITIONS.endpoint, 'WaitingForLoadBalancer', `Service ${live.metadata.name ?? ''} has no load-balancer ingress yet`);
      this.setVersionStatus(tcp, false, undefined);
      return undefined;
    }
    const endpoint = joinHostPort(host, port);
    if (tcp.status.controlPlaneEndpoint !== endpoint) tcp.status.controlPlaneEndpoint = endpoint;
    markTrue(tcp, CONDITIONS.endpoint, 'EndpointAvailable', endpoint);
    return { host, port };
  }

  private async ensureStorage(tcp: TenantControlPlane, ds: DataStore, creds: DataStoreCredentials, ctx: ReconcileContext): Promise<boolean> {
    const schema = dataStoreSchemaOf(tcp);
    const user = dataStoreUsernameOf(tcp);
    const checksum = `${creds.fingerprint}:${user}:${schema}`;
    const setup = tcp.status?.storage?.setup;
    const uid = tcp.metadata.uid ?? '';
    const driver = this.deps.pool.driverFor(ds.metadata.name ?? '', creds);
    let repair = false;
    try {
      if (setup?.checksum === checksum || this.storageSetUp.get(uid) === checksum) {
        // Done for these exact inputs, but someone may have deleted the user or role by hand since: two reads
        // per reconcile (and per periodic resync of a Ready tenant) find that, and the steps below repair it.
        if (await driver.tenantIntact({ user, schema })) {
          markTrue(tcp, CONDITIONS.storage, 'DataStoreSetupDone', `etcd user ${user} may use ${tenantPrefix(schema)} only`);
          return true;
        }
        repair = true;
      }
      await driver.ensureTenant({ user, schema });
      this.storageSetUp.set(uid, checksum);
    } catch (err) {
      markFalse(tcp, CONDITIONS.storage, 'DataStoreSetupFailed', (err as Error).message);
      ctx.events.warning('DataStoreSetupFailed', 'SetupDataStore', (err as Error).message);
      return false;
    }
    tcp.status = {
      ...tcp.status,
      storage: { ...tcp.status?.storage, setup: { schema, user, checksum, lastUpdate: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } },
    };
    markTrue(tcp, CONDITIONS.storage, 'DataStoreSetupDone', `etcd user ${user} may use ${tenantPrefix(schema)} only`);
    if (repair) ctx.events.warning('DataStoreSetupRepaired', 'SetupDataStore', `etcd user ${user} or role ${schema} was missing or incomplete and has been recreated`);
    else ctx.events.normal('DataStoreSetupDone', 'SetupDataStore', `etcd user ${user} and role ${schema} limited to prefix ${tenantPrefix(schema)}`);
    return true;
  }

  private async ensureDeployment(tcp: TenantControlPlane, endpointHost: string, c: ControlPlaneCredentials, creds: DataStoreCredentials): Promise<Deployment> {
    const name = tcp.metadata.name ?? '';
    let egressSelectorConfigMap: string | undefined;
    if (tcp.spec.addons?.konnectivity) {
      egressSelectorConfigMap = `${name}-konnectivity-egress-selector-configuration`;
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: egressSelectorConfigMap, namespace: tcp.metadata.namespace }, data: egressSelectorConfiguration() };
      setControllerReference(cm, tcp);
      await applyIfChanged(this.deps.client, cm);
    }
    const caSigner = c.ca.data[CA_ROTATION_KEYS.signerCert] !== undefined;
    // hostUsers: false only where every node's runtime reports it can map users, so no pod is left unschedulable.
    const nodes = await this.deps.client.list<V1Node & { metadata: object }>({ apiVersion: 'v1', kind: 'Node' });
    const desired = buildDeployment(caSigner ? withCASigner(tcp, c.secrets.ca) : tcp, {
      secrets: c.secrets,
      secretsChecksum: c.checksum,
      etcdServers: creds.endpoints.map((e) => `https://${e.replace(/^[a-z]+:\/\//i, '')}`),
      etcdPrefix: tenantPrefix(dataStoreSchemaOf(tcp)),
      advertiseAddress: tcp.spec.networkProfile?.advertiseAddress ?? endpointHost,
      egressSelectorConfigMap,
      userNamespaces: userNamespacesSupported(nodes),
    });
    setControllerReference(desired, tcp);
    const { object: live } = await applyIfChanged<Deployment>(this.deps.client, desired);
    const st = live.status ?? {};
    // Right after a template change the Deployment still reports the previous rollout's updatedReplicas until its
    // controller observes the new generation: none of the pods is up to date with what was just written.
    const observed = st.observedGeneration !== undefined && st.observedGeneration >= (live.metadata.generation ?? 0);
    const updatedReplicas = observed ? st.updatedReplicas : 0;
    tcp.status = {
      ...tcp.status,
      kubernetesResources: {
        ...tcp.status?.kubernetesResources,
        deployment: {
          name: live.metadata.name,
          namespace: live.metadata.namespace,
          selector: `kamaji.clastix.io/name=${name}`,
          ...(st.replicas !== undefined ? { replicas: st.replicas } : {}),
          ...(st.readyReplicas !== undefined ? { readyReplicas: st.readyReplicas } : {}),
          ...(updatedReplicas !== undefined ? { updatedReplicas } : {}),
          ...(st.availableReplicas !== undefined ? { availableReplicas: st.availableReplicas } : {}),
        },
      },
    };
    return live;
  }

  private async ensureTenantResources(
    tcp: TenantControlPlane,
    endpoint: { host: string; port: number },
    c: ControlPlaneCredentials,
    kubernetesVersion: string,
    ctx: ReconcileContext,
  ): Promise<boolean> {
    const uid = tcp.metadata.uid ?? '';
    const applied = this.applied.get(uid) ?? new Map<string, string>();
    this.applied.set(uid, applied);
    const migrating = blocksWrites(runningMigration(tcp));
    const phases = tenantPhases(tcp, { host: tcp.spec.networkProfile?.advertiseAddress ?? endpoint.host, port: endpoint.port }, c.caCertPem, { kubernetesVersion, migrating });
    try {
      const tenant = await this.deps.tenants.kubeconfigSecret({ namespace: tcp.metadata.namespace, name: c.adminKubeconfigSecret }, c.adminKubeconfigKey);
      await this.deps.servingCertificates?.ensure(tenant, objectKey(tcp));
      for (const phase of phases) {
        const sum = phaseChecksum(phase);
        const unchanged = applied.get(phase.name) === sum;
        // The write block is the one phase a tenant's admin can remove (admission policies do not guard themselves):
        // watched inside the tenant, and applied again when its objects are not intact, not only when it changed.
        const guarded = phase.name === 'write-permissions' && phase.enabled;
        if (guarded) await this.writePermissionsWatch?.ensure(tenant, objectKey(tcp));
        if (unchanged && (!guarded || (await phaseIntact(tenant.client, phase)))) continue;
        const { deleted } = await syncPhase(tenant.client, phase);
        applied.set(phase.name, sum);
        ctx.log.info({ phase: phase.name, enabled: phase.enabled, restored: unchanged }, 'synced tenant phase');
        if (unchanged) ctx.events.warning('WritePermissionsRestored', 'SyncWritePermissions', 'the write-permissions admission policy or its binding was deleted or changed inside the tenant and has been applied again');
        else if (phase.name === 'write-permissions' && !migrating && runningMigration(tcp) === undefined) announceWritePermissions(tcp, phase, deleted, ctx);
      }
    } catch (err) {
      markFalse(tcp, CONDITIONS.tenant, 'TenantResourcesFailed', (err as Error).message);
      return false;
    }
    markTrue(tcp, CONDITIONS.tenant, 'TenantResourcesApplied', phases.filter((p) => p.enabled).map((p) => p.name).join(', '));
    const status = tcp.status ?? {};
    const addons = {
      coreDNS: { enabled: tcp.spec.addons?.coreDNS !== undefined },
      kubeProxy: { enabled: tcp.spec.addons?.kubeProxy !== undefined },
      konnectivity: { enabled: tcp.spec.addons?.konnectivity !== undefined },
    };
    const merged = {
      coreDNS: { ...status.addons?.coreDNS, ...addons.coreDNS },
      kubeProxy: { ...status.addons?.kubeProxy, ...addons.kubeProxy },
      konnectivity: { ...status.addons?.konnectivity, ...addons.konnectivity },
    };
    tcp.status = { ...status, addons: merged, kubeadmconfig: { ...status.kubeadmconfig, configmapName: 'kubeadm-config' } };
    return true;
  }

  private versionInputs(tcp: TenantControlPlane, answering: boolean, deployment: Deployment | undefined): VersionInputs {
    return {
      current: tcp.status?.kubernetesResources?.version,
      desired: tcp.spec.kubernetes.version,
      deployment,
      answering,
      writeLimited: blockedOperations(tcp.spec.writePermissions).length > 0,
      migrationBlocksWrites: blocksWrites(runningMigration(tcp)),
    };
  }

  private setVersionStatus(tcp: TenantControlPlane, answering: boolean, deployment: Deployment | undefined): void {
    const current = tcp.status?.kubernetesResources?.version;
    const { version, status } = decideVersionStatus(this.versionInputs(tcp, answering, deployment));
    if (current?.status === status && current.version === version) return;
    tcp.status = {
      ...tcp.status,
      kubernetesResources: { ...tcp.status?.kubernetesResources, version: { ...(version ? { version } : {}), status } },
    };
  }

  private async reconcileDelete(tcp: TenantControlPlane, ctx: ReconcileContext): Promise<Result> {
    // During a migration the tenant may have a user and keys on both DataStores. clusterctl move deletes the source
    // copy of a tenant that lives on in the target cluster, on the same DataStore: its data stays.
    const m = runningMigration(tcp);
    const moved = tcp.metadata.annotations?.[DELETE_FOR_MOVE_ANNOTATION] !== undefined;
    const names = moved ? [] : m ? [m.source, m.target] : [storageOf(tcp, this.deps).serving].filter((n): n is string => n !== undefined);
    if (moved) ctx.log.info({ tenantControlPlane: objectKey(tcp) }, 'deleted for clusterctl move: the DataStore keeps its user and keys');
    for (const name of names) {
      if (!(await this.cleanDataStore(tcp, name, ctx))) return requeueAfter(this.pollMs);
    }
    const c = tcp.status?.kubeconfig?.admin?.secretName;
    if (c) await this.deps.tenants.forgetKubeconfigSecret({ namespace: tcp.metadata.namespace, name: c }, 'super-admin.conf');
    if (c) await this.deps.tenants.forgetKubeconfigSecret({ namespace: tcp.metadata.namespace, name: c }, 'admin.conf');
    this.applied.delete(tcp.metadata.uid ?? '');
    this.storageSetUp.delete(tcp.metadata.uid ?? '');
    // Deployment, Service, Secrets and ConfigMaps are controlled by the TenantControlPlane: the garbage
    // collector removes them once it is gone.
    removeFinalizer(tcp, TCP_FINALIZER);
    markUnknown(tcp, CONDITIONS.apiServer, 'Deleting');
    return done();
  }

  /** Removes the tenant's etcd user and role (and keys, by policy) from one DataStore; false when it must retry. */
  private async cleanDataStore(tcp: TenantControlPlane, name: string, ctx: ReconcileContext): Promise<boolean> {
    const setup = tcp.status?.storage?.setup;
    if (!setup?.user || !setup.schema) return true;
    const ds = await this.deps.client.get<DataStore & { metadata: object }>(DATASTORE_TYPE, { name });
    if (!ds) {
      ctx.log.info({ dataStore: name }, 'DataStore is gone; nothing to clean in it');
      return true;
    }
    try {
      const creds = await resolveCredentials(this.deps.client, ds);
      const { deletedKeys } = await this.deps.pool
        .driverFor(name, creds)
        .removeTenant({ user: setup.user, schema: setup.schema }, { deleteData: this.deps.deleteDataOnRemoval });
      ctx.events.normal('DataStoreCleaned', 'CleanDataStore', `removed etcd user ${setup.user}, role ${setup.schema} and ${deletedKeys} keys from DataStore ${name}`);
      return true;
    } catch (err) {
      markFalse(tcp, CONDITIONS.storage, 'DataStoreCleanupFailed', (err as Error).message);
      ctx.events.warning('DataStoreCleanupFailed', 'CleanDataStore', (err as Error).message);
      return false;
    }
  }
}

/** Events for the write-permissions phase: once when writes become blocked (or change), once when they are allowed again. */
function announceWritePermissions(tcp: TenantControlPlane, phase: Phase, deleted: number, ctx: ReconcileContext): void {
  if (phase.enabled) {
    const ops = blockedOperations(tcp.spec.writePermissions).join(', ');
    ctx.events.normal('WritesBlocked', 'SyncWritePermissions', `the tenant apiserver refuses ${ops} requests from users outside its control plane, nodes and operator (spec.writePermissions)`);
  } else if (deleted > 0) {
    ctx.events.normal('WritesAllowed', 'SyncWritePermissions', 'spec.writePermissions blocks nothing: the write-permissions admission policy was removed from the tenant');
  }
}
