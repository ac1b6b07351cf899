// Which infra StorageClasses tenants may name in `infraStorageClassName`: kubevirt/csi-driver's
// INFRA_STORAGE_CLASS_ENFORCEMENT (YAML: allowAll, allowDefault, allowList, storageSnapshotMapping), read the same
// way so an existing deployment keeps its policy. Unset, every class and the infra default are allowed, as upstream.
import { parse } from 'yaml';
import { invalidArgument } from '../status.js';

export interface StorageClassEnforcement {
  allowAll: boolean;
  allowDefault: boolean;
  allowList: string[];
}

const KEYS = new Set(['allowAll', 'allowDefault', 'allowList', 'storageSnapshotMapping']);

export function parseStorageClassEnforcement(text: string | undefined): StorageClassEnforcement {
  if (text === undefined || text.trim() === '') return { allowAll: true, allowDefault: true, allowList: [] };
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
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error('INFRA_STORAGE_CLASS_ENFORCEMENT: allowList is not a list of StorageClass names');
  return { allowAll: flag('allowAll'), allowDefault: flag('allowDefault'), allowList: list };
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
