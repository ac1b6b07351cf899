// virt-controller's evacuation: a VMI marked for evacuation (status.evacuationNodeName, set when its launcher
// pod's eviction was refused) whose evictionStrategy is LiveMigrate or LiveMigrateIfPossible is live-migrated off
// that node. VMIs with evictionStrategy External are left alone: an external controller (the infrastructure
// provider) handles them.
import { done, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import { isAlreadyExists } from '../../../lib/kube/api-error.js';
import { VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, type VirtualMachineInstance, type VirtualMachineInstanceMigration } from '../../../lib/apis/kubevirt.js';
import { conditionIs } from './conditions.js';
import { nameSuffix } from './launcher-pod.js';
import { EVACUATION_MIGRATION_ANNOTATION, MIGRATION_VMI_LABEL } from './labels.js';
import { inFlightMigration } from './migration.js';
import { LIVE_MIGRATABLE } from './vmi-status.js';

const MIGRATING_STRATEGIES = new Set(['LiveMigrate', 'LiveMigrateIfPossible']);

export class EvacuationReconciler implements Reconciler<VirtualMachineInstance> {
  async reconcile(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Result> {
    const node = vmi.status?.evacuationNodeName;
    if (!node || vmi.metadata.deletionTimestamp || vmi.status?.phase !== 'Running') return done();
    if (!MIGRATING_STRATEGIES.has(vmi.spec?.evictionStrategy ?? '') || !conditionIs(vmi, LIVE_MIGRATABLE, 'True')) return done();
    if (vmi.status.nodeName !== node || inFlightMigration(vmi)) return done();
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
