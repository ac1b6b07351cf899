// virt-controller's and virt-handler's part in a live migration (VirtualMachineInstanceMigration): a target
// launcher pod that the real scheduler must place on another node, the target prepared once that pod is Ready,
// the guest moved (the VMI's migrationState, nodeName and addresses follow the target pod) and the source pod
// deleted. A VMI that cannot be migrated fails the migration with upstream's reason.
import { addFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists, isNotFound } from '../../lib/kube/api-error.js';
import { metaTime } from '../../lib/kube/meta-time.js';
import { POD } from '../../localcloud/cluster/pod-api.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type VirtualMachineInstanceMigrationPhase, type VirtualMachineInstanceMigrationState, type VirtualMachineInstance, type VirtualMachineInstanceMigration } from '../../lib/apis/kubevirt.js';
import { findCondition } from './conditions.js';
import { buildLauncherPod, launcherPodName, type LauncherPod } from './launcher-pod.js';
import { MIGRATION_FINALIZER, MIGRATION_TARGET_NODE_LABEL, MIGRATION_VMI_LABEL, NODE_NAME_LABEL } from './labels.js';
import { isFinal, launcherPodsOf, type LauncherSettings } from './vmi-controller.js';
import { currentPod, LIVE_MIGRATABLE, podCondition, podIsDownOrGoingDown, podIsReady } from './vmi-status.js';

/** Upstream's refusal of a migration for a VMI whose LiveMigratable condition is False. */
export function notMigratableMessage(vmi: VirtualMachineInstance): string | undefined {
  const c = findCondition(vmi, LIVE_MIGRATABLE);
  if (c?.status !== 'False') return undefined;
  return `Cannot migrate VMI, Reason: ${c.reason ?? ''}, Message: ${c.message ?? ''}`;
}

/** A migration of this VMI that has not finished, other than `except`. */
export function inFlightMigration(vmi: VirtualMachineInstance, except?: string): string | undefined {
  const state = vmi.status?.migrationState;
  if (!state?.migrationUid || state.completed || state.failed || state.migrationUid === except) return undefined;
  return state.migrationUid;
}

const finalPhase = (m: VirtualMachineInstanceMigration): boolean => m.status?.phase === 'Succeeded' || m.status?.phase === 'Failed';

function setPhase(m: VirtualMachineInstanceMigration, phase: VirtualMachineInstanceMigrationPhase): void {
  const status = (m.status ??= {});
  if (status.phase === phase) return;
  status.phase = phase;
  (status.phaseTransitionTimestamps ??= []).push({ phase, phaseTransitionTimestamp: metaTime() });
}

export class MigrationReconciler implements Reconciler<VirtualMachineInstanceMigration> {
  constructor(private readonly launcher: LauncherSettings) {}

