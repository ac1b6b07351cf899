import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { DataVolume } from '../../lib/apis/cdi.js';
import type { CsiError } from '../status.js';
import { CAP, codeOf, DATA_VOLUME_RESOURCE, fakeInfra, LABELS, NS } from './fake-infra.testdata.js';
import { placeVolume, ZONE_KEY, zoneMismatch, zonesOfStorageClass } from './topology.js';

const zone = (z: string) => ({ segments: { [ZONE_KEY]: z } });
const zonal = (...values: string[]) => ({ allowedTopologies: [{ matchLabelExpressions: [{ key: ZONE_KEY, values }] }] });
const thrown = (fn: () => unknown): CsiError => {
  try {
    fn();
  } catch (err) {
    return err as CsiError;
  }
  throw new Error('did not throw');
};

describe('csi/controller/topology', () => {
  it('reads the zones an infra StorageClass serves from its allowedTopologies; a term without a zone opens every zone', () => {
    expect(zonesOfStorageClass({})).to.equal(undefined);
    expect(zonesOfStorageClass(zonal('zone-a', 'zone-b'))).to.deep.equal(['zone-a', 'zone-b']);
    expect(zonesOfStorageClass({ allowedTopologies: [...zonal('zone-a').allowedTopologies, ...zonal('zone-c', 'zone-a').allowedTopologies] })).to.deep.equal(['zone-a', 'zone-c']);
    expect(zonesOfStorageClass({ allowedTopologies: [...zonal('zone-a').allowedTopologies, { matchLabelExpressions: [{ key: 'kubernetes.io/hostname', values: ['n1'] }] }] })).to.equal(undefined);
  });

  it('places a volume in the first preferred zone served, else the first requisite one, else the first served', () => {
    const served = { className: 'zonal', zones: ['zone-a', 'zone-b', 'zone-c'] };
    expect(placeVolume({ requisite: [zone('zone-c'), zone('zone-b'), zone('zone-d')], preferred: [zone('zone-d'), zone('zone-b')] }, served)).to.equal('zone-b');
    expect(placeVolume({ requisite: [zone('zone-d'), zone('zone-c'), zone('zone-a')] }, served)).to.equal('zone-c');
    expect(placeVolume({ preferred: [zone('zone-b')] }, served)).to.equal('zone-b');
    expect(placeVolume(undefined, served)).to.equal('zone-a');
  });

  it('places nothing when the infra storage serves every zone, whatever the requirement', () => {
    expect(placeVolume({ requisite: [zone('zone-x')], preferred: [zone('zone-x')] }, { className: undefined, zones: undefined })).to.equal(undefined);
  });

  it('refuses a requisite no served zone meets with RESOURCE_EXHAUSTED, naming both sides', () => {
    const err = thrown(() => placeVolume({ requisite: [zone('zone-b')] }, { className: 'zone-a-only', zones: ['zone-a'] }));
    expect(err.code).to.equal(status.RESOURCE_EXHAUSTED);
    expect(err.message).to.match(/requisite zones \(zone-b\).*infra StorageClass zone-a-only serves only zone-a/);
  });

  it('refuses malformed requirements with INVALID_ARGUMENT: keys never reported, a topology without zone, preferred outside requisite', () => {
    const served = { className: 'zonal', zones: ['zone-a'] };
    for (const req of [
      { requisite: [{ segments: { [ZONE_KEY]: 'zone-a', 'kubernetes.io/hostname': 'n1' } }] },
      { preferred: [{ segments: {} }] },
      { requisite: [zone('zone-a')], preferred: [zone('zone-b')] },
    ]) {
      expect(thrown(() => placeVolume(req, served)).code, JSON.stringify(req)).to.equal(status.INVALID_ARGUMENT);
    }
  });

  it('tells a volume placed outside a repeated request\'s requisite', () => {
    expect(zoneMismatch('zone-a', { requisite: [zone('zone-a')] })).to.equal(undefined);
    expect(zoneMismatch(undefined, { requisite: [zone('zone-a')] })).to.equal(undefined);
    expect(zoneMismatch('zone-a', { requisite: [zone('zone-b')] })).to.match(/in zone zone-a, not one of the requisite zones \(zone-b\)/);
  });
});

