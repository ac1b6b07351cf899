// The KamajiControlPlane reconciler: Cluster API's control plane contract on top of a TenantControlPlane. Its
// Cluster (the owner Cluster API sets) -> paused? -> finalizer -> the TenantControlPlane applied (version walked
// one minor at a time) -> its endpoint into spec.controlPlaneEndpoint and an externally managed KubevirtCluster
// -> `<cluster>-ca` and `<cluster>-kubeconfig` -> status from the TenantControlPlane. Deleting it deletes the
// TenantControlPlane and waits until it is gone (its finalizer cleans the datastore). Under clusterctl move it pauses
// its TenantControlPlane with the Cluster before letting the move go (kamajicontrolplane-move.ts).
import type { Cluster } from '../../../lib/apis/cluster-api.js';
import { ownerCluster } from '../../../lib/controller/cluster-owners.js';
import { markFalse, markTrue, markUnknown, setCondition, setReadySummary } from '../../../lib/controller/conditions.js';
import { mirrorV1Beta1Conditions } from '../../../lib/controller/conditions-v1beta1.js';
import { addFinalizer, removeFinalizer } from '../../../lib/controller/finalizers.js';
import { controllerOf } from '../../../lib/controller/owner-references.js';
import { reconcilePaused } from '../../../lib/controller/paused.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import { TENANT_CONTROL_PLANE_TYPE, type TenantControlPlane } from '../api/index.js';
import type { KamajiControlPlane } from '../api/kamajicontrolplane.js';
import { DEFAULT_KUBECONFIG_VALIDITY_MS } from '../kamajicontrolplane/cluster-secrets.js';
import { computeStatus, KAMAJI_CONTROL_PLANE_CONDITIONS } from '../kamajicontrolplane/status.js';
import { buildTenantControlPlane } from '../kamajicontrolplane/tenantcontrolplane.js';
import { nextVersion, rolledOutAt, withV } from '../kamajicontrolplane/version-walk.js';
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';
import { patchInfrastructureCluster } from './kamajicontrolplane-infra.js';
import { holdMove, pauseForMove, resumeAfterPause } from './kamajicontrolplane-move.js';
import { ensureClusterSecrets } from './kamajicontrolplane-secrets.js';

export const KAMAJI_CONTROL_PLANE_FINALIZER = 'kamajicontrolplane.controlplane.cluster.x-k8s.io';
/** A renewal far ahead (a long --kubeconfig-client-cert-validity) is looked at again after this at the latest. */
const MAX_RENEWAL_WAIT_MS = 6 * 3_600_000;

type KamajiControlPlaneObject = KamajiControlPlane & { metadata: object };

const READY_CONDITIONS = [
  KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated,
  KAMAJI_CONTROL_PLANE_CONDITIONS.addressReady,
  KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched,
  KAMAJI_CONTROL_PLANE_CONDITIONS.kubeadmResources,
  KAMAJI_CONTROL_PLANE_CONDITIONS.ready,
];

export interface KamajiControlPlaneDeps {
  client: Client;
  /** Lifetime of the client certificate in `<cluster>-kubeconfig` (--kubeconfig-client-cert-validity). */
  kubeconfigValidityMs?: number;
  /** How often to look again for what no watch reports (a KubevirtCluster not created yet). */
  pollMs?: number;
}

/** "host:port" or "[v6]:port" as the TenantControlPlane reports it. */
export function parseEndpoint(hostPort: string | undefined): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort ?? '');
  if (!m?.[1]) return undefined;
  return { host: m[1], port: Number(m[2]) };
}

export class KamajiControlPlaneReconciler implements Reconciler<KamajiControlPlaneObject> {
  constructor(private readonly deps: KamajiControlPlaneDeps) {}

