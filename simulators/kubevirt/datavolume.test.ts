import { expect } from 'chai';
import type { DataVolume } from '../../lib/apis/cdi.js';
import { claimFor, importFailure } from './datavolume.js';
import { persistentVolumeFor } from './persistent-volume.js';

const dv = (spec: DataVolume['spec']): DataVolume => ({ metadata: { name: 'root', namespace: 'ns', uid: 'dv-uid' }, spec });

describe('CDI DataVolume simulation', () => {
  it('fills CDI defaults into the claim of a storage spec', () => {
    const claim = claimFor(dv({ source: { http: { url: 'https://images.example.com/d.qcow2' } }, storage: { resources: { requests: { storage: '3Gi' } } } }));
    expect(claim.metadata.labels).to.deep.equal({ app: 'containerized-data-importer' });
    expect(claim.metadata.annotations).to.deep.equal({ 'cdi.kubevirt.io/storage.import.endpoint': 'https://images.example.com/d.qcow2' });
    expect(claim.metadata.ownerReferences?.[0]).to.include({ kind: 'DataVolume', name: 'root', uid: 'dv-uid', controller: true });
    expect(claim.spec).to.deep.equal({ accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem', resources: { requests: { storage: '3Gi' } } });
  });

  it('takes a pvc spec with its storage class and access modes', () => {
    const claim = claimFor(dv({ source: { blank: {} }, pvc: { accessModes: ['ReadWriteMany'], storageClassName: 'rook', volumeMode: 'Block', resources: { requests: { storage: '1Gi' } } } }));
    expect(claim.spec).to.deep.include({ accessModes: ['ReadWriteMany'], storageClassName: 'rook', volumeMode: 'Block' });
  });

  it('provisions a volume pre-bound to the claim, named after its UID', () => {
    const claim = { ...claimFor(dv({ pvc: { accessModes: ['ReadWriteMany'], storageClassName: 'rook', resources: { requests: { storage: '2Gi' } } } })), metadata: { name: 'root', namespace: 'ns', uid: 'pvc-uid' } };
    const pv = persistentVolumeFor(claim);
    expect(pv.metadata.name).to.equal('pvc-pvc-uid');
    expect(pv.spec).to.deep.include({ accessModes: ['ReadWriteMany'], storageClassName: 'rook', capacity: { storage: '2Gi' }, persistentVolumeReclaimPolicy: 'Delete' });
    expect(pv.spec.claimRef).to.include({ namespace: 'ns', name: 'root', uid: 'pvc-uid' });
  });

  it('fails imports from hosts under .invalid the way an unreachable endpoint fails, and only those', () => {
    expect(importFailure(dv({ source: { http: { url: 'https://disk.example.invalid/x.img' } } }))).to.equal(
      'Unable to connect to http data source: Get "https://disk.example.invalid/x.img": dial tcp: lookup disk.example.invalid: no such host',
    );
    expect(importFailure(dv({ source: { registry: { url: 'docker://quay.io/containerdisks/fedora:latest' } } }))).to.equal(undefined);
    expect(importFailure(dv({ source: { blank: {} } }))).to.equal(undefined);
  });
});
