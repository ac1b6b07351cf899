// The simulated infra storage's volume expansion, as an external resizer moves a claim along (the
// RecoverVolumeExpansionFailure semantics Kubernetes has as GA): a bound claim whose request outgrew its capacity is
// marked Resizing with status.allocatedResources at the new size (ControllerResizeInProgress); then the volume's
// backing file grows, the loop devices over it re-read their size (so the VM the disk is hot-plugged into sees it
// grow, as KubeVirt grows a hot-plugged disk whose claim grew), the PersistentVolume's capacity follows, and the
// claim's status.capacity takes the new size with the resize markers cleared. The disk is the whole volume here, so
// no filesystem resize is pending afterwards. Only volumes this simulator provisioned are touched.
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';
import { putCondition } from './conditions.js';
import { backingFileOf, growBackingFile, refreshLoopDevices } from './loop-devices.js';
import { provisionedByUs } from './persistent-volume.js';
import { PERSISTENT_VOLUME, type PersistentVolume, type PersistentVolumeClaim } from './storage-api.js';

export const RESIZING_CONDITION = 'Resizing';
export const CONTROLLER_RESIZE_IN_PROGRESS = 'ControllerResizeInProgress';
const STEP_MS = 100;

/** The size a bound claim asks to grow to; undefined when its capacity already covers its request. */
export function pendingGrowth(claim: PersistentVolumeClaim): string | undefined {
  const requested = claim.spec.resources?.requests?.storage;
  const capacity = claim.status?.capacity?.storage;
  if (claim.status?.phase !== 'Bound' || requested === undefined || capacity === undefined) return undefined;
  return parseQuantity(requested) > parseQuantity(capacity) ? String(requested) : undefined;
}

/** Step one: the claim says a controller resize to `size` is under way. */
export function markResizing(claim: PersistentVolumeClaim, size: string): void {
  const status = (claim.status ??= {});
  status.allocatedResources = { ...status.allocatedResources, storage: size };
  status.allocatedResourceStatuses = { ...status.allocatedResourceStatuses, storage: CONTROLLER_RESIZE_IN_PROGRESS };
  putCondition(claim, { type: RESIZING_CONDITION, status: 'True' });
}

/** Step two: the volume has `size`; the claim's capacity says so and the resize markers go. */
export function markResized(claim: PersistentVolumeClaim, size: string): void {
  const status = (claim.status ??= {});
  status.capacity = { ...status.capacity, storage: size };
  const { storage: _done, ...others } = status.allocatedResourceStatuses ?? {};
  if (Object.keys(others).length > 0) status.allocatedResourceStatuses = others;
  else delete status.allocatedResourceStatuses;
  const conditions = (status.conditions ?? []).filter((c) => c.type !== RESIZING_CONDITION);
  if (conditions.length > 0) status.conditions = conditions;
  else delete status.conditions;
}

export class ClaimResizeReconciler implements Reconciler<PersistentVolumeClaim> {
  /** `volumesDir` holds the volumes' backing files. */
  constructor(private readonly volumesDir: string) {}

  async reconcile(claim: PersistentVolumeClaim, ctx: ReconcileContext): Promise<Result> {
    const size = pendingGrowth(claim);
    const volumeName = claim.spec.volumeName;
    if (size === undefined || !volumeName || claim.metadata.deletionTimestamp) return done();
    const pv = await ctx.cache.get<PersistentVolume>(PERSISTENT_VOLUME, { name: volumeName });
    if (!pv || !provisionedByUs(pv)) return done();
    const status = claim.status ?? {};
    if (status.allocatedResources?.storage !== size || status.allocatedResourceStatuses?.storage !== CONTROLLER_RESIZE_IN_PROGRESS) {
      markResizing(claim, size);
      ctx.events.normal('Resizing', 'ExpandVolume', `External resizer is resizing volume ${volumeName}`);
      return requeueAfter(STEP_MS); // a separate write, so watchers see the resize under way
    }
    const file = backingFileOf(this.volumesDir, volumeName);
    // A volume never hot-plugged has no file yet: it is made at its claim's capacity when first attached.
    if (await growBackingFile(file, parseQuantity(size))) await refreshLoopDevices(file);
    if (pv.spec.capacity.storage !== size) await ctx.client.mergePatch(PERSISTENT_VOLUME, { name: volumeName }, { spec: { capacity: { storage: size } } });
    markResized(claim, size);
    ctx.events.normal('VolumeResizeSuccessful', 'ExpandVolume', 'Resize volume succeeded');
    return done();
  }
}
