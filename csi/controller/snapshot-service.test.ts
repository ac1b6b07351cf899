import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { DataVolume } from '../../lib/apis/cdi.js';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../lib/apis/snapshot.js';
import { Client } from '../../lib/kube/client.js';
import { rejection } from '../../lib/testing/rejection.js';
import type { CsiError } from '../status.js';
import { BLOCK, CAP, codeOf, DATA_VOLUME_RESOURCE, fakeInfra, LABELS, NS } from './fake-infra.testdata.js';
import { parseStorageClassEnforcement } from './storage-class-enforcement.js';

const MAPPINGS = [
  DATA_VOLUME_RESOURCE,
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, statusSubresource: true },
  { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', resource: 'volumesnapshots', namespaced: true, statusSubresource: true },
];

/** The controller against a fake infra apiserver; `infra` plays the infra storage (and other tenants). */
function setup(errorGraceMs = 0, enforcement?: string) {
  const { api, mapper, rpc } = fakeInfra(MAPPINGS, {
    infraNamespace: NS,
    infraLabels: LABELS,
    pollIntervalMs: 10,
    snapshotReadyWaitMs: 50,
    snapshotErrorGraceMs: errorGraceMs,
    ...(enforcement ? { storageClassEnforcement: parseStorageClassEnforcement(enforcement) } : {}),
  });
  const infra = new Client({ transport: api, mapper, fieldManager: 'infra' });
  /** What the infra storage does once the data is copied. */
  const makeReady = (name: string, restoreSize: string) =>
    infra.mergePatch(VOLUME_SNAPSHOT_TYPE, { namespace: NS, name }, { status: { readyToUse: true, restoreSize, boundVolumeSnapshotContentName: `snapcontent-${name}`, creationTime: '2026-12-07T07:00:00Z' } }, { subresource: 'status' });
  const peekSnapshot = (name: string) => api.peek('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', `${NS}/${name}`) as VolumeSnapshot | undefined;
  const peekVolume = (name: string) => api.peek('cdi.kubevirt.io/v1beta1', 'DataVolume', `${NS}/${name}`) as DataVolume | undefined;
  return { api, infra, rpc, makeReady, peekSnapshot, peekVolume };
}


