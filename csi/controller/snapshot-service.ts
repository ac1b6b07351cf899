// CreateSnapshot, DeleteSnapshot, ListSnapshots and GetSnapshot of the Controller service: a tenant snapshot is a VolumeSnapshot
// of the source volume's claim in the tenant's infra namespace, which the infra storage makes ReadyToUse. Like
// volumes, a snapshot is the tenant's only when it carries every tenant label: another tenant's snapshot ID names
// nothing, and a name another tenant holds is ALREADY_EXISTS, never reused.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataVolume } from '../../lib/apis/cdi.js';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../lib/apis/snapshot.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import type { KubeObject } from '../../lib/kube/object.js';

/** The one field of the source's infra claim a snapshot needs. */
type InfraClaim = KubeObject & { spec?: { storageClassName?: string } };
import type { Client } from '../../lib/kube/client.js';
import { selectorFromLabels } from '../../lib/kube/label-selector.js';
import type { Logger } from '../../lib/observability/logger.js';
import type { CreateSnapshotRequest, ListSnapshotsRequest } from '../csi-types.js';
import type { RpcTable } from '../server.js';
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound } from '../status.js';
import { VolumeLocks } from '../volume-locks.js';
import { belongsTo, dataVolumeNameFor, quantityBytes } from './datavolume.js';
import { PERSISTENT_VOLUME_CLAIM_TYPE } from './expand.js';
import { page } from './page-token.js';
import { buildVolumeSnapshot, csiSnapshotOf, snapshotClassOf, sourceVolumeOf } from './snapshot.js';
import { snapshotClassFor, type StorageClassEnforcement } from './storage-class-enforcement.js';

export interface SnapshotServiceOptions {
  infra: Client;
  infraNamespace: string;
  infraLabels: Record<string, string>;
  log: Logger;
  /** The tenant's DataVolume of a volume ID (the Controller's check), undefined when it is not the tenant's. */
  ownDataVolume: (name: string) => Promise<DataVolume | undefined>;
  /** INFRA_STORAGE_CLASS_ENFORCEMENT as the Controller resolved it: its storageSnapshotMapping decides the infra snapshot class. */
  storageClassEnforcement: StorageClassEnforcement;
  /**
   * How long CreateSnapshot waits for the infra snapshot to become ReadyToUse before answering ready_to_use=false
   * (csi-snapshotter then calls again until it is).
   */
  readyWaitMs?: number;
  /**
   * How old an infra snapshot must be before its error is reported (FAILED_PRECONDITION). snapshot-controller records
   * passing errors too (the claim not in its cache yet) and retries them with a backoff from 1 s that doubles, so an
   * error younger than this is answered as not ready yet.
   */
  errorGraceMs?: number;
  pollIntervalMs?: number;
}

const DEFAULT_ERROR_GRACE_MS = 60_000;

const bytesOf = (dv: DataVolume | undefined): number => quantityBytes((dv?.spec?.storage ?? dv?.spec?.pvc)?.resources?.requests?.storage) ?? 0;

export class SnapshotService {
  private readonly locks = new VolumeLocks();

  constructor(private readonly opts: SnapshotServiceOptions) {}

  rpcs(): RpcTable {
    return {
      CreateSnapshot: (req: CreateSnapshotRequest) => this.createSnapshot(req),
      DeleteSnapshot: (req: { snapshot_id?: string }) => this.deleteSnapshot(req),
      ListSnapshots: (req: ListSnapshotsRequest) => this.listSnapshots(req),
      GetSnapshot: (req: { snapshot_id?: string }) => this.getSnapshot(req),
    };
  }

  private get ns(): string {
    return this.opts.infraNamespace;
  }

