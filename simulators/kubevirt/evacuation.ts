// virt-controller's evacuation: a VMI whose evictionStrategy is LiveMigrate or LiveMigrateIfPossible is
// live-migrated off its node when it is marked for evacuation (status.evacuationNodeName, set when its launcher
// pod's eviction was refused) or when the node carries the kubevirt.io/drain taint. VMIs with evictionStrategy
// External are left alone: an external controller (the infrastructure provider) handles them.
import { NODE_TYPE, type Node } from '../../lib/apis/core.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import { VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, type VirtualMachineInstance, type VirtualMachineInstanceMigration } from '../../lib/apis/kubevirt.js';
import { conditionIs } from './conditions.js';
import { nameSuffix } from './launcher-pod.js';
import { EVACUATION_MIGRATION_ANNOTATION, MIGRATION_VMI_LABEL } from './labels.js';
import { inFlightMigration } from './migration.js';
import { LIVE_MIGRATABLE } from './vmi-status.js';

const MIGRATING_STRATEGIES = new Set(['LiveMigrate', 'LiveMigrateIfPossible']);
/** virt-controller's default nodeDrainTaintKey: a node carrying it is evacuated. */
export const DRAIN_TAINT = 'kubevirt.io/drain';

export const drainTainted = (node: Node | undefined): boolean => node?.spec?.taints?.some((t) => t.key === DRAIN_TAINT) === true;

export class EvacuationReconciler implements Reconciler<VirtualMachineInstance> {
  async reconcile(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Result> {
    if (vmi.metadata.deletionTimestamp || vmi.status?.phase !== 'Running') return done();
    if (!MIGRATING_STRATEGIES.has(vmi.spec?.evictionStrategy ?? '') || !conditionIs(vmi, LIVE_MIGRATABLE, 'True')) return done();
    const node = vmi.status.nodeName;
    if (!node || inFlightMigration(vmi)) return done();
    const marked = vmi.status.evacuationNodeName === node;
    if (!marked && !drainTainted(await ctx.cache.get<Node>(NODE_TYPE, { name: node }))) return done();
    // One migration per VMI and node: a retry after a crash finds the one already made.
    const migration: VirtualMachineInstanceMigration = {
      ...VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
      metadata: {
        name: `kubevirt-evacuation-${nameSuffix(`${vmi.metadata.uid ?? ''}/${node}`)}`,
        namespace: vmi.metadata.namespace,
        labels: { [MIGRATION_VMI_LABEL]: vmi.metadata.name ?? '' },
        annotations: { [EVACUATION_MIGRATION_ANNOTATION]: node },
      },
      spec: { vmiName: vmi.metadata.name ?? '' },
    };
    try {
      await ctx.client.create(migration);
      ctx.events.normal('SuccessfulCreate', 'Evacuate', `Created evacuation migration ${migration.metadata.name ?? ''} off node ${node}`);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`create evacuation migration for ${ctx.key}: ${(err as Error).message}`, { cause: err });
    }
    return done();
  }
}
