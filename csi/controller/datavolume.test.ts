import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { belongsTo, buildDataVolume, dataVolumeNameFor, DEFAULT_VOLUME_BYTES, mismatch, quantityBytes, volumeBytes } from './datavolume.js';
import { CsiError } from '../status.js';

const base = { name: 'pvc-1', namespace: 'acme', labels: { 'csi-driver/cluster': 'acme' }, bytes: 64 * 1024 ** 2, volumeMode: 'Filesystem' as const, shared: false, storageClassName: undefined };

describe('csi/controller/datavolume', () => {
  const sizes = [
    { name: 'required_bytes exactly, not rounded', range: { required_bytes: 67_108_865 }, want: 67_108_865 },
    { name: 'the default without a range', range: undefined, want: DEFAULT_VOLUME_BYTES },
    { name: 'the default capped by limit_bytes', range: { limit_bytes: 5_000 }, want: 5_000 },
    { name: 'required_bytes when equal to limit_bytes', range: { required_bytes: 10, limit_bytes: 10 }, want: 10 },
  ];
  for (const tc of sizes) it(`provisions ${tc.name}`, () => expect(volumeBytes(tc.range)).to.equal(tc.want));

  it('refuses required_bytes above limit_bytes with OUT_OF_RANGE, and negative sizes with INVALID_ARGUMENT', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as CsiError).code;
      }
      return undefined;
    };
    expect(codeOf(() => volumeBytes({ required_bytes: 11, limit_bytes: 10 }))).to.equal(status.OUT_OF_RANGE);
    expect(codeOf(() => volumeBytes({ required_bytes: -1 }))).to.equal(status.INVALID_ARGUMENT);
  });

  const names = [
    { name: "the external-provisioner's pvc-<uid> as it is", in: 'pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789', want: /^pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789$/ },
    { name: 'a name with capitals as a lowercase one with a hash', in: 'sanity-AB12', want: /^sanity-ab12-[0-9a-f]{10}$/ },
    { name: 'a name of symbols only as vol-<hash>', in: '__', want: /^vol-[0-9a-f]{10}$/ },
  ];
  for (const tc of names) it(`names the DataVolume for ${tc.name}`, () => expect(dataVolumeNameFor(tc.in)).to.match(tc.want));

  it('keeps names that differ only in case apart, and maps one name the same way every time', () => {
    expect(dataVolumeNameFor('Vol-A')).to.not.equal(dataVolumeNameFor('vol-A'));
    expect(dataVolumeNameFor('Vol-A')).to.equal(dataVolumeNameFor('Vol-A'));
    expect(dataVolumeNameFor('X'.repeat(128))).to.have.length.below(254);
  });

  const quantities = [
    { q: '67108864', want: 67_108_864 },
    { q: '64Mi', want: 64 * 1024 ** 2 },
    { q: '1G', want: 1e9 },
    { q: 1024, want: 1024 },
    { q: '1.5Gi', want: undefined },
    { q: undefined, want: undefined },
  ];
  for (const tc of quantities) it(`reads the quantity ${String(tc.q)} as ${String(tc.want)} bytes`, () => expect(quantityBytes(tc.q)).to.equal(tc.want));

  it('builds a blank DataVolume named after the request, with the tenant labels, exact size, mode and infra class', () => {
    const dv = buildDataVolume({ ...base, volumeMode: 'Block', shared: true, storageClassName: 'fast' });
    expect(dv.metadata).to.deep.include({ name: 'pvc-1', namespace: 'acme', labels: { 'csi-driver/cluster': 'acme' } });
    expect(dv.metadata.annotations).to.deep.equal({ 'cdi.kubevirt.io/storage.deleteAfterCompletion': 'false' });
    expect(dv.spec).to.deep.equal({
      source: { blank: {} },
      storage: { accessModes: ['ReadWriteMany'], volumeMode: 'Block', resources: { requests: { storage: '67108864' } }, storageClassName: 'fast' },
    });
    expect(buildDataVolume(base).spec?.storage).to.not.have.property('storageClassName');
    expect(buildDataVolume(base).spec?.storage?.accessModes).to.deep.equal(['ReadWriteOnce']);
  });

  it('counts a DataVolume as the tenant\'s only when it carries every tenant label', () => {
    const dv = buildDataVolume(base);
    expect(belongsTo(dv, base.labels)).to.equal(true);
    expect(belongsTo(dv, { ...base.labels, other: 'x' })).to.equal(false);
    expect(belongsTo({ ...dv, metadata: { ...dv.metadata, labels: { 'csi-driver/cluster': 'evil' } } }, base.labels)).to.equal(false);
  });

  const repeats = [
    { name: 'the same request', other: base, want: undefined },
    { name: 'the same size written another way', existing: { ...base }, storage: '64Mi', other: base, want: undefined },
    { name: 'another size', other: { ...base, bytes: 2 * base.bytes }, want: /not 134217728 bytes/ },
    { name: 'another volume mode', other: { ...base, volumeMode: 'Block' as const }, want: /volume mode is Filesystem, not Block/ },
    { name: 'another infra class', other: { ...base, storageClassName: 'fast' }, want: /storage class is \(default\), not fast/ },
    { name: 'another origin', other: { ...base, origin: { kind: 'snapshot' as const, name: 'snap-1' } }, want: /created from blank, not snapshot snap-1/ },
  ];
  for (const tc of repeats) {
    it(`judges a repeated CreateVolume with ${tc.name}`, () => {
      const existing = buildDataVolume(base);
      if (tc.storage && existing.spec?.storage?.resources?.requests) existing.spec.storage.resources.requests.storage = tc.storage;
      const why = mismatch(existing, buildDataVolume(tc.other));
      if (tc.want) expect(why).to.match(tc.want);
      else expect(why).to.equal(undefined);
    });
  }
});
