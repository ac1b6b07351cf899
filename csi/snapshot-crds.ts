// The VolumeSnapshot CRDs a tenant needs before it can take a snapshot, shipped with the driver (the client/v8 module
// of external-snapshotter at the release its csi-snapshotter and snapshot-controller are, put beside the program as
// csi.proto is) and applied into the tenant by the controller with --tenant-snapshot-crds, ahead of --tenant-manifests,
// whose VolumeSnapshotClass needs them. Fetched from upstream at build time, never retyped or copied into the repo.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../lib/kube/object.js';
import { readTenantManifests } from './tenant-objects.js';

/** external-snapshotter's release: its client/v8 CRDs, csi-snapshotter and snapshot-controller all come from it. */
export const EXTERNAL_SNAPSHOTTER_VERSION = 'v8.7.0';

/** The three kinds snapshot-controller waits for at start, by CRD name. */
export const SNAPSHOT_CRD_NAMES: readonly string[] = ['volumesnapshotclasses.snapshot.storage.k8s.io', 'volumesnapshotcontents.snapshot.storage.k8s.io', 'volumesnapshots.snapshot.storage.k8s.io'];

/** Where `make tools` leaves the CRDs for this release (KVCLOUD_CACHE, else ~/.cache/kvcloud), as an image ships them. */
export function defaultSnapshotCrdsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'), 'bin', `csi-snapshotter-${EXTERNAL_SNAPSHOTTER_VERSION}`, 'crds.yaml');
}

/**
 * The CRDs to apply: exactly the three snapshot CRDs, anything else refused (the file is applied with cluster-wide
 * rights), without the empty status the generated files carry, which the apiserver owns and fills in (kept, it would
 * never match the live CRDs, and they would be applied again on every look).
 */
export function snapshotCrdsOf(objects: readonly KubeObject[], source: string): KubeObject[] {
  const names = objects.map((o) => `${o.kind ?? ''} ${o.metadata.name ?? ''}`).sort();
  const want = SNAPSHOT_CRD_NAMES.map((n) => `CustomResourceDefinition ${n}`);
  if (names.length !== want.length || names.some((n, i) => n !== want[i])) throw new Error(`${source}: want the VolumeSnapshot CRDs (${SNAPSHOT_CRD_NAMES.join(', ')}), found ${names.join(', ') || 'nothing'}`);
  return objects.map((o) => {
    const { status: _status, ...crd } = o as KubeObject & { status?: unknown };
    return crd;
  });
}

export interface TenantObjectFlags {
  tenantManifests: string | undefined;
  tenantSnapshotCrds: boolean;
  snapshotCrds: string;
}

/**
 * Everything the controller applies into the tenant, in order: the snapshot CRDs first, then the manifest's objects;
 * undefined when it applies nothing. Read before serving, so a bad or missing file stops start-up.
 */
export async function readTenantObjects(flags: TenantObjectFlags): Promise<KubeObject[] | undefined> {
  if (!flags.tenantSnapshotCrds && !flags.tenantManifests) return undefined;
  const crds = flags.tenantSnapshotCrds ? snapshotCrdsOf(await readSnapshotCrds(flags.snapshotCrds), flags.snapshotCrds) : [];
  return [...crds, ...(flags.tenantManifests ? await readTenantManifests(flags.tenantManifests) : [])];
}

async function readSnapshotCrds(path: string): Promise<KubeObject[]> {
  try {
    return await readTenantManifests(path);
  } catch (err) {
    throw new Error(`read the VolumeSnapshot CRDs (run \`make tools\`, or pass --snapshot-crds): ${(err as Error).message}`, { cause: err });
  }
}
