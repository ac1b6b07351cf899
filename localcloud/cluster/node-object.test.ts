import { expect } from 'chai';
import { buildNode, DEFAULT_CAPACITY, nodeStatus } from './node-object.js';

describe('simulated Node object', () => {
  const status = nodeStatus({ name: 'node-a', capacity: { cpu: '4' } }, '10.244.0.1', 'v1.37.2', '2026-01-01T00:00:10Z', '2026-01-01T00:00:00Z');

  it('carries the labels the scheduler and topology spreading read', () => {
    const node = buildNode({ name: 'node-a', zone: 'zone-a', region: 'local', labels: { 'node.kubernetes.io/instance-type': 'local' } }, status);
    expect(node.metadata.labels).to.deep.include({
      'kubernetes.io/hostname': 'node-a',
      'kubernetes.io/os': 'linux',
      'topology.kubernetes.io/zone': 'zone-a',
      'topology.kubernetes.io/region': 'local',
      'node.kubernetes.io/instance-type': 'local',
    });
    expect(node.metadata.labels?.['kubernetes.io/arch']).to.be.oneOf(['amd64', 'arm64']);
  });

  it('reports Ready with the node address and allocatable equal to capacity', () => {
    expect(status.conditions.find((c) => c.type === 'Ready')).to.deep.include({ status: 'True', reason: 'KubeletReady', lastTransitionTime: '2026-01-01T00:00:00Z' });
    expect(status.conditions.filter((c) => c.type !== 'Ready').every((c) => c.status === 'False')).to.be.true;
    expect(status.addresses).to.deep.include({ type: 'InternalIP', address: '10.244.0.1' });
    expect(status.allocatable).to.deep.equal({ ...DEFAULT_CAPACITY, cpu: '4' });
    expect(status.nodeInfo.kubeletVersion).to.equal('v1.37.2');
  });
});
