// Leaving an infra node that is being drained, for VMIs with evictionStrategy External (KubeVirt then only marks
// status.evacuationNodeName and leaves the move to us). A live-migratable VMI is migrated and the tenant node
// never notices. Otherwise the tenant node is cordoned and drained (its pods move to other tenant nodes), the
// VMI is deleted so the VM starts a fresh one elsewhere, and the node is uncordoned once that one is back.
import { createHash } from 'node:crypto';
import { isAlreadyExists } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';
import { metaTime } from '../../../lib/kube/meta-time.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../../../lib/apis/kubevirt.js';
import { getCondition, markFalse, markTrue } from '../../../lib/controller/conditions.js';
import type { ObjectEvents, Result } from '../../../lib/controller/reconciler.js';
import { VMI_DELETION_GRACE_TIME_ANNOTATION, type KubevirtMachine } from '../api/index.js';
import { EVACUATED, Reasons } from './conditions.js';
import { drainPass, findTenantNode, isNodeReady, setUnschedulable } from './tenant-node.js';
import { isLiveMigratable, isVMIFinal, isVMIReady } from './vm-status.js';

/** How long a drain may take before the VMI is replaced anyway (CAPK's 10 minutes). */
export const DRAIN_GRACE_MS = 10 * 60_000;
/** Drain progress is not something a watch of ours reports: look again this soon. */
const DRAIN_POLL_MS = 2_000;

function clearDrainDeadline(km: KubevirtMachine): void {
  const annotations = km.metadata.annotations;
  if (annotations?.[VMI_DELETION_GRACE_TIME_ANNOTATION] === undefined) return;
  const { [VMI_DELETION_GRACE_TIME_ANNOTATION]: _done, ...rest } = annotations;
  km.metadata.annotations = rest;
}

export function needsEvacuation(vmi: VirtualMachineInstance | undefined): vmi is VirtualMachineInstance {
  return (
    vmi !== undefined &&
    !!vmi.status?.evacuationNodeName &&
    vmi.spec?.evictionStrategy === 'External' &&
    vmi.metadata.deletionTimestamp === undefined &&
    !isVMIFinal(vmi)
  );
}

/** Deterministic per VMI incarnation and source node: a retry finds the migration it created. */
export function migrationName(vmi: VirtualMachineInstance): string {
  const hash = createHash('sha256').update(`${vmi.metadata.uid ?? ''}/${vmi.status?.evacuationNodeName ?? ''}`).digest('hex').slice(0, 8);
  return `${vmi.metadata.name ?? ''}-evacuation-${hash}`;
}

export interface EvacuationDeps {
  infra: Client;
  /** The tenant cluster client, or undefined when it cannot be reached (then the VMI is replaced undrained). */
  tenant: () => Promise<Client | undefined>;
  events: ObjectEvents;
  now: () => Date;
}

export async function evacuate(km: KubevirtMachine, vmi: VirtualMachineInstance, providerID: string, deps: EvacuationDeps): Promise<Result> {
  const source = vmi.status?.evacuationNodeName ?? '';
  const ns = vmi.metadata.namespace ?? '';
  const vmiName = vmi.metadata.name ?? '';
  if (isLiveMigratable(vmi)) {
    const migration: VirtualMachineInstanceMigration = {
      apiVersion: VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE.apiVersion,
      kind: VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE.kind,
      metadata: { name: migrationName(vmi), namespace: ns, labels: { ...vmi.metadata.labels } },
      spec: { vmiName },
    };
    const existing = await deps.infra.get(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, { namespace: ns, name: migration.metadata.name ?? '' });
    if (!existing) {
      try {
        await deps.infra.create(migration);
        deps.events.normal('MigratingVirtualMachine', 'Migrate', `infra node ${source} is being drained; live-migrating VMI ${vmiName}`);
      } catch (err) {
        if (!isAlreadyExists(err)) throw new Error(`create migration for VMI ${ns}/${vmiName}: ${(err as Error).message}`, { cause: err });
      }
    }
    markFalse(km, EVACUATED, Reasons.migrating, `live-migrating the VMI off infra node ${source}`);
    return {};
  }

  const annotations = (km.metadata.annotations ??= {});
  const deadline = annotations[VMI_DELETION_GRACE_TIME_ANNOTATION];
  const now = deps.now();
  if (!deadline || Number.isNaN(Date.parse(deadline))) {
    annotations[VMI_DELETION_GRACE_TIME_ANNOTATION] = metaTime(now.getTime() + DRAIN_GRACE_MS);
  }
  const graceOver = deadline !== undefined && now.getTime() > Date.parse(deadline);

  const tenant = await deps.tenant();
  const node = tenant ? await findTenantNode(tenant, km.metadata.name ?? '', providerID) : undefined;
  if (tenant && node && !graceOver) {
    if (await setUnschedulable(tenant, node, true)) {
      deps.events.normal('CordonedNode', 'Cordon', `infra node ${source} is being drained and VMI ${vmiName} cannot live-migrate; cordoned tenant node ${node.metadata.name ?? ''}`);
    }
    const progress = await drainPass(tenant, node.metadata.name ?? '');
    if (progress.remaining > 0) {
      markFalse(km, EVACUATED, Reasons.drainingNode, `draining tenant node ${node.metadata.name ?? ''}: ${progress.remaining} pod(s) left, ${progress.blocked} blocked by disruption budgets`);
      return { requeueAfter: DRAIN_POLL_MS };
    }
  }
  await deps.infra.delete(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: ns, name: vmiName }, { propagationPolicy: 'Foreground', preconditions: { uid: vmi.metadata.uid ?? '' } });
  clearDrainDeadline(km);
  deps.events.normal('ReplacedVirtualMachineInstance', 'Replace', `deleted VMI ${vmiName} on draining infra node ${source}${graceOver ? ' after the drain grace period' : ''}; the VM starts a new one`);
  markFalse(km, EVACUATED, Reasons.replacingVMI, `the VMI left infra node ${source}; waiting for its replacement to be ready`);
  return {};
}

/** After an evacuation: uncordon the tenant node once the new VMI and the Node are ready again. */
export async function finishEvacuation(km: KubevirtMachine, vmi: VirtualMachineInstance | undefined, providerID: string, deps: EvacuationDeps): Promise<void> {
  const state = getCondition(km, EVACUATED);
  if (!state || state.status === 'True') return;
  if (state.reason === Reasons.migrating) {
    if (!needsEvacuation(vmi)) markTrue(km, EVACUATED, Reasons.evacuationCompleted, 'the VMI live-migrated off the draining infra node');
    return;
  }
  if (!isVMIReady(vmi) || needsEvacuation(vmi)) return;
  const tenant = await deps.tenant();
  const node = tenant ? await findTenantNode(tenant, km.metadata.name ?? '', providerID) : undefined;
  if (tenant && node) {
    if (!isNodeReady(node)) return;
    if (await setUnschedulable(tenant, node, false)) {
      deps.events.normal('UncordonedNode', 'Uncordon', `the replacement VMI is ready; uncordoned tenant node ${node.metadata.name ?? ''}`);
    }
  }
  clearDrainDeadline(km);
  markTrue(km, EVACUATED, Reasons.evacuationCompleted, 'the VM runs on another infra node again');
}
