// Moving a tenant to another DataStore of the same driver, as a sequence of phases recorded in
// status.storage.migration so that each is done once the one before is durably recorded, and a crash resumes
// where the status says:
//   BlockingWrites: the tenant apiserver refuses its users' writes (the write-permissions policy, all operations);
//   Copying:        the tenant's etcd user is set up on the target and its keys copied there;
//   Switching:      the Deployment points at the target (servers, client certificate) and rolls out;
//   Cleaning:       writes are allowed again, status.storage.dataStoreName names the target, and the tenant's
//                   keys and user are removed from the source;
//   Completed:      a record of the last migration.
// These functions decide, from the spec and the status only, which DataStore serves the tenant and which phase runs.
import type { StorageStatus } from '../api/index.js';

export const MIGRATION_PHASES = ['BlockingWrites', 'Copying', 'Switching', 'Cleaning', 'Completed'] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

export interface Migration {
  source: string;
  target: string;
  phase: MigrationPhase;
}

export interface StorageDecision {
  /** The DataStore the tenant apiserver must use in this pass. */
  serving: string | undefined;
  /** The migration to drive, when one is in progress (or starts now). */
  migration: Migration | undefined;
}

/**
 * @param specStore spec.dataStore (or the operator default when empty)
 * @param storage status.storage as last recorded
 */
export function decideStorage(specStore: string | undefined, storage: StorageStatus | undefined): StorageDecision {
  const m = storage?.migration;
  if (m && m.phase !== 'Completed') {
    // A migration runs to its end even if spec.dataStore changes again meanwhile; the next one starts after it.
    return { serving: servesTarget(m.phase) ? m.target : m.source, migration: m };
  }
  const current = storage?.dataStoreName;
  // Only a tenant already set up on its DataStore has data to move; before that, the new name simply applies.
  if (specStore && current && specStore !== current && storage.setup?.checksum) {
    return { serving: current, migration: { source: current, target: specStore, phase: 'BlockingWrites' } };
  }
  return { serving: specStore ?? current, migration: undefined };
}

function servesTarget(phase: MigrationPhase): boolean {
  return phase === 'Switching' || phase === 'Cleaning';
}

/** Whether the tenant's users must be refused writes: from the first phase until the Deployment serves the target. */
export function blocksWrites(m: Migration | undefined): boolean {
  return m !== undefined && (m.phase === 'BlockingWrites' || m.phase === 'Copying' || m.phase === 'Switching');
}

/** Every DataStore a tenant occupies: its current one, and while a migration runs both ends of it. */
export function dataStoresOccupied(specStore: string | undefined, storage: StorageStatus | undefined): string[] {
  const { serving, migration } = decideStorage(specStore, storage);
  const names = migration ? [migration.source, migration.target] : [serving];
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))].sort();
}
