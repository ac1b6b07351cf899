// The source cluster's end of a move handover (move-handover.ts): a released control plane whose TenantControlPlane
// is gone from here serves on until the tenant's serving marker names another TenantControlPlane, then for the
// drain period, and is deleted after that (its handover Secret, owned by the Deployment, goes with it). One whose
// TenantControlPlane went without a move waits for a successor only so long, then is deleted all the same.
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SERVICE_TYPE } from '../../../lib/apis/core.js';
import type { ReconcileContext, Reconciler, Result } from '../../../lib/controller/reconciler.js';
import { done, requeueAfter } from '../../../lib/controller/reconciler.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import type { Client } from '../../../lib/kube/client.js';
import type { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { TENANT_CONTROL_PLANE_TYPE } from '../api/index.js';
import { SERVING_MARKER, servingUidOf } from '../tenant/serving-marker.js';
import { HANDOVER_KUBECONFIG_KEY } from './handover-release.js';
import {
  decideRetirement,
  DEFAULT_HANDOVER_DRAIN_MS,
  DEFAULT_HANDOVER_SUCCESSOR_TIMEOUT_MS,
  GONE_SINCE_ANNOTATION,
  handoverSecretName,
  RELEASED_LABEL,
  releasedBy,
  SUCCESSOR_SEEN_ANNOTATION,
} from './move-handover.js';

export interface HandoverRetireDeps {
  client: Client;
  tenants: ClusterAccessCache<RemoteCluster>;
  pollMs?: number;
  drainMs?: number;
  successorTimeoutMs?: number;
}

export class HandoverRetireReconciler implements Reconciler<KubeObject> {
  constructor(private readonly deps: HandoverRetireDeps) {}

  async reconcile(deployment: KubeObject, ctx: ReconcileContext): Promise<Result> {
    const releasedUid = deployment.metadata.labels?.[RELEASED_LABEL];
    if (!releasedUid || deployment.metadata.deletionTimestamp) return done();
    const namespace = deployment.metadata.namespace;
    const name = deployment.metadata.name ?? '';
    const present = await this.deps.client.get(TENANT_CONTROL_PLANE_TYPE, { namespace, name });
    const presentUid = present?.metadata.uid;
    const servingUid = presentUid === releasedUid ? undefined : await this.servingUid(namespace, name, ctx);
    const decision = decideRetirement({
      releasedUid,
      presentUid,
      servingUid,
      successorSeenAt: deployment.metadata.annotations?.[SUCCESSOR_SEEN_ANNOTATION],
      goneSince: deployment.metadata.annotations?.[GONE_SINCE_ANNOTATION],
      now: Date.now(),
      drainMs: this.deps.drainMs ?? DEFAULT_HANDOVER_DRAIN_MS,
      successorTimeoutMs: this.successorTimeoutMs,
    });
    switch (decision.action) {
      case 'keep':
        return done(); // the TenantControlPlane's resume takes it back, and that update brings us here again
      case 'poll':
        return requeueAfter(this.pollMs);
      case 'note-gone':
        await this.deps.client.mergePatch(DEPLOYMENT_TYPE, { namespace, name }, { metadata: { annotations: { [GONE_SINCE_ANNOTATION]: new Date().toISOString() } } });
        ctx.log.info({ deployment: name, timeoutSeconds: this.successorTimeoutMs / 1000 }, 'released control plane lost its TenantControlPlane: waiting for a successor to serve the tenant');
        return done(); // the annotation's update brings us back
      case 'give-up':
        await this.giveUp(namespace, name, releasedUid, present, decision.waitedMs, ctx);
        return done();
      case 'note-successor':
        await this.deps.client.mergePatch(DEPLOYMENT_TYPE, { namespace, name }, { metadata: { annotations: { [SUCCESSOR_SEEN_ANNOTATION]: new Date().toISOString() } } });
        ctx.events.normal('SuccessorServing', 'HandOver', `TenantControlPlane ${decision.servingUid} serves the tenant from another management cluster: retiring this control plane in ${String((this.deps.drainMs ?? DEFAULT_HANDOVER_DRAIN_MS) / 1000)} s`);
        return done(); // the annotation's update brings us back
      case 'wait':
        return requeueAfter(decision.afterMs);
      case 'retire':
        await this.retire(namespace, name, releasedUid);
        ctx.log.info({ deployment: name }, 'retired the control plane released for a move: another management cluster serves the tenant');
        return done();
    }
  }

  private get pollMs(): number {
    return this.deps.pollMs ?? 2000;
  }

  private get successorTimeoutMs(): number {
    return this.deps.successorTimeoutMs ?? DEFAULT_HANDOVER_SUCCESSOR_TIMEOUT_MS;
  }

  /** No successor came: the TenantControlPlane was deleted for good, so nothing would ever retire these objects. */
  private async giveUp(namespace: string | undefined, name: string, releasedUid: string, present: KubeObject | undefined, waitedMs: number, ctx: ReconcileContext): Promise<void> {
    const waited = `${String(Math.round(waitedMs / 1000))} s`;
    // On the Deployment while it still exists, naming a TenantControlPlane of the same name made since, if any.
    ctx.events.record({
      type: 'Warning',
      reason: 'NoSuccessor',
      action: 'RetireReleased',
      note: `the TenantControlPlane that released this control plane is gone and no other one served the tenant within ${waited}: deleting Deployment and Service ${name}`,
      related: present,
    });
    await this.retire(namespace, name, releasedUid);
    ctx.log.warn({ deployment: name, waitedSeconds: Math.round(waitedMs / 1000) }, 'retired the control plane released for a move: no successor served the tenant in time');
  }

  /** The uid in the tenant's serving marker, read with the kubeconfig kept at release; undefined while unreadable. */
  private async servingUid(namespace: string | undefined, name: string, ctx: ReconcileContext): Promise<string | undefined> {
    try {
      const tenant = await this.deps.tenants.kubeconfigSecret({ namespace, name: handoverSecretName(name) }, HANDOVER_KUBECONFIG_KEY);
      return servingUidOf(await tenant.client.get(SERVING_MARKER, { namespace: SERVING_MARKER.namespace, name: SERVING_MARKER.name }));
    } catch (err) {
      ctx.log.info({ err: (err as Error).message }, 'cannot read the tenant\'s serving marker yet');
      return undefined;
    }
  }

  private async retire(namespace: string | undefined, name: string, releasedUid: string): Promise<void> {
    if (releasedBy(await this.deps.client.get(SERVICE_TYPE, { namespace, name }), releasedUid)) await this.deps.client.delete(SERVICE_TYPE, { namespace, name });
    await this.deps.client.delete(DEPLOYMENT_TYPE, { namespace, name });
    await this.deps.tenants.forgetKubeconfigSecret({ namespace, name: handoverSecretName(name) }, HANDOVER_KUBECONFIG_KEY);
  }
}
