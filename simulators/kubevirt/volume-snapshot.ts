// VolumeSnapshots of the simulated storage's claims in the management cluster, with the semantics of
// external-snapshotter's snapshot-controller and a CSI driver's csi-snapshotter together (the simulated volumes
// are no CSI volumes, so no real sidecar could take them): the class named or the default class of the
// simulator's driver, a VolumeSnapshotContent snapcontent-<snapshot uid> bound both ways, the data copied once when
// the claim is bound, then ReadyToUse with the restore size; deleting the snapshot deletes its content and data
// when the policy says Delete. Snapshots of other drivers' volumes, or pre-provisioned ones, are left alone.
import { addFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import { metaTime } from '../../lib/kube/meta-time.js';
import {
  CONTENT_BOUND_FINALIZER,
  DEFAULT_SNAPSHOT_CLASS_ANNOTATION,
  SNAPSHOT_API_VERSION,
  SNAPSHOT_BOUND_FINALIZER,
  VOLUME_SNAPSHOT_CLASS_TYPE,
  VOLUME_SNAPSHOT_CONTENT_TYPE,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from '../../lib/apis/snapshot.js';
import type { Client } from '../../lib/kube/client.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';
import { PROVISIONER, provisionedByUs } from './persistent-volume.js';
import { copyVolumeData, removeSnapshotData, snapshotFileOf } from './snapshot-data.js';
import { PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, type PersistentVolume, type PersistentVolumeClaim } from './storage-api.js';
import { backingFileOf } from './loop-devices.js';

/** The simulated storage's snapshot class, installed as the cluster's default for its driver. */
export const SIMULATOR_SNAPSHOT_CLASS = 'kubevirt-simulator-snapshots';

export function simulatorSnapshotClass(): VolumeSnapshotClass {
  return {
    ...VOLUME_SNAPSHOT_CLASS_TYPE,
    metadata: { name: SIMULATOR_SNAPSHOT_CLASS, annotations: { [DEFAULT_SNAPSHOT_CLASS_ANNOTATION]: 'true' } },
    driver: PROVISIONER,
    deletionPolicy: 'Delete',
  };
}

/** Installs the snapshot class when the cluster does not have it yet (a cluster shared by several suites keeps it). */
export async function ensureSnapshotClass(client: Client): Promise<void> {
  const wanted = simulatorSnapshotClass();
  if (!(await client.get(VOLUME_SNAPSHOT_CLASS_TYPE, { name: SIMULATOR_SNAPSHOT_CLASS }, { direct: true }))) await client.apply(wanted);
}

/** snapshot-controller's name for a dynamically provisioned content. */
export const contentNameFor = (vs: VolumeSnapshot): string => `snapcontent-${vs.metadata.uid ?? ''}`;

/** The class a snapshot gets: the one it names, else the single default class of the driver. */
export function snapshotClassFor(vs: VolumeSnapshot, classes: VolumeSnapshotClass[]): { class: VolumeSnapshotClass } | { error: string } {
  const named = vs.spec.volumeSnapshotClassName;
  if (named !== undefined) {
    const found = classes.find((c) => c.metadata.name === named);
    return found ? { class: found } : { error: `Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${named}" not found` };
  }
  const defaults = classes.filter((c) => c.driver === PROVISIONER && c.metadata.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === 'true');
  if (defaults.length === 1 && defaults[0]) return { class: defaults[0] };
  return { error: `Failed to get default snapshot class with error ${defaults.length === 0 ? 'cannot find default snapshot class' : `${String(defaults.length)} default snapshot classes were found`}` };
}

export function buildContent(vs: VolumeSnapshot, cls: VolumeSnapshotClass, pv: PersistentVolume): VolumeSnapshotContent {
  return {
    ...VOLUME_SNAPSHOT_CONTENT_TYPE,
    metadata: { name: contentNameFor(vs), finalizers: [CONTENT_BOUND_FINALIZER] },
    spec: {
      volumeSnapshotRef: { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshot', namespace: vs.metadata.namespace ?? '', name: vs.metadata.name ?? '', uid: vs.metadata.uid ?? '' },
      source: { volumeHandle: pv.metadata.name ?? '' },
      driver: cls.driver,
      deletionPolicy: cls.deletionPolicy,
      volumeSnapshotClassName: cls.metadata.name ?? '',
      // As snapshot-controller with --prevent-volume-mode-conversion (its default): what a restore is checked against.
      ...(pv.spec.volumeMode === 'Block' || pv.spec.volumeMode === 'Filesystem' ? { sourceVolumeMode: pv.spec.volumeMode } : {}),
    },
  };
}

export class VolumeSnapshotReconciler implements Reconciler<VolumeSnapshot> {
  constructor(private readonly volumesDir: string) {}

  async reconcile(vs: VolumeSnapshot, ctx: ReconcileContext): Promise<Result> {
    if (vs.spec.source.persistentVolumeClaimName === undefined) return done(); // pre-provisioned: not ours to make
    if (vs.metadata.deletionTimestamp) return this.reconcileDelete(vs, ctx);
    if (vs.status?.readyToUse === true) return done();
    const classes = await ctx.cache.list<VolumeSnapshotClass>(VOLUME_SNAPSHOT_CLASS_TYPE);
    const found = snapshotClassFor(vs, classes);
    if ('error' in found) return this.fail(vs, found.error);
    if (found.class.driver !== PROVISIONER) return done(); // another driver's snapshotter takes it

    const claimName = vs.spec.source.persistentVolumeClaimName;
    const claim = await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: vs.metadata.namespace, name: claimName });
    if (!claim) return this.fail(vs, `Failed to create snapshot content with error failed to get input parameters to create snapshot ${vs.metadata.name ?? ''}: persistentvolumeclaims "${claimName}" not found`);
    // As snapshot-controller: no snapshot of a claim that is not bound yet; its watch brings us back.
    if (claim.status?.phase !== 'Bound' || !claim.spec.volumeName) return done();
    const pv = await ctx.cache.get<PersistentVolume>(PERSISTENT_VOLUME, { name: claim.spec.volumeName });
    if (!pv || !provisionedByUs(pv)) return done();

    // Held before anything is made for it: a snapshot deleted meanwhile then comes back here to take its data along.
    if (addFinalizer(vs, SNAPSHOT_BOUND_FINALIZER)) return { requeue: true };
    const content = await this.ensureContent(vs, found.class, pv, ctx);
    const bytes = parseQuantity(claim.status.capacity?.storage ?? claim.spec.resources?.requests?.storage ?? '0');
    if (content.status?.readyToUse !== true) {
      // Taken once: a content that is ready keeps the data it had then.
      await copyVolumeData(backingFileOf(this.volumesDir, pv.metadata.name ?? ''), snapshotFileOf(this.volumesDir, contentNameFor(vs)), bytes);
      const status: VolumeSnapshotContent['status'] = { snapshotHandle: contentNameFor(vs), creationTime: Date.now() * 1e6, readyToUse: true, restoreSize: bytes };
      await ctx.client.mergePatch(VOLUME_SNAPSHOT_CONTENT_TYPE, { name: contentNameFor(vs) }, { status }, { subresource: 'status' });
      ctx.events.normal('SnapshotReady', 'CreateSnapshot', `Snapshot ${vs.metadata.namespace ?? ''}/${vs.metadata.name ?? ''} is ready to use.`);
    }
    vs.status = { boundVolumeSnapshotContentName: contentNameFor(vs), creationTime: vs.status?.creationTime ?? metaTime(), readyToUse: true, restoreSize: String(bytes) };
    return done();
  }

  private fail(vs: VolumeSnapshot, message: string): Result {
    if (vs.status?.error?.message !== message) vs.status = { ...vs.status, readyToUse: false, error: { message, time: metaTime() } };
    // What is missing (a class, a claim) may appear; snapshot-controller retries with backoff too.
    return { requeue: true };
  }

  private async ensureContent(vs: VolumeSnapshot, cls: VolumeSnapshotClass, pv: PersistentVolume, ctx: ReconcileContext): Promise<VolumeSnapshotContent> {
    const name = contentNameFor(vs);
    const cached = await ctx.cache.get<VolumeSnapshotContent>(VOLUME_SNAPSHOT_CONTENT_TYPE, { name });
    if (cached) return cached;
    try {
      return await ctx.client.create(buildContent(vs, cls, pv));
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`create VolumeSnapshotContent ${name} for ${ctx.key}: ${(err as Error).message}`, { cause: err });
      const existing = await ctx.client.get<VolumeSnapshotContent>(VOLUME_SNAPSHOT_CONTENT_TYPE, { name }, { direct: true });
      if (!existing) throw new Error(`VolumeSnapshotContent ${name} vanished while created`, { cause: err });
      return existing;
    }
  }

  private async reconcileDelete(vs: VolumeSnapshot, ctx: ReconcileContext): Promise<Result> {
    const name = vs.status?.boundVolumeSnapshotContentName ?? contentNameFor(vs);
    const content = await ctx.client.get<VolumeSnapshotContent>(VOLUME_SNAPSHOT_CONTENT_TYPE, { name }, { direct: true });
    if (content && content.spec.volumeSnapshotRef.uid === vs.metadata.uid) {
      // Retain keeps the content and its data for a later pre-provisioned snapshot; Delete takes both.
      if (content.spec.deletionPolicy === 'Delete') await removeSnapshotData(snapshotFileOf(this.volumesDir, name));
      if (removeFinalizer(content, CONTENT_BOUND_FINALIZER)) await ctx.client.update(content);
      if (content.spec.deletionPolicy === 'Delete') {
        await ctx.client.delete(VOLUME_SNAPSHOT_CONTENT_TYPE, { name });
        ctx.log.debug({ content: name }, 'deleted snapshot content and its data');
      }
    }
    removeFinalizer(vs, SNAPSHOT_BOUND_FINALIZER);
    return done();
  }
}
