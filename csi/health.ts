// csi.v1.VolumeHealth as both services report it: entries per adverse condition, at most one per (status, reason),
// as the spec asks, so two findings of one kind (two VMs failing a hot-plug, two paths without their disk) are one
// entry naming both.
import type { VolumeHealthEntry } from './csi-types.js';

export function oneEntryPerReason(entries: readonly VolumeHealthEntry[]): VolumeHealthEntry[] {
  const merged: VolumeHealthEntry[] = [];
  for (const e of entries) {
    const same = merged.find((o) => o.status === e.status && o.reason === e.reason);
    if (same) same.message = `${same.message}; ${e.message}`;
    else merged.push({ ...e });
  }
  return merged;
}
