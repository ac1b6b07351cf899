// CreateVolume's volume_content_source: a snapshot or another volume of the tenant becomes the origin of the new
// DataVolume, checked first to be the tenant's (a crafted ID naming another tenant's snapshot or volume is
// NOT_FOUND), and the size it needs at least: a volume smaller than its source would cut the data off.
import type { DataVolume } from '../../lib/apis/cdi.js';
import type { VolumeSnapshot } from '../../lib/apis/snapshot.js';
import type { CapacityRange, VolumeContentSource } from '../csi-types.js';
import { invalidArgument, notFound, outOfRange } from '../status.js';
import { quantityBytes, volumeBytes, type VolumeOrigin } from './datavolume.js';

export interface ContentLookups {
  /** The tenant's infra VolumeSnapshot, undefined when it is missing or another tenant's. */
  snapshot(name: string): Promise<VolumeSnapshot | undefined>;
  /** The tenant's DataVolume, undefined when it is missing or another tenant's. */
  volume(name: string): Promise<DataVolume | undefined>;
}

export interface ResolvedSource {
  origin: VolumeOrigin;
  /** The source's size; 0 for a blank volume. */
  sourceBytes: number;
}

export async function resolveContentSource(source: VolumeContentSource | undefined, lookups: ContentLookups): Promise<ResolvedSource> {
  if (source?.snapshot) {
    const id = source.snapshot.snapshot_id ?? '';
    if (id === '') throw invalidArgument('volume_content_source.snapshot.snapshot_id is required');
    const vs = await lookups.snapshot(id);
    if (!vs) throw notFound(`source snapshot ${id} not found`);
    const sourceDv = vs.spec.source.persistentVolumeClaimName ? await lookups.volume(vs.spec.source.persistentVolumeClaimName) : undefined;
    const bytes = quantityBytes(vs.status?.restoreSize) ?? quantityBytes((sourceDv?.spec?.storage ?? sourceDv?.spec?.pvc)?.resources?.requests?.storage) ?? 0;
    return { origin: { kind: 'snapshot', name: id }, sourceBytes: bytes };
  }
  if (source?.volume) {
    const id = source.volume.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_content_source.volume.volume_id is required');
    const dv = await lookups.volume(id);
    if (!dv) throw notFound(`source volume ${id} not found`);
    return { origin: { kind: 'volume', name: id }, sourceBytes: quantityBytes((dv.spec?.storage ?? dv.spec?.pvc)?.resources?.requests?.storage) ?? 0 };
  }
  return { origin: { kind: 'blank' }, sourceBytes: 0 };
}

/**
 * The size of a volume with content: required_bytes exactly when given (OUT_OF_RANGE below the source's size),
 * else the source's size, else what a blank volume gets.
 */
export function sizeWithSource(range: CapacityRange | undefined, sourceBytes: number): number {
  const bytes = volumeBytes(range);
  const required = range?.required_bytes ?? 0;
  const limit = range?.limit_bytes ?? 0;
  if (sourceBytes === 0) return bytes;
  if (required > 0) {
    if (required < sourceBytes) throw outOfRange(`capacity_range: required_bytes ${String(required)} is less than the source's ${String(sourceBytes)} bytes`);
    return required;
  }
  if (limit > 0 && limit < sourceBytes) throw outOfRange(`capacity_range: limit_bytes ${String(limit)} is less than the source's ${String(sourceBytes)} bytes`);
  return sourceBytes;
}
