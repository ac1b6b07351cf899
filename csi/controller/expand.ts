// ControllerExpandVolume: a tenant volume grows by growing its infra claim, the PVC CDI made for the DataVolume
// (named after it and controlled by it), as kubevirt/csi-driver does: CDI keeps a DataVolume's spec as created, so
// the claim's request is the size that changes, and the infra storage (with KubeVirt growing the hot-plugged disk)
// reports the result in the claim's status.capacity. Only the claim is read, never the cluster-scoped PV, so the
// controller's infra Role stays namespaced. A Filesystem volume needs its filesystem grown too (NodeExpandVolume).
import { ApiError } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';
import type { Logger } from '../../lib/observability/logger.js';
import type { DataVolume } from '../../lib/apis/cdi.js';
import { checkWellFormed } from '../capabilities.js';
import type { CapacityRange, ControllerExpandVolumeRequest } from '../csi-types.js';
import { pollUntil } from '../poll.js';
import { failedPrecondition, invalidArgument, notFound, outOfRange } from '../status.js';
import type { VolumeLocks } from '../volume-locks.js';
import { quantityBytes } from './datavolume.js';

export const PERSISTENT_VOLUME_CLAIM_TYPE: TypeMeta = { apiVersion: 'v1', kind: 'PersistentVolumeClaim' };

/** The fields of the infra claim expansion reads. */
export interface InfraClaim extends KubeObject {
  spec: { resources?: { requests?: { storage?: string } } };
  status?: { phase?: string; capacity?: { storage?: string } };
}

/**
 * The size to ask the infra claim for, given what it asks now: required_bytes when that is more, nothing when the
 * volume is already at least that big (the CSI spec's idempotent OK). Volumes never shrink, so a limit_bytes below
 * the current size is OUT_OF_RANGE.
 */
export function expansionBytes(range: CapacityRange | undefined, currentBytes: number): number | undefined {
  if (!range) throw invalidArgument('capacity_range is required');
  const required = range.required_bytes ?? 0;
  const limit = range.limit_bytes ?? 0;
  if (required < 0 || limit < 0) throw invalidArgument('capacity_range: required_bytes and limit_bytes may not be negative');
  if (required === 0 && limit === 0) throw invalidArgument('capacity_range: required_bytes or limit_bytes must be set');
  if (limit > 0 && required > limit) throw outOfRange(`capacity_range: required_bytes ${String(required)} exceeds limit_bytes ${String(limit)}`);
  if (limit > 0 && currentBytes > limit) throw outOfRange(`volume is ${String(currentBytes)} bytes, more than limit_bytes ${String(limit)}: volumes cannot shrink`);
  return required > currentBytes ? required : undefined;
}

/** Why `claim` is not the DataVolume's own bound claim yet; undefined when it is. */
export function claimNotReady(claim: InfraClaim | undefined, dv: DataVolume): string | undefined {
  if (!claim) return 'no claim yet';
  const controller = claim.metadata.ownerReferences?.find((r) => r.controller === true);
  if (controller?.uid !== dv.metadata.uid) return `claim ${claim.metadata.name ?? ''} is not controlled by DataVolume ${dv.metadata.name ?? ''}`;
  if (claim.status?.phase !== 'Bound') return `claim phase ${claim.status?.phase ?? 'Pending'}`;
  return undefined;
}

export interface ExpandDeps {
  infra: Client;
  namespace: string;
  locks: VolumeLocks;
  /** The tenant's DataVolume of that name; undefined when there is none or it is another tenant's. */
  dataVolume: (name: string) => Promise<DataVolume | undefined>;
  log: Logger;
  timeoutMs: number;
  intervalMs: number;
}

export async function controllerExpandVolume(req: ControllerExpandVolumeRequest, deps: ExpandDeps): Promise<object> {
  const id = req.volume_id ?? '';
  if (id === '') throw invalidArgument('volume_id is required');
  const range = req.capacity_range;
  if (!range) throw invalidArgument('capacity_range is required');
  const cap = req.volume_capability ? checkWellFormed(req.volume_capability) : undefined;
  return deps.locks.run(id, 'ControllerExpandVolume', async () => {
    const dv = await deps.dataVolume(id);
    if (!dv) throw notFound(`volume ${id} not found`);
    const mode = (dv.spec?.storage ?? dv.spec?.pvc)?.volumeMode ?? 'Filesystem';
    if (mode === 'Filesystem' && cap?.block) throw invalidArgument(`volume ${id} is a Filesystem volume; it cannot be expanded as a block device`);
    const ref = { namespace: deps.namespace, name: id };
    const getClaim = () => deps.infra.get<InfraClaim>(PERSISTENT_VOLUME_CLAIM_TYPE, ref, { direct: true });
    const poll = { timeoutMs: deps.timeoutMs, intervalMs: deps.intervalMs };
    // The apiserver resizes bound claims only; a volume created moments ago may not be bound yet.
    const claim = await pollUntil(
      async () => {
        const c = await getClaim();
        const why = claimNotReady(c, dv);
        return why === undefined && c ? { done: true, value: c } : { done: false, seen: why ?? 'no claim' };
      },
      { ...poll, what: `the bound infra claim of volume ${id}` },
    );
    const requested = quantityBytes(claim.spec.resources?.requests?.storage) ?? 0;
    const grow = expansionBytes(range, requested);
    if (grow !== undefined) await growClaim(deps, id, grow);
    // Also when the request was grown earlier (a retry): done once the storage delivered.
    const wanted = range.required_bytes ?? 0;
    const capacity = await pollUntil(
      async () => {
        const c = await getClaim();
        const bytes = quantityBytes(c?.status?.capacity?.storage) ?? 0;
        return bytes >= wanted ? { done: true, value: bytes } : { done: false, seen: `capacity ${c?.status?.capacity?.storage ?? 'none'}` };
      },
      { ...poll, what: `infra claim ${deps.namespace}/${id} to reach ${String(wanted)} bytes` },
    );
    return { capacity_bytes: capacity, node_expansion_required: mode === 'Filesystem' };
  });
}

async function growClaim(deps: ExpandDeps, id: string, bytes: number): Promise<void> {
  try {
    await deps.infra.mergePatch(PERSISTENT_VOLUME_CLAIM_TYPE, { namespace: deps.namespace, name: id }, { spec: { resources: { requests: { storage: String(bytes) } } } });
  } catch (err) {
    // The apiserver's PersistentVolumeClaimResize admission: the infra StorageClass does not allow expansion.
    if (err instanceof ApiError && err.status === 403 && /storageclass .*support resize/i.test(err.message)) {
      throw failedPrecondition(`volume ${id} cannot grow: its infra StorageClass does not set allowVolumeExpansion (${err.message})`);
    }
    throw new Error(`grow infra claim ${deps.namespace}/${id} to ${String(bytes)} bytes: ${(err as Error).message}`, { cause: err });
  }
  deps.log.info({ volume: id, bytes }, 'requested infra claim expansion');
}
