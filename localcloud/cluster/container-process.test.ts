import { expect } from 'chai';
import { namespacePropagation } from './container-process.js';

describe('container process', () => {
  it('starts a container with only private mounts in a mount namespace private from the start', () => {
    expect(namespacePropagation([{ source: '/a', target: '/a', readOnly: false }, { source: '/b', target: '/b', readOnly: true, propagation: 'private' }])).to.equal('private');
  });

  it('keeps the namespace joined to the host for the entry script when a mount propagates', () => {
    for (const propagation of ['rslave', 'rshared'] as const) {
      expect(namespacePropagation([{ source: '/a', target: '/a', readOnly: false }, { source: '/var/lib/kubelet', target: '/var/lib/kubelet', readOnly: false, propagation }])).to.equal('unchanged');
    }
  });
});
