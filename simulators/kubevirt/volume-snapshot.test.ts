import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot, type VolumeSnapshotClass } from '../../lib/apis/snapshot.js';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { PROVISIONER } from './persistent-volume.js';
import { copyVolumeData, removeSnapshotData } from './snapshot-data.js';
import { populationSourceOf } from './volume-population.js';
import { buildContent, contentNameFor, simulatorSnapshotClass, snapshotClassFor } from './volume-snapshot.js';
import type { PersistentVolume } from './storage-api.js';

const snapshot = (className?: string): VolumeSnapshot => ({
  ...VOLUME_SNAPSHOT_TYPE,
  metadata: { name: 'snap', namespace: 'acme', uid: 'u-1' },
  spec: { source: { persistentVolumeClaimName: 'pvc-1' }, ...(className ? { volumeSnapshotClassName: className } : {}) },
});
const otherDefault: VolumeSnapshotClass = { ...simulatorSnapshotClass(), metadata: { name: 'second', annotations: simulatorSnapshotClass().metadata.annotations } };

describe('simulators/kubevirt volume snapshots', () => {
  const classes = [
    { name: 'the named class', vs: snapshot('kubevirt-simulator-snapshots'), classes: [simulatorSnapshotClass()], want: 'kubevirt-simulator-snapshots' },
    { name: 'the default class of the driver', vs: snapshot(), classes: [simulatorSnapshotClass()], want: 'kubevirt-simulator-snapshots' },
    { name: 'an error for a named class that is missing', vs: snapshot('gone'), classes: [simulatorSnapshotClass()], want: /"gone" not found/ },
    { name: 'an error without a default class', vs: snapshot(), classes: [], want: /cannot find default snapshot class/ },
    { name: 'an error with two default classes', vs: snapshot(), classes: [simulatorSnapshotClass(), otherDefault], want: /2 default snapshot classes/ },
  ];
  for (const tc of classes) {
    it(`gives a snapshot ${tc.name}, as snapshot-controller does`, () => {
      const got = snapshotClassFor(tc.vs, tc.classes);
      if (typeof tc.want === 'string') expect('class' in got && got.class.metadata.name).to.equal(tc.want);
      else expect('error' in got && got.error).to.match(tc.want);
    });
  }

  it('binds a content named after the snapshot UID to it, recording the source volume mode for the restore guard', () => {
    const pv = { metadata: { name: 'pvc-abc' }, spec: { volumeMode: 'Block' } } as PersistentVolume;
    const content = buildContent(snapshot(), simulatorSnapshotClass(), pv);
    expect(content.metadata.name).to.equal(contentNameFor(snapshot())).and.equal('snapcontent-u-1');
    expect(content.spec).to.deep.equal({
      volumeSnapshotRef: { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', namespace: 'acme', name: 'snap', uid: 'u-1' },
      source: { volumeHandle: 'pvc-abc' },
      driver: PROVISIONER,
      deletionPolicy: 'Delete',
      volumeSnapshotClassName: 'kubevirt-simulator-snapshots',
      sourceVolumeMode: 'Block',
    });
  });

  const sources: { name: string; spec: DataVolume['spec']; want: ReturnType<typeof populationSourceOf> }[] = [
    { name: 'a snapshot source', spec: { source: { snapshot: { namespace: 'acme', name: 'snap' } } }, want: { kind: 'snapshot', namespace: 'acme', name: 'snap' } },
    { name: 'a claim source', spec: { source: { pvc: { namespace: 'other', name: 'disk' } } }, want: { kind: 'claim', namespace: 'other', name: 'disk' } },
    { name: "a claim's dataSourceRef", spec: { storage: { dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'pvc-1' } } }, want: { kind: 'claim', namespace: 'acme', name: 'pvc-1' } },
    { name: 'a blank source', spec: { source: { blank: {} } }, want: undefined },
  ];
  for (const tc of sources) it(`populates a DataVolume from ${tc.name}`, () => expect(populationSourceOf({ ...DATA_VOLUME_TYPE, metadata: { name: 'dv', namespace: 'acme' }, spec: tc.spec })).to.deep.equal(tc.want));

  it('copies a volume\'s data into a new backing file of at least the new size, and a never-written source as blank', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvcloud-snapshot-data-'));
    try {
      await writeFile(join(dir, 'source.img'), 'kvcloud-data');
      await copyVolumeData(join(dir, 'source.img'), join(dir, 'snapshots', 'copy.img'), 4096);
      expect((await readFile(join(dir, 'snapshots', 'copy.img'))).subarray(0, 12).toString()).to.equal('kvcloud-data');
      expect((await stat(join(dir, 'snapshots', 'copy.img'))).size).to.equal(4096);
      await copyVolumeData(join(dir, 'never-attached.img'), join(dir, 'blank.img'), 8192);
      const blank = await readFile(join(dir, 'blank.img'));
      expect([blank.length, blank.every((b) => b === 0)]).to.deep.equal([8192, true]);
      // The last snapshot's data gone, its directory goes too (the volumes directory once it is empty as well).
      await removeSnapshotData(join(dir, 'snapshots', 'copy.img'));
      expect(await readdir(dir)).to.deep.equal(['blank.img', 'source.img']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
