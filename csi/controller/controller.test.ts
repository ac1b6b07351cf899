import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { CAP, codeOf, DATA_VOLUME_RESOURCE, fakeInfra, LABELS, NS, type FakeInfra } from './fake-infra.testdata.js';
import { parseStorageClassEnforcement } from './storage-class-enforcement.js';

const MAPPINGS = [
  DATA_VOLUME_RESOURCE,
  { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', resource: 'virtualmachines', namespaced: true },
  { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', resource: 'virtualmachineinstances', namespaced: true },
  { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', resource: 'volumesnapshots', namespaced: true },
];

function setup(enforcement?: string): FakeInfra {
  return fakeInfra(MAPPINGS, { infraNamespace: NS, infraLabels: LABELS, storageClassEnforcement: parseStorageClassEnforcement(enforcement), attachTimeoutMs: 200, pollIntervalMs: 20 });
}


describe('csi/controller', () => {
  it('creates one DataVolume per name, answers a repeat with the same volume, and a different size with ALREADY_EXISTS', async () => {
    const { api, rpc } = setup();
    const req = { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 }, parameters: { infraStorageClassName: 'fast' } };
    const first = await rpc('CreateVolume', req);
    const again = await rpc('CreateVolume', req);
    expect(again).to.deep.equal(first);
    const dv = api.peek('cdi.kubevirt.io/v1beta1', 'DataVolume', `${NS}/pvc-1`) as DataVolume | undefined;
    expect(first).to.deep.equal({ volume: { volume_id: 'pvc-1', capacity_bytes: 1000, volume_context: { bus: 'scsi', serial: dv?.metadata.uid } } });
    expect(dv?.metadata.labels).to.deep.equal(LABELS);
    expect(dv?.spec?.storage?.storageClassName).to.equal('fast');
    expect(await codeOf(rpc('CreateVolume', { ...req, capacity_range: { required_bytes: 2000 } }))).to.equal(status.ALREADY_EXISTS);
    expect(api.writes()).to.have.length(1);
  });

  it('refuses bad CreateVolume input with the spec codes', async () => {
    const { rpc } = setup();
    expect(await codeOf(rpc('CreateVolume', { volume_capabilities: [CAP] }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateVolume', { name: 'x' }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateVolume', { name: 'x', volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateVolume', { name: 'x', volume_capabilities: [CAP], capacity_range: { required_bytes: 5, limit_bytes: 4 } }))).to.equal(status.OUT_OF_RANGE);
    expect(await codeOf(rpc('CreateVolume', { name: 'x', volume_capabilities: [CAP], volume_content_source: { snapshot: { snapshot_id: 's' } } }))).to.equal(status.NOT_FOUND);
  });

  it("never touches another tenant's DataVolume: create conflicts, delete leaves it, validate and publish find nothing", async () => {
    const { api, rpc } = setup();
    const infra = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'other' });
    const mapper = infra.mapper;
    for (const m of MAPPINGS) mapper.register(m);
    await infra.create<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { blank: {} } } });
    expect(await codeOf(rpc('CreateVolume', { name: 'theirs', volume_capabilities: [CAP] }))).to.equal(status.ALREADY_EXISTS);
    expect(await rpc('DeleteVolume', { volume_id: 'theirs' })).to.deep.equal({});
    expect(api.peek('cdi.kubevirt.io/v1beta1', 'DataVolume', `${NS}/theirs`)).to.not.equal(undefined);
    expect(await codeOf(rpc('ValidateVolumeCapabilities', { volume_id: 'theirs', volume_capabilities: [CAP] }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('ControllerPublishVolume', { volume_id: 'theirs', node_id: `${NS}/vm`, volume_capability: CAP }))).to.equal(status.NOT_FOUND);
    expect((await rpc('ListVolumes', {})).entries).to.deep.equal([]);
  });

  it('publishes only to a VM of its own namespace: a node ID naming another namespace or no VM is NOT_FOUND', async () => {
    const { rpc } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    expect(await codeOf(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: 'other-ns/vm', volume_capability: CAP }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/missing`, volume_capability: CAP }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/vm` }))).to.equal(status.INVALID_ARGUMENT);
    // A VM that is gone holds nothing: unpublishing from it succeeds.
    expect(await rpc('ControllerUnpublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/missing` })).to.deep.equal({});
  });

  it('confirms supported capabilities and explains the others without confirming', async () => {
    const { rpc } = setup();
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    expect(await rpc('ValidateVolumeCapabilities', { volume_id: 'pvc-1', volume_capabilities: [CAP] })).to.deep.equal({ confirmed: { volume_context: {}, volume_capabilities: [CAP], parameters: {} } });
    const block = await rpc('ValidateVolumeCapabilities', { volume_id: 'pvc-1', volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] });
    expect(block).to.deep.equal({ message: 'volume pvc-1 is a Filesystem volume, not a block device' });
    expect(await codeOf(rpc('ValidateVolumeCapabilities', { volume_id: 'pvc-1' }))).to.equal(status.INVALID_ARGUMENT);
  });

  it('lists the tenant volumes in pages whose token survives the deletion of the last volume listed', async () => {
    const { rpc } = setup();
    for (const name of ['pvc-a', 'pvc-b', 'pvc-c']) await rpc('CreateVolume', { name, volume_capabilities: [CAP] });
    const page1 = (await rpc('ListVolumes', { max_entries: 2 })) as { entries: { volume: { volume_id: string } }[]; next_token: string };
    expect(page1.entries.map((e) => e.volume.volume_id)).to.deep.equal(['pvc-a', 'pvc-b']);
    await rpc('DeleteVolume', { volume_id: 'pvc-b' });
    const page2 = (await rpc('ListVolumes', { starting_token: page1.next_token })) as { entries: { volume: { volume_id: string } }[]; next_token?: string };
    expect(page2.entries.map((e) => e.volume.volume_id)).to.deep.equal(['pvc-c']);
    expect(page2.next_token).to.equal(undefined);
    expect(await codeOf(rpc('ListVolumes', { starting_token: 'invalid-token' }))).to.equal(status.ABORTED);
  });

  it('creates nothing for an infra StorageClass INFRA_STORAGE_CLASS_ENFORCEMENT does not allow', async () => {
    const { api, rpc } = setup('allowList: [fast]');
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], parameters: { infraStorageClassName: 'slow' } }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] }))).to.equal(status.INVALID_ARGUMENT);
    expect(api.writes()).to.deep.equal([]);
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], parameters: { infraStorageClassName: 'fast' } });
    expect(api.writes()).to.have.length(1);
  });
});
