// The data behind the simulated storage's snapshots, restores and clones: a snapshot is a copy of the volume's
// backing file taken when it becomes ReadyToUse (crash-consistent, as storage snapshots are), kept in the volumes
// directory under the VolumeSnapshotContent's name; a restored or cloned volume's backing file starts as a copy
// of its source before the volume is bound, so no VM can see it before the data is in.
import { execFile } from 'node:child_process';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBackingFile } from './loop-devices.js';

const run = promisify(execFile);

export const snapshotFileOf = (volumesDir: string, content: string): string => join(volumesDir, 'snapshots', `${content}.img`);

/**
 * `to` becomes a copy of `from`, grown to at least `sizeBytes`; a source never written (no file: its volume was
 * never attached) gives a blank file. Sparse stays sparse (and a reflink where the filesystem has them).
 */
export async function copyVolumeData(from: string, to: string, sizeBytes: number): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rm(to, { force: true });
  if (await stat(from).catch(() => undefined)) await run('cp', ['--sparse=always', '--reflink=auto', from, to]);
  await ensureBackingFile(to, sizeBytes);
}

/** Removes a snapshot's data, then the snapshots directory and the volumes directory once they are empty. */
export async function removeSnapshotData(file: string): Promise<void> {
  await rm(file, { force: true });
  const snapshots = dirname(file);
  await rmdir(snapshots).catch(() => undefined); // not empty, or already gone
  await rmdir(dirname(snapshots)).catch(() => undefined);
}