describe('csi/controller snapshots, restores and clones', () => {
  it('advertises snapshots, snapshot listing and clones', async () => {
    const { rpc } = setup();
    const caps = ((await rpc('ControllerGetCapabilities', {})).capabilities as { rpc: { type: string } }[]).map((c) => c.rpc.type);
    expect(caps).to.include.members(['CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME']);
  });

  it("snapshots a volume as an infra VolumeSnapshot of its claim, with the tenant labels and the infra class, once per name", async () => {
    const { api, rpc, makeReady, peekSnapshot } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 64 << 20 } });
    const req = { name: 'snapshot-1', source_volume_id: 'pvc-1', parameters: { infraSnapshotClassName: 'fast-snaps' } };
    const pending = (await rpc('CreateSnapshot', req)).snapshot as Record<string, unknown>;
    // Not ready within the wait: reported as such, with the source's size a restore needs.
    expect(pending).to.deep.include({ snapshot_id: 'snapshot-1', source_volume_id: 'pvc-1', ready_to_use: false, size_bytes: 64 << 20 });
    const vs = peekSnapshot('snapshot-1');
    expect(vs?.metadata.labels).to.deep.equal(LABELS);
    expect(vs?.spec).to.deep.equal({ source: { persistentVolumeClaimName: 'pvc-1' }, volumeSnapshotClassName: 'fast-snaps' });
    await makeReady('snapshot-1', '64Mi');
    const ready = (await rpc('CreateSnapshot', req)).snapshot as Record<string, unknown>;
    expect(ready).to.deep.equal({ snapshot_id: 'snapshot-1', source_volume_id: 'pvc-1', ready_to_use: true, size_bytes: 64 << 20, creation_time: { seconds: Date.parse('2026-12-07T07:00:00Z') / 1000, nanos: 0 } });
    expect(api.writes().filter((w) => w.method === 'POST' && w.path.includes('volumesnapshots'))).to.have.length(1);
  });

  it('answers CreateSnapshot input and conflicts with the spec codes', async () => {
    const { infra, rpc } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    await rpc('CreateVolume', { name: 'pvc-2', volume_capabilities: [CAP] });
    expect(await codeOf(rpc('CreateSnapshot', { source_volume_id: 'pvc-1' }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateSnapshot', { name: 's' }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateSnapshot', { name: 's', source_volume_id: 'missing' }))).to.equal(status.NOT_FOUND);
    await rpc('CreateSnapshot', { name: 's', source_volume_id: 'pvc-1' });
    expect(await codeOf(rpc('CreateSnapshot', { name: 's', source_volume_id: 'pvc-2' }))).to.equal(status.ALREADY_EXISTS);
    // A name another tenant holds in the same infra namespace is never taken over.
    await infra.create<VolumeSnapshot>({ ...VOLUME_SNAPSHOT_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { persistentVolumeClaimName: 'pvc-1' } } });
    expect(await codeOf(rpc('CreateSnapshot', { name: 'theirs', source_volume_id: 'pvc-1' }))).to.equal(status.ALREADY_EXISTS);
    // An infra snapshot that failed says why.
    await infra.mergePatch(VOLUME_SNAPSHOT_TYPE, { namespace: NS, name: 's' }, { status: { readyToUse: false, error: { message: 'cannot find default snapshot class' } } }, { subresource: 'status' });
    const err = (await rejection(rpc('CreateSnapshot', { name: 's', source_volume_id: 'pvc-1' }), 'CreateSnapshot')) as CsiError;
    expect([err.code, err.message]).to.deep.equal([status.FAILED_PRECONDITION, `infra VolumeSnapshot ${NS}/s: cannot find default snapshot class`]);
  });

  it('answers an error of a young infra snapshot as not ready yet, since snapshot-controller retries it', async () => {
    const { infra, rpc } = setup(60_000);
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    await rpc('CreateSnapshot', { name: 's', source_volume_id: 'pvc-1' });
    const passing = 'failed to get input parameters to create snapshot s: persistentvolumeclaims "pvc-1" not found';
    await infra.mergePatch(VOLUME_SNAPSHOT_TYPE, { namespace: NS, name: 's' }, { status: { readyToUse: false, error: { message: passing } } }, { subresource: 'status' });
    const answer = (await rpc('CreateSnapshot', { name: 's', source_volume_id: 'pvc-1' })).snapshot as Record<string, unknown>;
    expect(answer).to.deep.include({ snapshot_id: 's', ready_to_use: false });
  });

  it("snapshots a new volume's claim only once CDI has created it, waiting at most the ready wait", async () => {
    const { api, infra, rpc, peekSnapshot } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-1', namespace: NS }, spec: {} };
    // CDI creates the claim 30 ms after the DataVolume: the snapshot is created after it.
    setTimeout(() => void infra.create(claim), 30);
    await rpc('CreateSnapshot', { name: 'after-claim', source_volume_id: 'pvc-1' });
    const order = api.writes().filter((w) => w.method === 'POST').map((w) => w.path.split('/').slice(-1)[0]);
    expect(order).to.deep.equal(['datavolumes', 'persistentvolumeclaims', 'volumesnapshots']);
    // A claim that never comes: the snapshot is created after the wait anyway, and snapshot-controller reports it.
    await rpc('CreateVolume', { name: 'pvc-2', volume_capabilities: [CAP] });
    await rpc('CreateSnapshot', { name: 'no-claim', source_volume_id: 'pvc-2' });
    expect(peekSnapshot('no-claim')?.spec).to.deep.equal({ source: { persistentVolumeClaimName: 'pvc-2' } });
  });

  it("picks the infra snapshot class by the claim's StorageClass under a restricted storageSnapshotMapping, and creates nothing it refuses", async () => {
    const policy = 'allowList: [gold]\nstorageSnapshotMapping:\n- {storageClasses: [gold], volumeSnapshotClasses: [gold-snap]}\n';
    const { infra, rpc, peekSnapshot } = setup(0, policy);
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], parameters: { infraStorageClassName: 'gold' } });
    // What CDI does for the DataVolume: its claim, of the DataVolume's StorageClass.
    await infra.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-1', namespace: NS }, spec: { storageClassName: 'gold' } });
    await rpc('CreateSnapshot', { name: 'mapped', source_volume_id: 'pvc-1', parameters: { infraSnapshotClassName: 'gold-snap' } });
    expect(peekSnapshot('mapped')?.spec.volumeSnapshotClassName).to.equal('gold-snap');
    const refused = (await rejection(rpc('CreateSnapshot', { name: 'unmapped', source_volume_id: 'pvc-1', parameters: { infraSnapshotClassName: 'cheap-snap' } }), 'CreateSnapshot')) as CsiError;
    expect([refused.code, refused.message]).to.deep.equal([
      status.INVALID_ARGUMENT,
      'infra VolumeSnapshotClass cheap-snap does not go with infra StorageClass gold: infraSnapshotClassName must be one of gold-snap (INFRA_STORAGE_CLASS_ENFORCEMENT storageSnapshotMapping)',
    ]);
    expect(peekSnapshot('unmapped')).to.equal(undefined);
    // Without its claim the class cannot be decided: ABORTED, for the sidecar to retry, and nothing created.
    await rpc('CreateVolume', { name: 'pvc-2', volume_capabilities: [CAP], parameters: { infraStorageClassName: 'gold' } });
    expect(await codeOf(rpc('CreateSnapshot', { name: 'early', source_volume_id: 'pvc-2', parameters: { infraSnapshotClassName: 'gold-snap' } }))).to.equal(status.ABORTED);
    expect(peekSnapshot('early')).to.equal(undefined);
  });

  it('without INFRA_STORAGE_CLASS_ENFORCEMENT, volumes and their snapshots take any infra class, a snapshot even before its claim exists', async () => {
    const { rpc, peekSnapshot, peekVolume } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], parameters: { infraStorageClassName: 'any-class' } });
    expect(peekVolume('pvc-1')?.spec?.storage?.storageClassName).to.equal('any-class');
    await rpc('CreateSnapshot', { name: 'any', source_volume_id: 'pvc-1', parameters: { infraSnapshotClassName: 'any-snap' } });
    expect(peekSnapshot('any')?.spec.volumeSnapshotClassName).to.equal('any-snap');
  });

  it("never lists, deletes or restores another tenant's snapshot, even by its exact ID", async () => {
    const { infra, rpc, peekSnapshot } = setup();
    await infra.create<VolumeSnapshot>({ ...VOLUME_SNAPSHOT_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { persistentVolumeClaimName: 'their-pvc' } } });
    expect(await rpc('ListSnapshots', {})).to.deep.equal({ entries: [] });
    expect(await rpc('ListSnapshots', { snapshot_id: 'theirs' })).to.deep.equal({ entries: [] });
    expect(await rpc('DeleteSnapshot', { snapshot_id: 'theirs' })).to.deep.equal({});
    expect(peekSnapshot('theirs')).to.not.equal(undefined);
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-r', volume_capabilities: [CAP], volume_content_source: { snapshot: { snapshot_id: 'theirs' } } }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('DeleteSnapshot', {}))).to.equal(status.INVALID_ARGUMENT);
    // An ID with a namespace or a path in it names no snapshot at all.
    for (const id of [`${NS}/theirs`, '../theirs', '..']) {
      expect(await rpc('ListSnapshots', { snapshot_id: id }), id).to.deep.equal({ entries: [] });
      expect(await codeOf(rpc('CreateVolume', { name: 'pvc-r', volume_capabilities: [CAP], volume_content_source: { snapshot: { snapshot_id: id } } })), id).to.equal(status.NOT_FOUND);
    }
  });

  it('lists snapshots by ID, by source volume and in pages, and deletes them idempotently', async () => {
    const { rpc, peekSnapshot } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    await rpc('CreateVolume', { name: 'pvc-2', volume_capabilities: [CAP] });
    for (const [name, source] of [['s-a', 'pvc-1'], ['s-b', 'pvc-2'], ['s-c', 'pvc-1']]) await rpc('CreateSnapshot', { name, source_volume_id: source });
    const ids = (r: Record<string, unknown>) => (r.entries as { snapshot: { snapshot_id: string } }[]).map((e) => e.snapshot.snapshot_id);
    expect(ids(await rpc('ListSnapshots', { snapshot_id: 's-b' }))).to.deep.equal(['s-b']);
    expect(ids(await rpc('ListSnapshots', { snapshot_id: 'missing' }))).to.deep.equal([]);
    expect(ids(await rpc('ListSnapshots', { source_volume_id: 'pvc-1' }))).to.deep.equal(['s-a', 's-c']);
    const page1 = await rpc('ListSnapshots', { max_entries: 2 });
    expect(ids(page1)).to.deep.equal(['s-a', 's-b']);
    expect(ids(await rpc('ListSnapshots', { starting_token: page1.next_token }))).to.deep.equal(['s-c']);
    expect(await codeOf(rpc('ListSnapshots', { starting_token: 'not-ours' }))).to.equal(status.ABORTED);
    expect(await codeOf(rpc('ListSnapshots', { max_entries: -1 }))).to.equal(status.INVALID_ARGUMENT);
    expect(await rpc('DeleteSnapshot', { snapshot_id: 's-a' })).to.deep.equal({});
    expect(await rpc('DeleteSnapshot', { snapshot_id: 's-a' })).to.deep.equal({});
    expect(peekSnapshot('s-a')).to.equal(undefined);
  });

  it('gets one snapshot by ID, ready or not, and NOT_FOUND for a missing, foreign, malformed or departing ID', async () => {
    const { api, infra, rpc, makeReady } = setup();
    const caps = ((await rpc('ControllerGetCapabilities', {})).capabilities as { rpc: { type: string } }[]).map((c) => c.rpc.type);
    expect(caps).to.include('GET_SNAPSHOT');
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 64 << 20 } });
    await rpc('CreateSnapshot', { name: 'snap', source_volume_id: 'pvc-1' });
    // Not ready yet: retrievable, with the source's size a restore needs.
    expect((await rpc('GetSnapshot', { snapshot_id: 'snap' })).snapshot).to.deep.include({ snapshot_id: 'snap', source_volume_id: 'pvc-1', ready_to_use: false, size_bytes: 64 << 20 });
    await makeReady('snap', '32Mi');
    const writes = api.writes().length;
    expect((await rpc('GetSnapshot', { snapshot_id: 'snap' })).snapshot).to.deep.equal({ snapshot_id: 'snap', source_volume_id: 'pvc-1', ready_to_use: true, size_bytes: 32 << 20, creation_time: { seconds: Date.parse('2026-12-07T07:00:00Z') / 1000, nanos: 0 } });
    expect(api.writes(), 'a read writes nothing').to.have.length(writes);

    await infra.create<VolumeSnapshot>({ ...VOLUME_SNAPSHOT_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { persistentVolumeClaimName: 'their-pvc' } } });
    await infra.create<VolumeSnapshot>({ ...VOLUME_SNAPSHOT_TYPE, metadata: { name: 'leaving', namespace: NS, labels: LABELS, finalizers: ['infra-storage'] }, spec: { source: { persistentVolumeClaimName: 'pvc-1' } } });
    await infra.delete(VOLUME_SNAPSHOT_TYPE, { namespace: NS, name: 'leaving' });
    for (const id of ['missing', 'theirs', `${NS}/snap`, '../snap', 'leaving']) expect(await codeOf(rpc('GetSnapshot', { snapshot_id: id })), id).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('GetSnapshot', {}))).to.equal(status.INVALID_ARGUMENT);
  });

  it('restores a snapshot into a DataVolume with the snapshot source, of at least the snapshot size, in any volume mode', async () => {
    const { rpc, makeReady, peekVolume } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 64 << 20 } });
    await rpc('CreateSnapshot', { name: 'snap', source_volume_id: 'pvc-1' });
    await makeReady('snap', '64Mi');
    const source = { snapshot: { snapshot_id: 'snap' } };
    const restored = await rpc('CreateVolume', { name: 'pvc-r', volume_capabilities: [BLOCK], volume_content_source: source });
    expect(restored.volume).to.deep.include({ volume_id: 'pvc-r', capacity_bytes: 64 << 20, content_source: source });
    const dv = peekVolume('pvc-r');
    expect(dv?.spec?.source).to.deep.equal({ snapshot: { namespace: NS, name: 'snap' } });
    expect(dv?.spec?.storage?.volumeMode).to.equal('Block');
    expect(await rpc('CreateVolume', { name: 'pvc-r', volume_capabilities: [BLOCK], volume_content_source: source })).to.deep.equal(restored);
    // The same name from another origin, or smaller than the snapshot, is refused.
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-r', volume_capabilities: [BLOCK], capacity_range: { required_bytes: 64 << 20 } }))).to.equal(status.ALREADY_EXISTS);
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-small', volume_capabilities: [CAP], capacity_range: { required_bytes: 1 << 20 }, volume_content_source: source }))).to.equal(status.OUT_OF_RANGE);
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-x', volume_capabilities: [CAP], volume_content_source: { snapshot: { snapshot_id: 'missing' } } }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-x', volume_capabilities: [CAP], volume_content_source: { snapshot: {} } }))).to.equal(status.INVALID_ARGUMENT);
  });

  it("clones a volume as a DataVolume whose claim names the source's claim as dataSourceRef, as kubevirt/csi-driver does", async () => {
    const { rpc, peekVolume } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 64 << 20 } });
    const source = { volume: { volume_id: 'pvc-1' } };
    const clone = await rpc('CreateVolume', { name: 'pvc-c', volume_capabilities: [CAP], capacity_range: { required_bytes: 128 << 20 }, volume_content_source: source });
    expect(clone.volume).to.deep.include({ volume_id: 'pvc-c', capacity_bytes: 128 << 20, content_source: source });
    const dv = peekVolume('pvc-c');
    expect(dv?.spec?.source).to.equal(undefined);
    expect(dv?.spec?.storage?.dataSourceRef).to.deep.equal({ kind: 'PersistentVolumeClaim', name: 'pvc-1' });
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-x', volume_capabilities: [CAP], volume_content_source: { volume: { volume_id: 'missing' } } }))).to.equal(status.NOT_FOUND);
  });
});
