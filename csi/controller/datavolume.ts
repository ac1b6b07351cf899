// The infra DataVolume behind a tenant volume, as pure functions: named after the CreateVolume request (the
// volume ID), labelled with the tenant's infra labels (what ties it to the tenant, and what every later RPC
// checks before touching it), of exactly the requested size; blank, restored from an infra VolumeSnapshot, or a
// clone of another of the tenant's volumes.
import { createHash } from 'node:crypto';
import { DATA_VOLUME_TYPE, type DataVolume, type DataVolumeSpec } from '../../lib/apis/cdi.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { CapacityRange } from '../csi-types.js';
import { invalidArgument, outOfRange } from '../status.js';

export const DEFAULT_VOLUME_BYTES = 1024 ** 3;
/** CDI garbage-collects a DataVolume once its import completed unless told not to; the claim must stay ours. */
export const DELETE_AFTER_COMPLETION_ANNOTATION = 'cdi.kubevirt.io/storage.deleteAfterCompletion';

/** The size to provision: required_bytes exactly, else the default capped by limit_bytes. */
export function volumeBytes(range: CapacityRange | undefined): number {
  const required = range?.required_bytes ?? 0;
  const limit = range?.limit_bytes ?? 0;
  if (required < 0 || limit < 0) throw invalidArgument('capacity_range: required_bytes and limit_bytes may not be negative');
  if (limit > 0 && required > limit) throw outOfRange(`capacity_range: required_bytes ${String(required)} exceeds limit_bytes ${String(limit)}`);
  if (required > 0) return required;
  return limit > 0 ? Math.min(DEFAULT_VOLUME_BYTES, limit) : DEFAULT_VOLUME_BYTES;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The DataVolume (and volume ID) for a CreateVolume name. The external-provisioner's names (pvc-<uid>) are valid
 * object names and are kept as they are, as kubevirt/csi-driver keeps them; any other CSI name (up to 128 of any
 * character) becomes a valid one, deterministically, with a hash of the original so two names never collide.
 */
export function dataVolumeNameFor(name: string): string {
  if (name.length <= 253 && DNS_SUBDOMAIN.test(name)) return name;
  const readable = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 200).replace(/-+$/, '');
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return readable === '' ? `vol-${hash}` : `${readable}-${hash}`;
}

const SUFFIXES: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5 };

/** A storage quantity in bytes ("67108864", "64Mi", "1G"); undefined for forms a storage request never takes. */
export function quantityBytes(q: string | number | undefined): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^(\d+)(k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/.exec(q ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (SUFFIXES[m[2] ?? ''] ?? 1);
}

/**
 * Where a volume's data comes from. A snapshot restores through CDI's snapshot source; a clone names the source
 * volume's claim as the claim's dataSourceRef (a CSI clone by the infra storage), as kubevirt/csi-driver does,
 * because CDI's own clone of a claim waits until no pod uses it and a tenant volume is in use by its VM.
 */
export type VolumeOrigin = { kind: 'blank' } | { kind: 'snapshot'; name: string } | { kind: 'volume'; name: string };

/** The DataVolume fields that carry an origin. */
function originFields(origin: VolumeOrigin, namespace: string): { source?: DataVolumeSpec['source']; dataSourceRef?: { kind: string; name: string } } {
  switch (origin.kind) {
    case 'blank':
      return { source: { blank: {} } };
    case 'snapshot':
      return { source: { snapshot: { namespace, name: origin.name } } };
    case 'volume':
      return { dataSourceRef: { kind: 'PersistentVolumeClaim', name: origin.name } };
  }
}

/** The origin of a DataVolume in words ("blank", "snapshot <name>", "volume <name>"); undefined for one the driver would not make. */
export function originOf(dv: DataVolume): string | undefined {
  const ref = (dv.spec?.storage ?? dv.spec?.pvc)?.dataSourceRef;
  if (dv.spec?.source?.blank && !ref) return 'blank';
  if (dv.spec?.source?.snapshot && !ref) return `snapshot ${dv.spec.source.snapshot.name}`;
  if (!dv.spec?.source && ref?.kind === 'PersistentVolumeClaim') return `volume ${ref.name}`;
  return undefined;
}

export interface DataVolumeRequest {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  bytes: number;
  volumeMode: 'Block' | 'Filesystem';
  /** ReadWriteMany for shared block volumes (live migration), else ReadWriteOnce. */
  shared: boolean;
  storageClassName: string | undefined;
  /** Default: blank. */
  origin?: VolumeOrigin;
}

export function buildDataVolume(req: DataVolumeRequest): DataVolume {
  const { source, dataSourceRef } = originFields(req.origin ?? { kind: 'blank' }, req.namespace);
  return {
    ...DATA_VOLUME_TYPE,
    metadata: {
      name: req.name,
      namespace: req.namespace,
      labels: { ...req.labels },
      annotations: { [DELETE_AFTER_COMPLETION_ANNOTATION]: 'false' },
    },
    spec: {
      ...(source ? { source } : {}),
      storage: {
        accessModes: [req.shared ? 'ReadWriteMany' : 'ReadWriteOnce'],
        volumeMode: req.volumeMode,
        resources: { requests: { storage: String(req.bytes) } },
        ...(req.storageClassName !== undefined ? { storageClassName: req.storageClassName } : {}),
        ...(dataSourceRef ? { dataSourceRef } : {}),
      },
    },
  };
}

/** True when the object (DataVolume, VolumeSnapshot) carries every one of the tenant's labels: only then is it this tenant's. */
export function belongsTo(obj: KubeObject, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => obj.metadata.labels?.[k] === v);
}

/** Why an existing DataVolume does not match a repeated CreateVolume; undefined when it does. */
export function mismatch(existing: DataVolume, wanted: DataVolume): string | undefined {
  const a = existing.spec?.storage ?? existing.spec?.pvc ?? {};
  const b = wanted.spec?.storage ?? {};
  const want = quantityBytes(b.resources?.requests?.storage);
  if (quantityBytes(a.resources?.requests?.storage) !== want) return `it has ${String(a.resources?.requests?.storage ?? 'no size')}, not ${String(want)} bytes`;
  if ((a.volumeMode ?? 'Filesystem') !== (b.volumeMode ?? 'Filesystem')) return `its volume mode is ${a.volumeMode ?? 'Filesystem'}, not ${b.volumeMode ?? 'Filesystem'}`;
  if (a.storageClassName !== b.storageClassName) return `its infra storage class is ${a.storageClassName ?? '(default)'}, not ${b.storageClassName ?? '(default)'}`;
  const had = originOf(existing) ?? 'another source';
  const asked = originOf(wanted) ?? 'another source';
  if (had !== asked) return `it was created from ${had}, not ${asked}`;
  return undefined;
}
