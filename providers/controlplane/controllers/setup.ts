// Wires the control plane operator's controllers into a manager: the TenantControlPlane controller (owning its
// Deployment, Service, Secrets and ConfigMaps, and woken by its DataStore) and the DataStore controller (woken
// by the tenants that use it). main.ts and the end-to-end suites both call this.
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SECRET_TYPE, SERVICE_TYPE } from '../../../lib/apis/core.js';
import type { Manager } from '../../../lib/controller/manager.js';
import { connectRemoteCluster, type RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import { objectKey, type KubeObject } from '../../../lib/kube/object.js';
import type { ObjectStore } from '../../../lib/controller/object-store.js';
import { DATASTORE_TYPE, TENANT_CONTROL_PLANE_TYPE, type DataStore, type TenantControlPlane } from '../api/index.js';
import { DriverPool } from '../datastore/driver-pool.js';
import type { PKIOptions } from '../pki/options.js';
import { DataStoreReconciler, dataStoreOf, dataStoresToRecount } from './datastore.js';
import { TLS_ROUTE } from './exposure.js';
import { HandoverRetireReconciler } from './handover-retire.js';
import { setupKamajiControlPlaneController } from './kamajicontrolplane-setup.js';
import { RELEASED_LABEL } from './move-handover.js';
import { ServingCertificateApprover } from './serving-csr-approver.js';
import { TenantControlPlaneReconciler } from './tenantcontrolplane.js';
import type { ManagementRanges } from '../management/network.js';


export interface ControlPlaneOptions {
  defaultDataStore?: string | undefined;
  deleteDataOnRemoval?: boolean;
  pollMs?: number;
  dataStoreHealthCheckMs?: number;
  /** The tenants' PKI knobs (--certificate-expiration-deadline and the CA rotation soak). */
  pki?: PKIOptions;
  /** Client certificate lifetime of the `<cluster>-kubeconfig` Secrets the KamajiControlPlane controller writes. */
  kubeconfigValidityMs?: number;
  /** The management cluster's Pod and Service ranges, which tenant ranges must not overlap. */
  managementRanges?: ManagementRanges | undefined;
}

export interface ControlPlaneControllers {
  tenants: ClusterAccessCache<RemoteCluster>;
  pool: DriverPool;
}

export function setupControlPlaneControllers(manager: Manager, opts: ControlPlaneOptions = {}): ControlPlaneControllers {
  const log = manager.log;
  const pool = new DriverPool();
  const tenants = new ClusterAccessCache<RemoteCluster>({
    client: manager.client,
    connect: (kubeConfig) => connectRemoteCluster(kubeConfig, { fieldManager: 'kvcloud-controlplane', log, metrics: manager.metrics }),
    log,
  });
  // The mappers below are synchronous; they read the informers' stores once those exist.
  let tcpStore: ObjectStore<TenantControlPlane & { metadata: object }> | undefined;
  void manager.cache.informerFor<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE).then((i) => (tcpStore = i.store), () => undefined);

  const tcpController = manager
    .controller<TenantControlPlane & { metadata: object }>('tenantcontrolplane')
    .for(TENANT_CONTROL_PLANE_TYPE)
    .owns(DEPLOYMENT_TYPE)
    .owns(SERVICE_TYPE)
    .owns(SECRET_TYPE)
    // Gateway API may be installed after us: once TLSRoutes are served, every TenantControlPlane is reconciled
    // again, so those waiting for the kind (controlPlane.gateway) get their route without a restart.
    .owns(TLS_ROUTE, { whenServed: true })
    .watches<DataStore & { metadata: object }>(DATASTORE_TYPE, (ds) =>
      (tcpStore?.list() ?? []).filter((t) => dataStoreOf(t, opts.defaultDataStore) === ds.metadata.name).map((t) => objectKey(t)),
    )
    .complete(
      new TenantControlPlaneReconciler({
        client: manager.client,
        pool,
        tenants,
        log,
        defaultDataStore: opts.defaultDataStore,
        deleteDataOnRemoval: opts.deleteDataOnRemoval ?? true,
        ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
        ...(opts.pki ? { pki: opts.pki } : {}),
        managementRanges: opts.managementRanges,
        servingCertificates: new ServingCertificateApprover(log),
        // The write-permissions policy inside each tenant: a deletion there queues its TenantControlPlane.
        enqueue: (key) => {
          tcpController.queue.add(key);
        },
      }),
    );

  manager
    .controller<DataStore & { metadata: object }>('datastore')
    .for(DATASTORE_TYPE)
    .watches<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE, (t) => dataStoresToRecount(t, opts.defaultDataStore))
    .complete(
      new DataStoreReconciler({
        client: manager.client,
        pool,
        log,
        defaultDataStore: opts.defaultDataStore,
        ...(opts.dataStoreHealthCheckMs ? { healthCheckMs: opts.dataStoreHealthCheckMs } : {}),
      }),
    );

  // The source end of a clusterctl move: control planes released by their TenantControlPlane serve until another
  // management cluster serves the tenant (move-handover.ts).
  const released = (d: KubeObject) => d.metadata.labels?.[RELEASED_LABEL] !== undefined;
  manager
    .controller<KubeObject>('tenantcontrolplane-handover')
    .for(DEPLOYMENT_TYPE, { predicates: [{ create: released, update: (_old, d) => released(d), delete: () => false }] })
    // clusterctl deleting the TenantControlPlane is what starts the wait for the target: its Deployment has its name.
    .watches<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE, (t) => [objectKey(t)], { predicates: [{ create: () => false, update: () => false }] })
    .withoutAutomaticPatch()
    .complete(new HandoverRetireReconciler({ client: manager.client, tenants, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) }));

  setupKamajiControlPlaneController(manager, { kubeconfigValidityMs: opts.kubeconfigValidityMs });

  manager.add({
    name: 'controlplane-connections',
    needLeaderElection: false,
    start: () => undefined,
    stop: async () => {
      await tenants.close();
      pool.close();
    },
  });
  return { tenants, pool };
}
