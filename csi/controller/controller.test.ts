import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { rejection } from '../../lib/testing/rejection.js';
import type { CsiError } from '../status.js';
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

  it("answers a node ID naming another Cluster's VM in the shared namespace as a missing one, and never touches that VM", async () => {
    const { api, rpc } = fakeInfra(MAPPINGS, { infraNamespace: NS, infraLabels: LABELS, clusterName: 'acme', attachTimeoutMs: 200, pollIntervalMs: 20 });
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    // Their VM holds a disk of theirs hot-plugged under a name that is no DataVolume of ours, and one named like ours.
    const disks = ['their-disk', 'pvc-1'].map((name) => ({ name, persistentVolumeClaim: { claimName: `claim-${name}`, hotpluggable: true } }));
    const vm = (name: string, cluster?: string, volumes = disks): VirtualMachine => ({
      ...VIRTUAL_MACHINE_TYPE,
      metadata: { name, namespace: NS, ...(cluster ? { labels: { 'cluster.x-k8s.io/cluster-name': cluster } } : {}) },
      spec: { template: { spec: { domain: { devices: {} }, volumes } } },
    });
    api.seed(vm('theirs', 'globex'));
    api.seed(vm('unclaimed'));
    const running = disks.filter((d) => d.name === 'their-disk');
    api.seed<VirtualMachineInstance>({ ...VIRTUAL_MACHINE_INSTANCE_TYPE, metadata: { name: 'theirs', namespace: NS }, spec: { domain: { devices: {} }, volumes: running }, status: { volumeStatus: running.map((d) => ({ name: d.name, target: 'sda', phase: 'Ready' })) } });
    const before = api.writes().length;
    const missing = (await rejection(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/missing`, volume_capability: CAP }), 'publish to a missing VM')) as CsiError;
    for (const node of ['theirs', 'unclaimed']) {
      const refused = (await rejection(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/${node}`, volume_capability: CAP }), `publish to ${node}`)) as CsiError;
      expect([refused.code, refused.message.replace(node, 'missing')], node).to.deep.equal([status.NOT_FOUND, missing.message]);
      for (const volume of ['their-disk', 'pvc-1']) expect(await rpc('ControllerUnpublishVolume', { volume_id: volume, node_id: `${NS}/${node}` }), `unpublish ${volume}`).to.deep.equal({});
    }
    expect(api.writes().length - before, 'writes to the infra cluster').to.equal(0);

    // A VM of its own Cluster is published to: the hot-plug is asked for (the fake serves no subresources).
    api.seed(vm('ours', 'acme', []));
    await rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours`, volume_capability: CAP }).catch(() => undefined);
    expect(api.writes().slice(before).map((w) => `${w.method} ${w.path}`)).to.deep.equal([`PUT /apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/ours/addvolume`]);
    // Our volume in their VM (their controller may hot-plug any DataVolume of the namespace): refused, without their VM's name.
    api.seed<VirtualMachineInstance>({ ...VIRTUAL_MACHINE_INSTANCE_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'globex' } }, spec: { domain: { devices: {} }, volumes: disks }, status: { volumeStatus: [] } });
    const attached = (await rejection(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours`, volume_capability: CAP }), 'publish of a volume in their VM')) as CsiError;
    expect([attached.code, attached.message]).to.deep.equal([status.FAILED_PRECONDITION, 'volume pvc-1 is attached to a VM of another cluster; a single-node volume must be unpublished there first']);
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