describe('csi/controller CreateVolume with --topology', () => {
  // What ListVolumes and GetCapacity read besides the DataVolumes.
  const STATUS_SOURCES = [
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true },
    { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', resource: 'virtualmachines', namespaced: true },
    { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', resource: 'virtualmachineinstances', namespaced: true },
    { apiVersion: 'v1', kind: 'ResourceQuota', resource: 'resourcequotas', namespaced: true },
  ];
  const STORAGE_CLASS = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', resource: 'storageclasses', namespaced: false };
  const setup = () => {
    const infra = fakeInfra([DATA_VOLUME_RESOURCE, STORAGE_CLASS, ...STATUS_SOURCES], { infraNamespace: NS, infraLabels: LABELS, topology: true });
    infra.api.seed({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'zone-a-only' }, ...zonal('zone-a') });
    infra.api.seed({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'everywhere', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
    return infra;
  };
  const request = (name: string, infraStorageClassName: string | undefined, requisite: string[], preferred = requisite) => ({
    name,
    volume_capabilities: [CAP],
    capacity_range: { required_bytes: 1000 },
    parameters: infraStorageClassName ? { infraStorageClassName } : {},
    accessibility_requirements: { requisite: requisite.map(zone), preferred: preferred.map(zone) },
  });

  it('reports the zone it placed the volume in, records it on the DataVolume, and answers repeats and ListVolumes alike', async () => {
    const { api, rpc } = setup();
    const req = request('pvc-1', 'zone-a-only', ['zone-b', 'zone-a']);
    const first = (await rpc('CreateVolume', req)) as { volume: { accessible_topology?: unknown } };
    expect(first.volume.accessible_topology).to.deep.equal([zone('zone-a')]);
    expect((api.peek('cdi.kubevirt.io/v1beta1', 'DataVolume', `${NS}/pvc-1`) as DataVolume | undefined)?.metadata.annotations).to.include({ 'csi.kubevirt.io/zone': 'zone-a' });
    // The provisioner's retry may order preferred differently: the recorded zone stands.
    expect(await rpc('CreateVolume', { ...req, accessibility_requirements: { requisite: [zone('zone-a'), zone('zone-b')], preferred: [zone('zone-b')] } })).to.deep.equal(first);
    expect(await codeOf(rpc('CreateVolume', request('pvc-1', 'zone-a-only', ['zone-b'])))).to.equal(status.ALREADY_EXISTS);
    const listed = (await rpc('ListVolumes', {})) as { entries: { volume: { accessible_topology?: unknown } }[] };
    expect(listed.entries.map((e) => e.volume.accessible_topology)).to.deep.equal([[zone('zone-a')]]);
    expect(api.writes()).to.have.length(1);
  });

  it('reports no topology for the infra default class serving every zone, and refuses an unsatisfiable or unknown class before creating anything', async () => {
    const { api, rpc } = setup();
    const open = (await rpc('CreateVolume', request('pvc-2', undefined, ['zone-b']))) as { volume: { accessible_topology?: unknown } };
    expect(open.volume.accessible_topology).to.equal(undefined);
    expect(await codeOf(rpc('CreateVolume', request('pvc-3', 'zone-a-only', ['zone-b'])))).to.equal(status.RESOURCE_EXHAUSTED);
    expect(await codeOf(rpc('CreateVolume', request('pvc-4', 'missing', ['zone-a'])))).to.equal(status.INVALID_ARGUMENT);
    expect(api.writes()).to.have.length(1);
  });

  it('answers GetCapacity per zone: nothing where the class serves no storage, the quota where it does', async () => {
    const { api, rpc } = setup();
    const hard = { 'requests.storage': '1Gi' };
    api.seed({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'storage', namespace: NS }, spec: { hard }, status: { hard, used: { 'requests.storage': '0' } } });
    const capacity = (cls: string | undefined, z: string) => rpc('GetCapacity', { parameters: cls ? { infraStorageClassName: cls } : {}, accessible_topology: zone(z) });
    expect(await capacity('zone-a-only', 'zone-b')).to.deep.equal({ available_capacity: 0 });
    expect(await capacity('zone-a-only', 'zone-a')).to.deep.equal({ available_capacity: 1024 ** 3 });
    expect(await capacity(undefined, 'zone-b')).to.deep.equal({ available_capacity: 1024 ** 3 });
    expect(await codeOf(rpc('GetCapacity', { accessible_topology: { segments: { 'kubernetes.io/hostname': 'n' } } }))).to.equal(status.INVALID_ARGUMENT);
  });
});
