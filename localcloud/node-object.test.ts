import { expect } from 'chai';
import { healthyConditions, kubeletLabels } from './node-object.js';

describe('simulated kubelet Node basics', () => {
  it('labels a node with its hostname, OS and Go architecture', () => {
    const labels = kubeletLabels('node-a');
    expect(labels).to.deep.include({ 'kubernetes.io/hostname': 'node-a', 'kubernetes.io/os': 'linux' });
    expect(labels['kubernetes.io/arch']).to.be.oneOf(['amd64', 'arm64']);
  });

  const want: { type: string; status: string; reason: string }[] = [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
    { type: 'Ready', status: 'True', reason: 'KubeletReady' },
  ];
  const conditions = healthyConditions('posting ready', '2026-01-01T00:00:10Z', '2026-01-01T00:00:00Z');
  for (const [i, tc] of want.entries()) {
    it(`reports ${tc.type}=${tc.status} (${tc.reason}), unchanged since the kubelet came up`, () => {
      expect(conditions[i]).to.deep.include({ ...tc, lastHeartbeatTime: '2026-01-01T00:00:10Z', lastTransitionTime: '2026-01-01T00:00:00Z' });
    });
  }

  it("carries the caller's Ready message", () => expect(conditions[3]?.message).to.equal('posting ready'));
});
