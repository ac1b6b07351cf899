import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance, type Volume as KubevirtVolume } from '../../lib/apis/kubevirt.js';
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
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, statusSubresource: true },
  { apiVersion: 'v1', kind: 'ResourceQuota', resource: 'resourcequotas', namespaced: true, statusSubresource: true },
  { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', resource: 'storageclasses', namespaced: false },
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
  });

  it("is not blocked by another Cluster's volume named like ours, and names no foreign VM when ours really is in it", async () => {
    const { api, rpc } = fakeInfra(MAPPINGS, { infraNamespace: NS, infraLabels: LABELS, clusterName: 'acme', attachTimeoutMs: 200, pollIntervalMs: 20 });
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    const vm = (name: string, cluster: string, volumes: KubevirtVolume[] = []): VirtualMachine => ({ ...VIRTUAL_MACHINE_TYPE, metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster } }, spec: { template: { spec: { domain: { devices: {} }, volumes } } } });
    const vmi = (name: string, cluster: string, volumes: KubevirtVolume[]): VirtualMachineInstance => ({
      ...VIRTUAL_MACHINE_INSTANCE_TYPE,
      metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
      spec: { domain: { devices: {} }, volumes },
      status: { volumeStatus: volumes.map((v) => ({ name: v.name, target: 'sda', phase: 'Ready' })) },
    });
    const addvolume = `PUT /apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/ours/addvolume`;
    const writesSince = (n: number) => api.writes().slice(n).map((w) => `${w.method} ${w.path}`);
    api.seed(vm('ours', 'acme'));
    // Their VM holds a disk of theirs under our volume's name: neither publish nor delete waits on it.
    const namesake = { name: 'pvc-1', dataVolume: { name: 'their-dv', hotpluggable: true } };
    api.seed(vm('theirs', 'globex', [namesake]));
    api.seed(vmi('theirs', 'globex', [namesake]));
    let before = api.writes().length;
    await rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours`, volume_capability: CAP }).catch(() => undefined);
    expect(writesSince(before), 'the hot-plug asked for').to.deep.equal([addvolume]);
    expect(await rpc('DeleteVolume', { volume_id: 'pvc-1' })).to.deep.equal({});
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });

    // Their VMI really holds our DataVolume (under a name of theirs): a single-node volume is refused, without their VM's name.
    api.seed(vmi('theirs', 'globex', [{ name: 'stolen', dataVolume: { name: 'pvc-1', hotpluggable: true } }]));
    before = api.writes().length;
    const attached = (await rejection(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours`, volume_capability: CAP }), 'publish of a volume in their VM')) as CsiError;
    expect([attached.code, attached.message]).to.deep.equal([status.FAILED_PRECONDITION, 'volume pvc-1 is attached to a VM of another cluster; a single-node volume must be unpublished there first']);
    const deleting = (await rejection(rpc('DeleteVolume', { volume_id: 'pvc-1' }), 'delete of a volume in their VM')) as CsiError;
    expect([deleting.code, deleting.message]).to.deep.equal([status.FAILED_PRECONDITION, 'volume pvc-1 is still attached to a VM of another cluster; unpublish it first']);
    expect(writesSince(before), 'writes to the infra cluster').to.deep.equal([]);
  });

  it('refuses to publish into its own VM where a volume of the same name has another source, and unplugs nothing of it', async () => {
    const { api, rpc } = fakeInfra(MAPPINGS, { infraNamespace: NS, infraLabels: LABELS, clusterName: 'acme', attachTimeoutMs: 200, pollIntervalMs: 20 });
    await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP] });
    const cases: { volume: KubevirtVolume; message: string }[] = [
      { volume: { name: 'pvc-1', persistentVolumeClaim: { claimName: 'scratch', hotpluggable: true } }, message: 'VM ours already has a volume named pvc-1 that is not the hot-plugged DataVolume pvc-1; remove it from the VM to publish the volume there' },
      { volume: { name: 'data', dataVolume: { name: 'pvc-1', hotpluggable: true } }, message: 'DataVolume pvc-1 is already in VM ours under another volume name; remove it from the VM to publish the volume there' },
    ];
    for (const tc of cases) {
      api.seed<VirtualMachine>({ ...VIRTUAL_MACHINE_TYPE, metadata: { name: 'ours', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'acme' } }, spec: { template: { spec: { domain: { devices: {} }, volumes: [tc.volume] } } } });
      const before = api.writes().length;
      const refused = (await rejection(rpc('ControllerPublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours`, volume_capability: CAP }), tc.volume.name)) as CsiError;
      expect([refused.code, refused.message]).to.deep.equal([status.FAILED_PRECONDITION, tc.message]);
      if (tc.volume.name === 'pvc-1') expect(await rpc('ControllerUnpublishVolume', { volume_id: 'pvc-1', node_id: `${NS}/ours` })).to.deep.equal({});
      expect(api.writes().slice(before), 'writes to the infra cluster').to.deep.equal([]);
    }
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

  it('answers ControllerGetVolume with the volume as CreateVolume gave it, the claim\'s size once grown, and the VMs holding it; NOT_FOUND for another tenant\'s', async () => {
    const { api, rpc } = setup();
    const created = (await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 }, parameters: { bus: 'virtio' } })) as { volume: object };
    expect(await rpc('ControllerGetVolume', { volume_id: 'pvc-1' })).to.deep.equal({ ...created, status: { published_node_ids: [] } });
    api.seed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-1', namespace: NS }, spec: {}, status: { phase: 'Bound', capacity: { storage: '2000' } } });
    const volume: KubevirtVolume = { name: 'pvc-1', dataVolume: { name: 'pvc-1', hotpluggable: true } };
    api.seed<VirtualMachineInstance>({ ...VIRTUAL_MACHINE_INSTANCE_TYPE, metadata: { name: 'vm', namespace: NS }, spec: { domain: { devices: {} }, volumes: [volume] }, status: { volumeStatus: [{ name: 'pvc-1', target: 'sda', phase: 'Ready' }] } });
    const got = (await rpc('ControllerGetVolume', { volume_id: 'pvc-1' })) as { volume: { capacity_bytes: number; volume_context: object }; status: object };
    expect(got.volume.capacity_bytes).to.equal(2000);
    expect(got.volume.volume_context).to.deep.equal((created.volume as { volume_context: object }).volume_context);
    expect(got.status).to.deep.equal({ published_node_ids: [`${NS}/vm`, 'vm'] });
    expect(((await rpc('ListVolumes', {})) as { entries: object[] }).entries).to.deep.equal([got]);
    api.seed<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: {} });
    expect(await codeOf(rpc('ControllerGetVolume', { volume_id: 'theirs' }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('ControllerGetVolume', { volume_id: 'missing' }))).to.equal(status.NOT_FOUND);
    expect(await codeOf(rpc('ControllerGetVolume', {}))).to.equal(status.INVALID_ARGUMENT);
  });

  it('reports a failed DataVolume in ControllerGetVolumeHealth and ControllerListVolumeHealth, and a healthy volume in neither', async () => {
    const { api, rpc } = setup();
    await rpc('CreateVolume', { name: 'pvc-ok', volume_capabilities: [CAP] });
    api.seed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-ok', namespace: NS }, spec: {}, status: { phase: 'Bound' } });
    api.seed<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { name: 'pvc-bad', namespace: NS, labels: LABELS }, spec: {}, status: { phase: 'Failed', conditions: [{ type: 'Running', status: 'False', message: 'import failed' }] } });
    api.seed({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc-bad', namespace: NS }, spec: {}, status: { phase: 'Bound' } });
    expect(await rpc('ControllerGetVolumeHealth', { volume_id: 'pvc-ok' })).to.deep.equal({ volume_health: { volume_id: 'pvc-ok', health_statuses: [] } });
    const bad = { volume_id: 'pvc-bad', health_statuses: [{ status: 'INACCESSIBLE', reason: 'DataVolumeFailed', message: `infra DataVolume ${NS}/pvc-bad failed: Running: import failed` }] };
    expect(await rpc('ControllerGetVolumeHealth', { volume_id: 'pvc-bad' })).to.deep.equal({ volume_health: bad });
    expect(await rpc('ControllerListVolumeHealth', {})).to.deep.equal({ entries: [bad] });
    expect(await codeOf(rpc('ControllerGetVolumeHealth', {}))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('ControllerGetVolumeHealth', { volume_id: 'missing' }))).to.equal(status.NOT_FOUND);
  });

  it('answers GetCapacity from the namespace quota for the class asked (the default one by name), and refuses to guess without one', async () => {
    const { api, rpc } = setup();
    expect(await codeOf(rpc('GetCapacity', {}))).to.equal(status.FAILED_PRECONDITION);
    api.seed({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'gold', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
    const hard = { 'requests.storage': '10Gi', 'gold.storageclass.storage.k8s.io/requests.storage': '2Gi' };
    api.seed({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'storage', namespace: NS }, spec: { hard }, status: { hard, used: { 'requests.storage': '4Gi', 'gold.storageclass.storage.k8s.io/requests.storage': '1Gi' } } });
    expect(await rpc('GetCapacity', {})).to.deep.equal({ available_capacity: 1024 ** 3 });
    expect(await rpc('GetCapacity', { parameters: { infraStorageClassName: 'gold' }, volume_capabilities: [CAP] })).to.deep.equal({ available_capacity: 1024 ** 3 });
    expect(await rpc('GetCapacity', { parameters: { infraStorageClassName: 'silver' } })).to.deep.equal({ available_capacity: 6 * 1024 ** 3 });
    // A Role alone may not list StorageClasses: the default class's name unknown, every class's quota counts.
    api.failNext((req) => req.path.includes('/storageclasses'), 403, 'Forbidden');
    expect(await rpc('GetCapacity', { parameters: {} })).to.deep.equal({ available_capacity: 1024 ** 3 });
    api.seed({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'gold', annotations: {} } });
    expect(await rpc('GetCapacity', {})).to.deep.equal({ available_capacity: 6 * 1024 ** 3 });
    // No volume of these capabilities can be made: nothing of the budget is theirs.
    expect(await rpc('GetCapacity', { volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] })).to.deep.equal({ available_capacity: 0 });
    expect(await codeOf(rpc('GetCapacity', { accessible_topology: { segments: { 'topology.kubernetes.io/zone': 'a' } } }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(rpc('GetCapacity', { parameters: { bus: 'sata' } }))).to.equal(status.INVALID_ARGUMENT);
    const caps = (await rpc('ControllerGetCapabilities', {})) as { capabilities: { rpc: { type: string } }[] };
    expect(caps.capabilities.map((c) => c.rpc.type)).to.include.members(['GET_CAPACITY', 'GET_VOLUME', 'LIST_VOLUMES_PUBLISHED_NODES', 'GET_VOLUME_HEALTH', 'LIST_VOLUME_HEALTH']);
  });
});
