import { expect } from 'chai';
import { buildGuestNode, guestNodeStatus, PROVIDED_NODE_IP_ANNOTATION, UNINITIALIZED_TAINT, type GuestNodeSpec } from './node-object.js';

const base: GuestNodeSpec = {
  name: 'acme-md-0-vm1',
  providerID: 'kubevirt://acme-md-0-vm1',
  addresses: [{ type: 'InternalIP', address: '10.244.0.11' }],
  kubeletVersion: 'v1.37.2',
  bootID: 'boot',
};
const now = '2026-01-01T00:00:00Z';

describe('guest Node object', () => {
  it('registers with its addresses and reports them on every status post by default', () => {
    const node = buildGuestNode(base, guestNodeStatus(base, now, now));
    expect(node.spec?.taints).to.equal(undefined);
    expect(node.metadata.annotations).to.equal(undefined);
    expect(guestNodeStatus(base, now, now).addresses).to.deep.equal([
      { type: 'InternalIP', address: '10.244.0.11' },
      { type: 'Hostname', address: 'acme-md-0-vm1' },
    ]);
  });

  it('with an external cloud provider: tainted uninitialized, --node-ip annotated, addresses only at registration', () => {
    const spec = { ...base, externalCloudProvider: true, taints: [{ key: 'example.com/x', effect: 'NoSchedule' as const }] };
    const status = guestNodeStatus(spec, now, now);
    expect(status.addresses, 'status posts leave addresses to the cloud controller manager').to.equal(undefined);
    const node = buildGuestNode(spec, status);
    expect(node.spec?.taints).to.deep.equal([{ key: 'example.com/x', effect: 'NoSchedule' }, UNINITIALIZED_TAINT]);
    expect(node.metadata.annotations).to.deep.equal({ [PROVIDED_NODE_IP_ANNOTATION]: '10.244.0.11' });
    expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: '10.244.0.11' });
    expect(node.spec?.providerID).to.equal('kubevirt://acme-md-0-vm1');
  });

  it('does not add the uninitialized taint twice when the registration already asks for it', () => {
    const spec = { ...base, externalCloudProvider: true, taints: [UNINITIALIZED_TAINT] };
    expect(buildGuestNode(spec, guestNodeStatus(spec, now, now)).spec?.taints).to.deep.equal([UNINITIALIZED_TAINT]);
  });

  it("advertises the kubelet API's port only when one is served", () => {
    expect(guestNodeStatus(base, now, now).daemonEndpoints.kubeletEndpoint.Port).to.equal(0);
    expect(guestNodeStatus({ ...base, kubeletPort: 10250 }, now, now).daemonEndpoints.kubeletEndpoint.Port).to.equal(10250);
  });

  it('declares WebSocket streaming to the apiserver only when the kubelet API is served', () => {
    expect(guestNodeStatus(base, now, now).declaredFeatures).to.equal(undefined);
    expect(guestNodeStatus({ ...base, kubeletPort: 10250 }, now, now).declaredFeatures).to.deep.equal(['ExtendWebSocketsToKubelet']);
  });
});
