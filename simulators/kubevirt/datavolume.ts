// CDI's DataVolume controller: a PVC named after the DataVolume (owned by it, labelled as CDI labels its claims),
// a PersistentVolume provisioned for it so kube-controller-manager binds the two, then the import phases
// (ImportScheduled -> ImportInProgress -> Succeeded). There is no network to import from here: an import
// succeeds after a short delay, except from a host under the reserved .invalid domain, which fails the way an
// unreachable endpoint fails upstream (phase Failed, Running=False with reason Error). A restore or clone has
// its source's data copied into the new volume's backing file before the volume is provisioned, so the claim binds
// (and a VM can attach it) only once the data is in.
import { ownerReferenceTo } from '../../lib/controller/owner-references.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import { metaTime } from '../../lib/kube/meta-time.js';
import { DATA_VOLUME_TYPE, type DataVolume, type DataVolumeCondition, type DataVolumePhase, type StorageSpec } from '../../lib/apis/cdi.js';
import { PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, type PersistentVolume, type PersistentVolumeClaim } from './storage-api.js';
import { CDI_APP, CDI_APP_LABEL, CDI_IMPORT_ENDPOINT_ANNOTATION } from './labels.js';
import { persistentVolumeFor } from './persistent-volume.js';
import { backingFileOf } from './loop-devices.js';
import { copyVolumeData } from './snapshot-data.js';
import { populationFile, populationSourceOf } from './volume-population.js';
import { parseQuantity } from '../../localcloud/cluster/quantity.js';

export interface DataVolumeControllerDeps {
  /** How long an import takes; default 500 ms. */
  importDurationMs?: number | undefined;
  /** Where volumes' backing files live: restores and clones copy their source's data there. */
  volumesDir: string;
}

const DEFAULT_SIZE = '1Gi';

function endpointOf(dv: DataVolume): string | undefined {
  const s = dv.spec?.source;
  return s?.http?.url ?? s?.registry?.url ?? s?.s3?.url ?? s?.gcs?.url;
}

/** Why an import from this source cannot succeed, as the importer would put it; undefined when it can. */
export function importFailure(dv: DataVolume): string | undefined {
  const endpoint = endpointOf(dv);
  if (endpoint === undefined) return undefined;
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return `Unable to parse the data source URL "${endpoint}"`;
  }
  if (host === 'invalid' || host.endsWith('.invalid')) {
    return `Unable to connect to http data source: Get "${endpoint}": dial tcp: lookup ${host}: no such host`;
  }
  return undefined;
}

/** The claim CDI creates: spec.pvc verbatim, or spec.storage with CDI's defaults filled in. */
export function claimFor(dv: DataVolume): PersistentVolumeClaim {
  const source: StorageSpec = dv.spec?.pvc ?? dv.spec?.storage ?? {};
  const endpoint = endpointOf(dv);
  return {
    ...PERSISTENT_VOLUME_CLAIM,
    metadata: {
      name: dv.metadata.name ?? '',
      namespace: dv.metadata.namespace,
      labels: { [CDI_APP_LABEL]: CDI_APP },
      ...(endpoint ? { annotations: { [CDI_IMPORT_ENDPOINT_ANNOTATION]: endpoint } } : {}),
      ownerReferences: [ownerReferenceTo({ ...DATA_VOLUME_TYPE, ...dv }, { controller: true })],
    },
    spec: {
      accessModes: source.accessModes ?? ['ReadWriteOnce'],
      volumeMode: source.volumeMode ?? 'Filesystem',
      resources: { requests: { storage: source.resources?.requests?.storage ?? DEFAULT_SIZE } },
      ...(source.storageClassName !== undefined ? { storageClassName: source.storageClassName } : {}),
    },
  };
}

function putDvCondition(dv: DataVolume, next: Omit<DataVolumeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>): void {
  const conditions = ((dv.status ??= {}).conditions ??= []);
  const i = conditions.findIndex((c) => c.type === next.type);
  const existing = conditions[i];
  if (existing?.status === next.status && existing.reason === next.reason && existing.message === next.message) return;
  const now = metaTime();
  const condition: DataVolumeCondition = { ...next, lastHeartbeatTime: now, lastTransitionTime: existing?.status === next.status ? (existing.lastTransitionTime ?? now) : now };
  if (existing) conditions[i] = condition;
  else conditions.push(condition);
}

export class DataVolumeReconciler implements Reconciler<DataVolume> {
  constructor(private readonly deps: DataVolumeControllerDeps) {}

