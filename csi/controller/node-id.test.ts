import { expect } from 'chai';
import { nodeIdOf, vmNameOf } from './node-id.js';

describe('csi/controller/node-id', () => {
  const ids = [
    { id: 'acme/worker-1', want: 'worker-1' },
    { id: 'worker-1', want: 'worker-1' },
    { id: 'other-tenant/worker-1', want: undefined },
    { id: 'acme/', want: undefined },
    { id: 'acme/a/b', want: undefined },
    { id: '', want: undefined },
  ];
  for (const tc of ids) it(`reads node ID "${tc.id}" as VM ${String(tc.want)} of namespace acme`, () => expect(vmNameOf(tc.id, 'acme')).to.equal(tc.want));

  it('derives the node ID from the Node providerID and cluster-namespace annotation, or the infra-vm annotations', () => {
    expect(nodeIdOf('kubevirt://worker-1', { 'cluster.x-k8s.io/cluster-namespace': 'acme' })).to.equal('acme/worker-1');
    expect(nodeIdOf('kubevirt://worker-1')).to.equal('worker-1');
    expect(nodeIdOf(undefined, { 'csi.kubevirt.io/infra-vm-name': 'vm', 'csi.kubevirt.io/infra-vm-namespace': 'ns' })).to.equal('ns/vm');
    expect(nodeIdOf('aws:///i-123')).to.equal(undefined);
  });
});