  /** The tenant's infra VolumeSnapshot named `name`; undefined when there is none, or it is not this tenant's. */
  async ownSnapshot(name: string): Promise<VolumeSnapshot | undefined> {
    // Not an object name (a crafted ID with a namespace or a path in it): no snapshot of this tenant has it.
    if (dataVolumeNameFor(name) !== name) return undefined;
    const vs = await this.opts.infra.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, name }, { direct: true });
    if (vs && !belongsTo(vs, this.opts.infraLabels)) {
      this.opts.log.warn({ snapshot: name }, 'refused a VolumeSnapshot without the tenant labels');
      return undefined;
    }
    return vs;
  }

  private async createSnapshot(req: CreateSnapshotRequest): Promise<object> {
    if (!req.name) throw invalidArgument('name is required');
    const source = req.source_volume_id ?? '';
    if (source === '') throw invalidArgument('source_volume_id is required');
    const name = dataVolumeNameFor(req.name);
    return this.locks.run(name, 'CreateSnapshot', async () => {
      let vs = await this.opts.infra.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, name }, { direct: true });
      const dv = await this.opts.ownDataVolume(source);
      if (!vs) {
        if (!dv) throw notFound(`source volume ${source} not found`);
        const claim = await this.awaitClaim(source);
        const policy = this.opts.storageClassEnforcement;
        // A restricted policy picks the class by the claim's StorageClass, which only the claim tells.
        if (!claim && !(policy.allowAll || policy.allowDefault)) throw aborted(`the infra claim of volume ${source} is not created yet; retry`);
        const snapshotClassName = snapshotClassFor(policy, claim?.spec?.storageClassName, snapshotClassOf(req.parameters));
        const wanted = buildVolumeSnapshot({ name, namespace: this.ns, labels: this.opts.infraLabels, sourceVolumeId: source, snapshotClassName });
        try {
          vs = await this.opts.infra.create(wanted);
          this.opts.log.info({ snapshot: name, volume: source, class: wanted.spec.volumeSnapshotClassName }, 'created VolumeSnapshot');
        } catch (err) {
          if (!isAlreadyExists(err)) throw new Error(`create VolumeSnapshot ${this.ns}/${name}: ${(err as Error).message}`, { cause: err });
          vs = await this.opts.infra.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, name }, { direct: true });
          if (!vs) throw aborted(`VolumeSnapshot ${this.ns}/${name} was deleted while being created; retry`);
        }
      }
      if (!belongsTo(vs, this.opts.infraLabels)) throw alreadyExists(`snapshot ${name} exists in the infra namespace but does not belong to this tenant`);
      if (sourceVolumeOf(vs) !== source) throw alreadyExists(`snapshot ${name} already exists with source volume ${sourceVolumeOf(vs) ?? '(none)'}, not ${source}`);
      if (vs.metadata.deletionTimestamp) throw aborted(`snapshot ${name} is being deleted; retry`);
      return { snapshot: csiSnapshotOf(await this.awaitReady(vs), bytesOf(dv)) };
    });
  }

  /**
   * Waits, at most readyWaitMs, for the claim CDI creates for a new DataVolume: a VolumeSnapshot of a claim that is
   * not there yet fails in snapshot-controller and is only retried after its backoff.
   */
  private async awaitClaim(name: string): Promise<InfraClaim | undefined> {
    const deadline = Date.now() + (this.opts.readyWaitMs ?? 5_000);
    for (;;) {
      const claim = await this.opts.infra.get<InfraClaim>(PERSISTENT_VOLUME_CLAIM_TYPE, { namespace: this.ns, name }, { direct: true });
      if (claim || Date.now() >= deadline) return claim;
      await sleep(this.opts.pollIntervalMs ?? 250);
    }
  }

  /**
   * The snapshot once ReadyToUse, or as it is when readyWaitMs passed. An infra error then is FAILED_PRECONDITION once
   * the snapshot is older than errorGraceMs; a younger one is answered as not ready, and csi-snapshotter asks again.
   */
  private async awaitReady(first: VolumeSnapshot): Promise<VolumeSnapshot> {
    const deadline = Date.now() + (this.opts.readyWaitMs ?? 5_000);
    for (let vs: VolumeSnapshot | undefined = first; ; ) {
      if (!vs) throw aborted(`snapshot ${first.metadata.name ?? ''} was deleted while being created; retry`);
      if (vs.status?.readyToUse === true) return vs;
      if (Date.now() >= deadline) {
        const age = Date.now() - Date.parse(vs.metadata.creationTimestamp ?? '');
        // An unparseable creation time (NaN) counts as old: the error is reported.
        const settled = !(age < (this.opts.errorGraceMs ?? DEFAULT_ERROR_GRACE_MS));
        if (vs.status?.error?.message && settled) throw failedPrecondition(`infra VolumeSnapshot ${this.ns}/${vs.metadata.name ?? ''}: ${vs.status.error.message}`);
        if (vs.status?.error?.message) this.opts.log.info({ snapshot: vs.metadata.name, error: vs.status.error.message }, 'infra snapshot reported an error; waiting for snapshot-controller to retry');
        return vs;
      }
      await sleep(this.opts.pollIntervalMs ?? 250);
      vs = await this.opts.infra.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, name: first.metadata.name ?? '' }, { direct: true });
    }
  }

  private async deleteSnapshot(req: { snapshot_id?: string }): Promise<object> {
    const id = req.snapshot_id ?? '';
    if (id === '') throw invalidArgument('snapshot_id is required');
    return this.locks.run(id, 'DeleteSnapshot', async () => {
      // Another tenant's snapshot, or none: nothing of this tenant's to delete, which DeleteSnapshot reports as done.
      if (!(await this.ownSnapshot(id))) return {};
      if (await this.opts.infra.delete(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, name: id })) this.opts.log.info({ snapshot: id }, 'deleted VolumeSnapshot');
      return {};
    });
  }

  /** One snapshot by ID, ready or not; NOT_FOUND when it is not this tenant's, or on its way out (as ListSnapshots). */
  private async getSnapshot(req: { snapshot_id?: string }): Promise<object> {
    const id = req.snapshot_id ?? '';
    if (id === '') throw invalidArgument('snapshot_id is required');
    const vs = await this.ownSnapshot(id);
    if (!vs || vs.metadata.deletionTimestamp) throw notFound(`snapshot ${id} not found`);
    // The source's size only until the infra storage reports the restore size, as CreateSnapshot answers.
    const sourceBytes = vs.status?.restoreSize ? 0 : bytesOf(await this.opts.ownDataVolume(sourceVolumeOf(vs) ?? ''));
    return { snapshot: csiSnapshotOf(vs, sourceBytes) };
  }

  private async listSnapshots(req: ListSnapshotsRequest): Promise<object> {
    if ((req.max_entries ?? 0) < 0) throw invalidArgument('max_entries may not be negative');
    let snapshots: VolumeSnapshot[];
    if (req.snapshot_id) {
      const vs = await this.ownSnapshot(req.snapshot_id);
      snapshots = vs ? [vs] : [];
    } else {
      const selector = selectorFromLabels(this.opts.infraLabels);
      snapshots = await this.opts.infra.list<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: this.ns, direct: true, ...(selector ? { labelSelector: selector } : {}) });
    }
    const nameOf = (vs: VolumeSnapshot) => vs.metadata.name ?? '';
    const matching = snapshots
      .filter((vs) => belongsTo(vs, this.opts.infraLabels) && !vs.metadata.deletionTimestamp)
      .filter((vs) => !req.source_volume_id || sourceVolumeOf(vs) === req.source_volume_id)
      .sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
    const { entries, next_token } = page(matching, nameOf, req);
    return { entries: entries.map((vs) => ({ snapshot: csiSnapshotOf(vs) })), ...(next_token ? { next_token } : {}) };
  }
}
