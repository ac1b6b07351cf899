import { expect } from 'chai';
import { pino } from 'pino';
import { awaitNodeIdentity, identityOf, UNINITIALIZED_TAINT, type TenantNode } from './node-identity.js';

const node = (labels: Record<string, string>, taints: { key: string }[] = []): TenantNode => ({
  metadata: { name: 'worker-1', labels, annotations: { 'cluster.x-k8s.io/cluster-namespace': 'acme' } },
  spec: { providerID: 'kubevirt://worker-1-vm', taints },
});

describe('csi/node/node-identity', () => {
  it('takes the node ID from the providerID and the zone from the zone label; --node-id wins for the ID', () => {
    expect(identityOf(node({ 'topology.kubernetes.io/zone': 'zone-b' }), 'worker-1', undefined)).to.deep.equal({ done: true, value: { nodeId: 'acme/worker-1-vm', zone: 'zone-b' } });
    expect(identityOf(node({}), 'worker-1', 'acme/other')).to.deep.equal({ done: true, value: { nodeId: 'acme/other', zone: undefined } });
  });

  it('waits while the cloud provider has not initialised the Node, or it is missing', () => {
    expect(identityOf(node({}, [{ key: UNINITIALIZED_TAINT }]), 'worker-1', undefined)).to.deep.include({ done: false });
    expect(identityOf(undefined, 'worker-1', undefined)).to.deep.equal({ done: false, seen: 'no tenant Node worker-1' });
  });

  it('fails on an initialised Node that names no VM', () => {
    expect(() => identityOf({ metadata: { name: 'worker-1' } }, 'worker-1', undefined)).to.throw(/names no VM/);
  });

  it('polls until the CCM has set the zone with the taint gone', async () => {
    const seen = [node({}, [{ key: UNINITIALIZED_TAINT }]), node({ 'topology.kubernetes.io/zone': 'zone-a' })];
    const identity = await awaitNodeIdentity({ name: 'worker-1', nodeId: undefined, log: pino({ level: 'silent' }), intervalMs: 5, getNode: () => Promise.resolve(seen.shift()) });
    expect(identity).to.deep.equal({ nodeId: 'acme/worker-1-vm', zone: 'zone-a' });
  });
});
