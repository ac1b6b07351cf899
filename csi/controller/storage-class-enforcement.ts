// Which infra StorageClasses tenants may name in `infraStorageClassName`, and which infra VolumeSnapshotClasses may
// snapshot a volume of each: kubevirt/csi-driver's INFRA_STORAGE_CLASS_ENFORCEMENT (YAML: allowAll, allowDefault,
// allowList, storageSnapshotMapping), read the same way so an existing deployment keeps its policy. Unset, every
// class and the infra default are allowed, as upstream.
import { parse } from 'yaml';
import { invalidArgument } from '../status.js';

/** One group of storageSnapshotMapping: any of these snapshot classes works with any of these storage classes. */
export interface SnapshotClassGroup {
  volumeSnapshotClasses: string[];
  storageClasses: string[];
}

export interface StorageClassEnforcement {
  allowAll: boolean;
  allowDefault: boolean;
  allowList: string[];
  snapshotMapping: SnapshotClassGroup[];
}

const KEYS = new Set(['allowAll', 'allowDefault', 'allowList', 'storageSnapshotMapping']);

export function parseStorageClassEnforcement(text: string | undefined): StorageClassEnforcement {
  if (text === undefined || text.trim() === '') return { allowAll: true, allowDefault: true, allowList: [], snapshotMapping: [] };
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: not YAML: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('INFRA_STORAGE_CLASS_ENFORCEMENT: want a mapping with allowAll, allowDefault, allowList');
  const o = doc as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: unknown key ${unknown.join(', ')} (want allowAll, allowDefault, allowList, storageSnapshotMapping)`);
  const flag = (k: string): boolean => {
    if (o[k] === undefined) return false;
    if (typeof o[k] !== 'boolean') throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: ${k} is not true or false`);
    return o[k];
  };
  const list = o.allowList ?? [];
  if (!isNameList(list)) throw new Error('INFRA_STORAGE_CLASS_ENFORCEMENT: allowList is not a list of StorageClass names');
  return { allowAll: flag('allowAll'), allowDefault: flag('allowDefault'), allowList: list, snapshotMapping: parseSnapshotMapping(o.storageSnapshotMapping ?? []) };
}

const isNameList = (x: unknown): x is string[] => Array.isArray(x) && x.every((n) => typeof n === 'string');
const GROUP_KEYS = new Set(['volumeSnapshotClasses', 'storageClasses']);

function parseSnapshotMapping(doc: unknown): SnapshotClassGroup[] {
  const want = 'want a list of {volumeSnapshotClasses: [...], storageClasses: [...]}';
  if (!Array.isArray(doc)) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: storageSnapshotMapping is not a list (${want})`);
  return doc.map((group: unknown, i) => {
    const at = `storageSnapshotMapping[${String(i)}]`;
    if (typeof group !== 'object' || group === null || Array.isArray(group)) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: ${at} is not a mapping (${want})`);
    const g = group as Record<string, unknown>;
    const unknown = Object.keys(g).filter((k) => !GROUP_KEYS.has(k));
    if (unknown.length > 0) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: ${at}: unknown key ${unknown.join(', ')} (${want})`);
    // Upstream writes `storageClasses: null` for a group of snapshot classes alone.
    const [volumeSnapshotClasses, storageClasses] = [g.volumeSnapshotClasses ?? [], g.storageClasses ?? []];
    if (!isNameList(volumeSnapshotClasses)) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: ${at}.volumeSnapshotClasses is not a list of VolumeSnapshotClass names`);
    if (!isNameList(storageClasses)) throw new Error(`INFRA_STORAGE_CLASS_ENFORCEMENT: ${at}.storageClasses is not a list of StorageClass names`);
    return { volumeSnapshotClasses, storageClasses };
  });
}

/** Refuses (INVALID_ARGUMENT) an infra StorageClass the policy does not allow; undefined is the infra default. */
export function enforceStorageClass(policy: StorageClassEnforcement, storageClassName: string | undefined): void {
  if (policy.allowAll) return;
  if (storageClassName === undefined) {
    if (policy.allowDefault) return;
    throw invalidArgument('infraStorageClassName is required: the infra default StorageClass is not allowed (INFRA_STORAGE_CLASS_ENFORCEMENT allowDefault is false)');
  }
  if (!policy.allowList.includes(storageClassName)) throw invalidArgument(`infraStorageClassName ${storageClassName} is not in the allowed list (INFRA_STORAGE_CLASS_ENFORCEMENT allowList)`);
}

/**
 * The infra VolumeSnapshotClass for a snapshot of a claim of infra StorageClass `storageClassName` (undefined: the
 * claim has none), when the tenant's VolumeSnapshotClass asks for `requested` (undefined: the infra default).
 * A class the mapping groups with the claim's storage class is always taken. Otherwise a policy that allows every
 * class or the infra default takes the request as it is; a restricted one refuses (INVALID_ARGUMENT), naming the
 * classes it would take, as kubevirt/csi-driver does for the same policy.
 */
export function snapshotClassFor(policy: StorageClassEnforcement, storageClassName: string | undefined, requested: string | undefined): string | undefined {
  const mapped = policy.snapshotMapping.filter((g) => storageClassName !== undefined && g.storageClasses.includes(storageClassName)).flatMap((g) => g.volumeSnapshotClasses);
  if (requested !== undefined && mapped.includes(requested)) return requested;
  if (policy.allowAll || policy.allowDefault) return requested;
  if (storageClassName === undefined) {
    throw invalidArgument('cannot snapshot a volume of the infra default StorageClass: INFRA_STORAGE_CLASS_ENFORCEMENT allows neither the default nor every class');
  }
  if (!policy.allowList.includes(storageClassName)) {
    throw invalidArgument(`cannot snapshot a volume of infra StorageClass ${storageClassName}: it is not in INFRA_STORAGE_CLASS_ENFORCEMENT allowList`);
  }
  if (mapped.length === 0) {
    throw invalidArgument(`no infra VolumeSnapshotClass is mapped to infra StorageClass ${storageClassName} in INFRA_STORAGE_CLASS_ENFORCEMENT storageSnapshotMapping`);
  }
  const choices = `infraSnapshotClassName must be one of ${mapped.join(', ')} (INFRA_STORAGE_CLASS_ENFORCEMENT storageSnapshotMapping)`;
  if (requested === undefined) throw invalidArgument(`the infra default VolumeSnapshotClass is not allowed for infra StorageClass ${storageClassName}: ${choices}`);
  throw invalidArgument(`infra VolumeSnapshotClass ${requested} does not go with infra StorageClass ${storageClassName}: ${choices}`);
}