  async reconcile(kcp: KamajiControlPlaneObject, ctx: ReconcileContext): Promise<Result> {
    const cluster = await ownerCluster(this.deps.client, kcp);
    if (cluster && reconcilePaused(cluster, kcp)) {
      await pauseForMove(this.deps.client, kcp, await this.controlledTenantControlPlane(kcp), ctx);
      return done();
    }
    if (kcp.metadata.deletionTimestamp) return this.reconcileDelete(kcp, ctx);
    if (!cluster) {
      // Cluster API's Cluster controller sets itself as owner; its update brings us back.
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated, 'WaitingForCluster', 'the owner Cluster is not set yet (Cluster API sets it from spec.controlPlaneRef)');
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.available, 'WaitingForCluster', 'the owner Cluster is not set yet');
      return done();
    }
    addFinalizer(kcp, KAMAJI_CONTROL_PLANE_FINALIZER);
    holdMove(kcp);
    try {
      return await this.reconcileNormal(kcp, cluster, ctx);
    } finally {
      // Ready sums up the steps for v1beta1 readers (clusterctl describe); its reason says Sleeping when asleep.
      setReadySummary(kcp, { conditions: READY_CONDITIONS });
      mirrorV1Beta1Conditions(kcp);
      kcp.status = { ...kcp.status, observedGeneration: kcp.metadata.generation };
    }
  }

  private async reconcileNormal(kcp: KamajiControlPlaneObject, cluster: Cluster, ctx: ReconcileContext): Promise<Result> {
    const tcp = await this.ensureTenantControlPlane(kcp, cluster, ctx);
    if (!tcp) return done();
    await resumeAfterPause(this.deps.client, tcp, ctx);

    const endpoint = parseEndpoint(tcp.status?.controlPlaneEndpoint);
    if (!endpoint) {
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.addressReady, 'WaitingForEndpoint', 'the TenantControlPlane reports no endpoint yet');
      this.setStatus(kcp, tcp, false);
      return done(); // the TenantControlPlane's status update brings us back
    }
    markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.addressReady, 'EndpointReady', `${endpoint.host}:${String(endpoint.port)}`);
    const current = kcp.spec.controlPlaneEndpoint;
    if (current?.host !== endpoint.host || current.port !== endpoint.port) {
      kcp.spec = { ...kcp.spec, controlPlaneEndpoint: endpoint };
      ctx.events.normal('ControlPlaneEndpointSet', 'SetEndpoint', `control plane endpoint ${endpoint.host}:${String(endpoint.port)}`);
    }
    markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.endpointPatched, 'EndpointSet');

    const infra = await patchInfrastructureCluster(this.deps.client, cluster, endpoint);
    let requeue: number | undefined;
    switch (infra.state) {
      case 'WaitingForInfrastructureCluster':
        markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, infra.state, infra.message);
        requeue = this.deps.pollMs ?? 5000;
        break;
      case 'EndpointMismatch':
        markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, infra.state, infra.message);
        ctx.events.warning(infra.state, 'PatchInfrastructureCluster', infra.message);
        break;
      case 'Patched':
        ctx.events.normal('InfrastructureClusterPatched', 'PatchInfrastructureCluster', `KubevirtCluster ${cluster.spec?.infrastructureRef?.name ?? ''}: endpoint and provisioned status set`);
        markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, 'Patched');
        break;
      case 'UpToDate':
        markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, 'Patched');
        break;
      default:
        markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.infrastructurePatched, 'NotExternallyManaged', 'the infrastructure provider sets the endpoint itself');
    }

    const secrets = await ensureClusterSecrets({
      client: this.deps.client,
      kcp,
      tcp,
      clusterName: cluster.metadata.name ?? '',
      endpoint,
      validityMs: this.deps.kubeconfigValidityMs ?? DEFAULT_KUBECONFIG_VALIDITY_MS,
      ctx,
    });
    if (!secrets.ready) {
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.kubeadmResources, secrets.reason, secrets.message);
      this.setStatus(kcp, tcp, false);
      return requeue !== undefined ? requeueAfter(requeue) : done(); // the CA Secret's TenantControlPlane brings us back
    }
    markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.kubeadmResources, 'SecretsWritten', `${cluster.metadata.name ?? ''}-kubeconfig and ${cluster.metadata.name ?? ''}-ca`);
    this.setStatus(kcp, tcp, true);
    // Rotation is due at a time no watch announces.
    if (secrets.renewAt !== undefined) {
      const renewIn = Math.min(Math.max(secrets.renewAt - Date.now(), 1000), MAX_RENEWAL_WAIT_MS);
      requeue = requeue === undefined ? renewIn : Math.min(requeue, renewIn);
    }
    return requeue !== undefined ? requeueAfter(requeue) : done();
  }

  /** Applies the TenantControlPlane when it differs from what we want; undefined while it cannot be ours. */
  private async ensureTenantControlPlane(kcp: KamajiControlPlaneObject, cluster: Cluster, ctx: ReconcileContext): Promise<TenantControlPlane | undefined> {
    const name = kcp.metadata.name ?? '';
    const live = await this.deps.client.get<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE, { namespace: kcp.metadata.namespace, name });
    const controller = live ? controllerOf(live) : undefined;
    if (live && controller?.uid !== kcp.metadata.uid) {
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated, 'TenantControlPlaneNotOwned', `TenantControlPlane ${name} exists and is not controlled by this KamajiControlPlane`);
      this.setStatus(kcp, undefined, false);
      return undefined;
    }
    const step = nextVersion(kcp.spec.version, live);
    const { tcp: desired, droppedAdmissionControllers } = buildTenantControlPlane(kcp, cluster, step.version);
    const { object, wrote } = await applyIfChanged<TenantControlPlane & { metadata: object }>(this.deps.client, desired);
    if (wrote) {
      ctx.events.normal(live ? 'TenantControlPlaneUpdated' : 'TenantControlPlaneCreated', 'ApplyTenantControlPlane', `TenantControlPlane ${name} at ${step.version}`);
      if (droppedAdmissionControllers.length > 0) {
        ctx.events.warning(
          'AdmissionControllersDropped',
          'ApplyTenantControlPlane',
          `spec.admissionControllers lists ${droppedAdmissionControllers.join(', ')}, removed from kube-apiserver: left out of the TenantControlPlane`,
        );
        ctx.log.info({ dropped: droppedAdmissionControllers }, 'dropped removed admission controllers');
      }
      if (step.state === 'Walking') ctx.events.normal('VersionStep', 'UpgradeVersion', step.message ?? step.version);
    }
    markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.tenantControlPlaneCreated, 'TenantControlPlaneApplied');
    if (step.state === 'Walking' || step.state === 'WaitingForRollout' || step.state === 'DowngradeRefused') {
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.versionWalk, step.state, step.message);
    } else if (!rolledOutAt(object, withV(kcp.spec.version))) {
      // The last step is written but its pods still roll: not at the desired version until they all run it.
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.versionWalk, 'RollingOut', `rolling out ${withV(kcp.spec.version)}`);
    } else {
      markTrue(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.versionWalk, 'AtDesiredVersion', withV(kcp.spec.version));
    }
    return object;
  }

  /** The TenantControlPlane of our name that we control, if any. */
  private async controlledTenantControlPlane(kcp: KamajiControlPlaneObject): Promise<TenantControlPlane | undefined> {
    const live = await this.deps.client.get<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE, { namespace: kcp.metadata.namespace, name: kcp.metadata.name ?? '' });
    return live && controllerOf(live)?.uid === kcp.metadata.uid ? live : undefined;
  }

  private setStatus(kcp: KamajiControlPlaneObject, tcp: TenantControlPlane | undefined, secretsReady: boolean): void {
    const { status, conditions } = computeStatus({ kcp, tcp, secretsReady });
    const { conditions: kept, deprecated, observedGeneration } = kcp.status ?? {};
    kcp.status = {
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
      ...(kept ? { conditions: kept } : {}),
      ...status,
      deprecated: {
        ...deprecated,
        v1beta1: {
          ...deprecated?.v1beta1,
          readyReplicas: status.readyReplicas ?? 0,
          updatedReplicas: status.updatedReplicas ?? 0,
          unavailableReplicas: status.unavailableReplicas ?? 0,
        },
      },
    };
    for (const c of conditions) setCondition(kcp, c);
  }

  private async reconcileDelete(kcp: KamajiControlPlaneObject, ctx: ReconcileContext): Promise<Result> {
    const name = kcp.metadata.name ?? '';
    const ref = { namespace: kcp.metadata.namespace, name };
    const live = await this.deps.client.get<TenantControlPlane & { metadata: object }>(TENANT_CONTROL_PLANE_TYPE, ref);
    if (live && controllerOf(live)?.uid === kcp.metadata.uid) {
      markFalse(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.available, 'Deleting', `waiting for TenantControlPlane ${name} to be removed with its datastore data`);
      markUnknown(kcp, KAMAJI_CONTROL_PLANE_CONDITIONS.ready, 'Deleting');
      if (!live.metadata.deletionTimestamp) {
        await this.deps.client.delete(TENANT_CONTROL_PLANE_TYPE, ref, { preconditions: { uid: live.metadata.uid ?? '' } });
        ctx.events.normal('TenantControlPlaneDeleting', 'DeleteTenantControlPlane', `deleting TenantControlPlane ${name}`);
      }
      return done(); // its removal from the cache brings us back
    }
    // `<cluster>-kubeconfig` and `<cluster>-ca` are controlled by the KamajiControlPlane: the garbage collector
    // removes them once it is gone.
    removeFinalizer(kcp, KAMAJI_CONTROL_PLANE_FINALIZER);
    return done();
  }
}
