import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { snapshotCrdsOf, defaultSnapshotCrdsPath, EXTERNAL_SNAPSHOTTER_VERSION, readTenantObjects, SNAPSHOT_CRD_NAMES } from './snapshot-crds.js';

const crd = (name: string) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
const docs = (objects: object[]) => objects.map((o) => stringify(o)).join('---\n');

describe('csi/snapshot-crds', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'kvcloud-snapshot-crds-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('ships the CRDs of the external-snapshotter release e2e/tools/versions.env pins (its csi-snapshotter and snapshot-controller)', () => {
    const env = readFileSync(new URL('../e2e/tools/versions.env', import.meta.url), 'utf8');
    expect(/^EXTERNAL_SNAPSHOTTER_VERSION=(.*)$/m.exec(env)?.[1]).to.equal(EXTERNAL_SNAPSHOTTER_VERSION);
    expect(defaultSnapshotCrdsPath({ KVCLOUD_CACHE: '/cache' })).to.equal(`/cache/bin/csi-snapshotter-${EXTERNAL_SNAPSHOTTER_VERSION}/crds.yaml`);
  });

  it('applies the snapshot CRDs before the manifest, whose VolumeSnapshotClass needs them', async () => {
    const crds = join(dir, 'crds.yaml');
    const manifest = join(dir, 'tenant.yaml');
    await writeFile(crds, docs(SNAPSHOT_CRD_NAMES.map(crd)));
    await writeFile(manifest, docs([{ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshotClass', metadata: { name: 'kubevirt' }, driver: 'csi.kubevirt.io' }]));
    const objects = await readTenantObjects({ tenantManifests: manifest, tenantSnapshotCrds: true, snapshotCrds: crds });
    expect(objects?.map((o) => `${o.kind ?? ''} ${o.metadata.name ?? ''}`)).to.deep.equal([...SNAPSHOT_CRD_NAMES.map((n) => `CustomResourceDefinition ${n}`), 'VolumeSnapshotClass kubevirt']);
    expect((await readTenantObjects({ tenantManifests: manifest, tenantSnapshotCrds: false, snapshotCrds: crds }))?.map((o) => o.kind)).to.deep.equal(['VolumeSnapshotClass']);
    expect(await readTenantObjects({ tenantManifests: undefined, tenantSnapshotCrds: false, snapshotCrds: crds }), 'nothing to apply').to.equal(undefined);
  });

  it('stops start-up when the CRDs are missing, naming how to get them', async () => {
    const missing = join(dir, 'none.yaml');
    let err: unknown;
    await readTenantObjects({ tenantManifests: undefined, tenantSnapshotCrds: true, snapshotCrds: missing }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.match(/read the VolumeSnapshot CRDs \(run `make tools`, or pass --snapshot-crds\): .*none\.yaml/);
  });

  it('leaves the status the generated CRDs carry to the apiserver, so the live CRDs hold everything applied', () => {
    const generated = SNAPSHOT_CRD_NAMES.map((n) => ({ ...crd(n), spec: { group: 'snapshot.storage.k8s.io' }, status: { acceptedNames: { kind: '', plural: '' }, conditions: [], storedVersions: [] } }));
    expect(snapshotCrdsOf(generated, 'crds.yaml')).to.deep.equal(SNAPSHOT_CRD_NAMES.map((n) => ({ ...crd(n), spec: { group: 'snapshot.storage.k8s.io' } })));
  });

  const wrongSets = [
    { name: 'one CRD short', objects: SNAPSHOT_CRD_NAMES.slice(1).map(crd) },
    { name: 'a fourth object beside them', objects: [...SNAPSHOT_CRD_NAMES.map(crd), crd('volumegroupsnapshots.groupsnapshot.storage.k8s.io')] },
    { name: 'another kind under a CRD name', objects: [...SNAPSHOT_CRD_NAMES.slice(1).map(crd), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: SNAPSHOT_CRD_NAMES[0] } }] },
    { name: 'nothing', objects: [] },
  ];
  for (const tc of wrongSets) {
    it(`refuses a CRD file with ${tc.name}: it is applied with cluster-wide rights`, () => {
      expect(() => snapshotCrdsOf(tc.objects, 'crds.yaml')).to.throw(/^crds\.yaml: want the VolumeSnapshot CRDs/);
    });
  }
});