  async reconcile(m: VirtualMachineInstanceMigration, ctx: ReconcileContext): Promise<Result> {
    const vmiName = m.spec?.vmiName ?? '';
    const vmi = await ctx.cache.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: m.metadata.namespace, name: vmiName });
    if (m.metadata.deletionTimestamp) return this.reconcileDelete(m, vmi, ctx);
    addFinalizer(m, MIGRATION_FINALIZER);
    (m.metadata.labels ??= {})[MIGRATION_VMI_LABEL] = vmiName;
    if (finalPhase(m)) return done();
    if (!vmi || isFinal(vmi) || vmi.metadata.deletionTimestamp) return this.fail(m, vmi, ctx, `VMI ${vmiName} is not running`);
    const refusal = notMigratableMessage(vmi);
    if (refusal) return this.fail(m, vmi, ctx, refusal);
    if (vmi.status?.phase !== 'Running') return this.pending(m); // its Running update brings us back
    if (inFlightMigration(vmi, m.metadata.uid)) return this.pending(m);

    const pods = await launcherPodsOf(vmi, ctx);
    const targetName = launcherPodName(vmi.metadata.name ?? '', m.metadata.uid ?? '');
    const target = pods.find((p) => p.metadata.name === targetName);
    const source = currentPod(vmi, pods);
    switch (m.status?.phase ?? '') {
      case '':
      case 'Pending':
        await this.createTarget(m, vmi, ctx);
        setPhase(m, 'Scheduling');
        return done();
      case 'Scheduling':
        if (!target || podIsDownOrGoingDown(target)) return this.fail(m, vmi, ctx, 'target pod is down');
        if (podCondition(target, 'PodScheduled')?.status !== 'True' || !target.spec.nodeName) return done();
        setPhase(m, 'Scheduled');
        await this.recordState(m, vmi, ctx, {
          migrationUid: m.metadata.uid ?? '',
          sourceNode: vmi.status.nodeName ?? '',
          sourcePod: source?.metadata.name ?? '',
          targetNode: target.spec.nodeName,
          targetPod: targetName,
          mode: 'PreCopy',
        });
        return done();
      case 'Scheduled':
        if (!target || podIsDownOrGoingDown(target)) return this.fail(m, vmi, ctx, 'target pod is down');
        if (!podIsReady(target)) return done();
        setPhase(m, 'PreparingTarget');
        await this.recordState(m, vmi, ctx, { targetNodeAddress: target.status?.podIP ?? '' });
        return done();
      case 'PreparingTarget':
        setPhase(m, 'TargetReady');
        return done();
      case 'TargetReady':
        setPhase(m, 'Running');
        await this.recordState(m, vmi, ctx, { startTimestamp: metaTime() });
        return done();
      case 'Running':
        return this.complete(m, vmi, pods, target, ctx);
      default:
        return done();
    }
  }

  private pending(m: VirtualMachineInstanceMigration): Result {
    setPhase(m, 'Pending');
    return done();
  }

  private async createTarget(m: VirtualMachineInstanceMigration, vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<void> {
    const pod = buildLauncherPod(vmi, { ...this.launcher, migration: { uid: m.metadata.uid ?? '', name: m.metadata.name ?? '' } });
    try {
      await ctx.client.create(pod);
      ctx.events.normal('SuccessfulCreate', 'CreatePod', `Created migration target pod ${pod.metadata.name ?? ''}`);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`create migration target pod for ${ctx.key}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The guest now runs in the target pod: the VMI follows it, then the source pod goes. */
  private async complete(
    m: VirtualMachineInstanceMigration,
    vmi: VirtualMachineInstance,
    pods: readonly LauncherPod[],
    target: LauncherPod | undefined,
    ctx: ReconcileContext,
  ): Promise<Result> {
    if (!target || podIsDownOrGoingDown(target)) return this.fail(m, vmi, ctx, 'target pod is down');
    const state = vmi.status?.migrationState;
    const source = pods.find((p) => p.metadata.name === state?.sourcePod);
    if (!state?.completed) {
      const node = target.spec.nodeName ?? '';
      await this.patchVMI(vmi, ctx, {
        metadata: { labels: { [MIGRATION_TARGET_NODE_LABEL]: null, [NODE_NAME_LABEL]: node } },
        status: {
          nodeName: node,
          migrationState: { ...state, completed: true, endTimestamp: metaTime() },
          // Whatever asked the VMI to leave its node has been answered.
          ...(vmi.status?.evacuationNodeName ? { evacuationNodeName: null } : {}),
        },
      });
      // Wait until the VMI's new state is visible before the source pod goes, so nothing reads the VMI as podless.
      return requeueAfter(100);
    }
    if (source && !source.metadata.deletionTimestamp) {
      await ctx.client.delete(POD, { namespace: source.metadata.namespace, name: source.metadata.name ?? '' }, { preconditions: { uid: source.metadata.uid ?? '' } });
    }
    (m.status ??= {}).migrationState = { ...state };
    setPhase(m, 'Succeeded');
    ctx.events.normal('SuccessfulMigration', 'Migrate', `Source node reported migration succeeded; the VMI runs on ${target.spec.nodeName ?? ''}`);
    return done();
  }

  private async fail(m: VirtualMachineInstanceMigration, vmi: VirtualMachineInstance | undefined, ctx: ReconcileContext, reason: string): Promise<Result> {
    const state: VirtualMachineInstanceMigrationState = { ...m.status?.migrationState, failed: true, failureReason: reason, endTimestamp: metaTime() };
    (m.status ??= {}).migrationState = state;
    setPhase(m, 'Failed');
    ctx.events.warning('FailedMigration', 'Migrate', `Migration failed: ${reason}`);
    const current = vmi?.status?.migrationState;
    if (vmi && current?.migrationUid === m.metadata.uid) {
      await this.patchVMI(vmi, ctx, { metadata: { labels: { [MIGRATION_TARGET_NODE_LABEL]: null } }, status: { migrationState: { ...current, ...state } } });
    }
    await this.deleteTarget(m, vmi, ctx);
    return done();
  }

  private async recordState(m: VirtualMachineInstanceMigration, vmi: VirtualMachineInstance, ctx: ReconcileContext, change: VirtualMachineInstanceMigrationState): Promise<void> {
    const state: VirtualMachineInstanceMigrationState = { ...vmi.status?.migrationState, ...change };
    if (change.migrationUid) Object.assign(state, { completed: false, failed: false });
    (m.status ??= {}).migrationState = state;
    await this.patchVMI(vmi, ctx, {
      ...(state.targetNode ? { metadata: { labels: { [MIGRATION_TARGET_NODE_LABEL]: state.targetNode } } } : {}),
      status: { migrationState: state },
    });
  }

  private async patchVMI(vmi: VirtualMachineInstance, ctx: ReconcileContext, patch: object): Promise<void> {
    await ctx.client.mergePatch(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: vmi.metadata.namespace, name: vmi.metadata.name ?? '' }, patch);
  }

  private async deleteTarget(m: VirtualMachineInstanceMigration, vmi: VirtualMachineInstance | undefined, ctx: ReconcileContext): Promise<void> {
    if (!vmi) return;
    const name = launcherPodName(vmi.metadata.name ?? '', m.metadata.uid ?? '');
    if (vmi.status?.migrationState?.completed && vmi.status.migrationState.targetPod === name) return; // it is the VMI's pod now
    try {
      await ctx.client.delete(POD, { namespace: m.metadata.namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async reconcileDelete(m: VirtualMachineInstanceMigration, vmi: VirtualMachineInstance | undefined, ctx: ReconcileContext): Promise<Result> {
    if (!finalPhase(m)) await this.deleteTarget(m, vmi, ctx);
    removeFinalizer(m, MIGRATION_FINALIZER);
    return done();
  }
}
