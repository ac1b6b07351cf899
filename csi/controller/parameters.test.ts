import { expect } from 'chai';
import { parseLabelList, parseVolumeParameters } from './parameters.js';

describe('csi/controller/parameters', () => {
  it('reads kubevirt/csi-driver StorageClass parameters with its defaults', () => {
    expect(parseVolumeParameters({})).to.deep.equal({ infraStorageClassName: undefined, bus: 'scsi' });
    expect(parseVolumeParameters({ infraStorageClassName: 'fast', bus: 'virtio' })).to.deep.equal({ infraStorageClassName: 'fast', bus: 'virtio' });
    expect(parseVolumeParameters({ infraStorageClassName: '' }).infraStorageClassName).to.equal(undefined);
    expect(() => parseVolumeParameters({ bus: 'sata' })).to.throw(/"sata" is not a bus hot-plug supports/);
  });

  it('parses --infra-cluster-labels and refuses a pair without "="', () => {
    expect(parseLabelList('a=1, b=x=y,,')).to.deep.equal({ a: '1', b: 'x=y' });
    expect(parseLabelList('')).to.deep.equal({});
    expect(() => parseLabelList('a=1,b')).to.throw(/"b" is not key=value/);
  });
});