  async reconcile(dv: DataVolume, ctx: ReconcileContext): Promise<Result> {
    if (dv.metadata.deletionTimestamp) return done(); // the claim goes with it through its owner reference
    const status = (dv.status ??= {});
    const name = dv.metadata.name ?? '';
    status.claimName = name;
    status.progress ??= 'N/A';
    const claim = await this.ensureClaim(dv, ctx);
    if (claim?.status?.phase !== 'Bound') {
      this.setPhase(dv, 'Pending');
      putDvCondition(dv, { type: 'Bound', status: 'False', reason: 'Pending', message: `PVC ${name} Pending` });
      putDvCondition(dv, { type: 'Ready', status: 'False', reason: 'Pending' });
      putDvCondition(dv, { type: 'Running', status: 'False', reason: 'Pending' });
      return done();
    }
    putDvCondition(dv, { type: 'Bound', status: 'True', reason: 'Bound', message: `PVC ${name} Bound` });
    const cloning = populationSourceOf(dv) !== undefined;
    switch (status.phase ?? '') {
      case '':
      case 'Pending':
      case 'PVCBound':
        this.setPhase(dv, cloning ? 'CloneScheduled' : 'ImportScheduled');
        putDvCondition(dv, { type: 'Running', status: 'False', reason: 'Pending' });
        return done();
      case 'ImportScheduled':
      case 'CloneScheduled':
        this.setPhase(dv, cloning ? 'CloneInProgress' : 'ImportInProgress');
        status.progress = '0.00%';
        putDvCondition(dv, { type: 'Running', status: 'True', message: cloning ? 'Clone in progress' : 'Import in progress' });
        return requeueAfter(this.deps.importDurationMs ?? 500);
      case 'ImportInProgress':
      case 'CloneInProgress':
        return this.finishImport(dv, ctx);
      default:
        return done();
    }
  }

  private finishImport(dv: DataVolume, ctx: ReconcileContext): Result {
    const failure = importFailure(dv);
    if (failure) {
      this.setPhase(dv, 'Failed');
      putDvCondition(dv, { type: 'Running', status: 'False', reason: 'Error', message: failure });
      putDvCondition(dv, { type: 'Ready', status: 'False', reason: 'Error', message: failure });
      ctx.events.warning('Error', 'Import', failure);
      return done();
    }
    this.setPhase(dv, 'Succeeded');
    (dv.status ??= {}).progress = '100.0%';
    putDvCondition(dv, { type: 'Running', status: 'False', reason: 'Completed' });
    putDvCondition(dv, { type: 'Ready', status: 'True' });
    ctx.events.normal('ImportSucceeded', 'Import', 'Successfully imported into PVC ' + (dv.metadata.name ?? ''));
    return done();
  }

  private setPhase(dv: DataVolume, phase: DataVolumePhase): void {
    (dv.status ??= {}).phase = phase;
  }

  /** The PVC and, while it is unbound, the volume provisioned for it; returns the claim as cached. */
  private async ensureClaim(dv: DataVolume, ctx: ReconcileContext): Promise<PersistentVolumeClaim | undefined> {
    const ref = { namespace: dv.metadata.namespace, name: dv.metadata.name ?? '' };
    let claim = await ctx.cache.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, ref);
    if (!claim) {
      try {
        claim = await ctx.client.create(claimFor(dv));
        ctx.events.normal('Pending', 'CreateClaim', `PVC ${ref.name} Pending`);
      } catch (err) {
        if (!isAlreadyExists(err)) throw new Error(`create PVC for DataVolume ${ctx.key}: ${(err as Error).message}`, { cause: err });
        claim = await ctx.client.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, ref, { direct: true });
      }
    }
    if (claim && claim.status?.phase !== 'Bound') {
      const volume = persistentVolumeFor(claim);
      if (!(await ctx.cache.get<PersistentVolume>(PERSISTENT_VOLUME, { name: volume.metadata.name ?? '' }))) {
        const population = await populationFile(dv, this.deps.volumesDir, ctx);
        if (!population.ready) {
          ctx.log.debug({ waiting: population.waiting }, 'waiting for the source before provisioning');
          return claim; // the source's watch brings us back
        }
        // Read past the cache: a volume already made may be attached, and its data is no longer ours to replace.
        const made = population.file ? await ctx.client.get<PersistentVolume>(PERSISTENT_VOLUME, { name: volume.metadata.name ?? '' }, { direct: true }) : undefined;
        if (population.file && !made) await copyVolumeData(population.file, backingFileOf(this.deps.volumesDir, volume.metadata.name ?? ''), parseQuantity(volume.spec.capacity.storage ?? '0'));
        try {
          await ctx.client.create(volume);
        } catch (err) {
          if (!isAlreadyExists(err)) throw new Error(`provision a volume for PVC ${ctx.key}: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    return claim;
  }
}
