import { expect } from 'chai';
import type { MachineDeployment } from '../../lib/apis/cluster-api.js';
import { machineDeployment, machineTemplate } from './env.testdata.js';
import { parsePairs, parseTaints, templateNode } from './template-node.js';

const withAnnotations = (annotations: Record<string, string>): MachineDeployment => machineDeployment('workers', { replicas: 0, min: '0', max: '3', annotations });

describe('providers/autoscaler/template-node', () => {
  it('offers what the template says one machine has, plus the pods the kubelet admits', () => {
    const built = templateNode(withAnnotations({}), machineTemplate('t', { cpu: '4', memory: '8Gi' }));
    if (!('node' in built)) throw new Error(built.missing);
    const node = built.node as { metadata: { name: string; labels: Record<string, string> }; spec: { taints: unknown[] }; status: Record<string, unknown> };
    expect(node.metadata.name).to.equal('workers-template');
    expect(node.status.capacity).to.deep.equal({ pods: { string: '110' }, cpu: { string: '4' }, memory: { string: '8Gi' } });
    expect(node.status.allocatable).to.deep.equal(node.status.capacity);
    expect(node.status.nodeInfo).to.deep.equal({ operatingSystem: 'linux', architecture: 'arm64' });
    expect(node.status.conditions).to.deep.include({ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'template node of a node group' });
    expect(node.metadata.labels).to.deep.equal({
      'kubernetes.io/hostname': 'workers-template',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'arm64',
      'node-role.kubernetes.io/worker': '',
    });
    expect(node.spec.taints).to.deep.equal([]);
  });

  it('takes labels, taints and max pods from the capacity annotations, and labels GPU nodes with their type', () => {
    const built = templateNode(
      withAnnotations({
        'capacity.cluster-autoscaler.kubernetes.io/labels': 'tier=batch,zone=a',
        'capacity.cluster-autoscaler.kubernetes.io/taints': 'dedicated=batch:NoSchedule,gpu:NoExecute',
        'capacity.cluster-autoscaler.kubernetes.io/maxPods': '30',
      }),
      machineTemplate('t', { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '2' }),
    );
    if (!('node' in built)) throw new Error(built.missing);
    const node = built.node as { metadata: { labels: Record<string, string> }; spec: { taints: unknown[] }; status: { capacity: Record<string, { string: string }> } };
    expect(node.metadata.labels).to.include({ tier: 'batch', zone: 'a', 'cluster-api/accelerator': 'nvidia' });
    expect(node.spec.taints).to.deep.equal([{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }, { key: 'gpu', value: '', effect: 'NoExecute' }]);
    expect(node.status.capacity.pods?.string).to.equal('30');
    expect(node.status.capacity['nvidia.com/gpu']?.string).to.equal('2');
  });

  it('says what is missing when the template has no capacity yet', () => {
    expect(templateNode(withAnnotations({}), machineTemplate('t', undefined))).to.deep.equal({ missing: 'KubevirtMachineTemplate t has no status.capacity.cpu' });
    expect(templateNode(withAnnotations({}), machineTemplate('t', { cpu: '1' }))).to.deep.equal({ missing: 'KubevirtMachineTemplate t has no status.capacity.memory' });
  });

  it('parses the annotation formats, skipping malformed entries', () => {
    expect(parsePairs('a=1, b=x=y,,c')).to.deep.equal({ a: '1', b: 'x=y', c: '' });
    expect(parsePairs(undefined)).to.deep.equal({});
    expect(parseTaints('a=b:NoSchedule,bad,c:Sometimes,d=:PreferNoSchedule')).to.deep.equal([
      { key: 'a', value: 'b', effect: 'NoSchedule' },
      { key: 'd', value: '', effect: 'PreferNoSchedule' },
    ]);
  });
});
