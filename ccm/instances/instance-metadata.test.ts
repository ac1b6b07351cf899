import { expect } from 'chai';
import type { Node } from '../../lib/apis/core.js';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { findInstance, instanceIdFromProviderID, instanceMetadata, instanceState, nodeAddresses } from './instance-metadata.js';

function vmi(name: string, over: Partial<VirtualMachineInstance> = {}): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'tenant-acme', ...over.metadata },
    spec: { domain: { devices: {} }, ...over.spec },
    status: { phase: 'Running', nodeName: 'infra-a', interfaces: [{ name: 'default', ipAddress: '10.244.1.5', ipAddresses: ['10.244.1.5', 'fd00::5', 'fe80::1'] }], ...over.status },
  };
}

function node(name: string, over: { labels?: Record<string, string>; providerID?: string; addresses?: { type: string; address: string }[] } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(over.labels ? { labels: over.labels } : {}) },
    spec: over.providerID ? { providerID: over.providerID } : {},
    status: { addresses: over.addresses ?? [] },
  };
}

describe('instance metadata', () => {
  const vmis = [vmi('vm-a'), vmi('vm-b', { spec: { domain: { devices: {} }, hostname: 'worker-b' } }), vmi('vm-c')];
  const lookups: { name: string; node: Node; want: string | undefined }[] = [
    { name: 'by the instance-id label, which wins over the name', node: node('vm-a', { labels: { 'node.kubernetes.io/instance-id': 'vm-c' } }), want: 'vm-c' },
    { name: 'by providerID', node: node('whatever', { providerID: 'kubevirt://vm-c' }), want: 'vm-c' },
    { name: 'by Node name', node: node('vm-a'), want: 'vm-a' },
    { name: "by the VMI's hostname", node: node('worker-b'), want: 'vm-b' },
    { name: 'not at all for a stranger', node: node('stranger'), want: undefined },
    { name: 'not by name when the instance-id label names a missing VM', node: node('vm-a', { labels: { 'node.kubernetes.io/instance-id': 'gone' } }), want: undefined },
  ];
  for (const tc of lookups) it(`finds the VMI ${tc.name}`, () => expect(findInstance(tc.node, vmis)?.metadata.name).to.equal(tc.want));

  it('parses only kubevirt://<vm> providerIDs', () => {
    expect(instanceIdFromProviderID('kubevirt://vm-a')).to.equal('vm-a');
    expect(instanceIdFromProviderID('aws:///us-east-1a/i-123')).to.equal(undefined);
    expect(instanceIdFromProviderID(undefined)).to.equal(undefined);
  });

  it('reports every family as InternalIP, default interface first, without link-local, plus the Hostname', () => {
    const secondary = vmi('vm-a', { status: { interfaces: [{ name: 'storage', ipAddresses: ['192.168.50.3'] }, { name: 'default', ipAddresses: ['10.244.1.5', 'fd00::5', 'fe80::1'] }] } });
    expect(nodeAddresses(secondary, node('vm-a'))).to.deep.equal([
      { type: 'InternalIP', address: '10.244.1.5' },
      { type: 'InternalIP', address: 'fd00::5' },
      { type: 'InternalIP', address: '192.168.50.3' },
      { type: 'Hostname', address: 'vm-a' },
    ]);
  });

  it('keeps the previous InternalIPs when the VMI stops reporting addresses', () => {
    const silent = vmi('vm-a', { status: { interfaces: [{ name: 'default' }] } });
    const known = node('vm-a', { addresses: [{ type: 'InternalIP', address: '10.244.1.5' }, { type: 'Hostname', address: 'vm-a' }] });
    expect(nodeAddresses(silent, known)).to.deep.equal([{ type: 'InternalIP', address: '10.244.1.5' }, { type: 'Hostname', address: 'vm-a' }]);
  });

  it('takes providerID from the VMI name, instance type from its annotations and zone/region from the infra Node', () => {
    const sized = vmi('vm-a', { metadata: { name: 'vm-a', annotations: { 'kubevirt.io/instancetype-name': 'u1.medium' } } });
    const infraNode: Node = { metadata: { name: 'infra-a', labels: { 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'local' } } };
    expect(instanceMetadata(sized, node('vm-a'), infraNode)).to.deep.include({ providerID: 'kubevirt://vm-a', instanceType: 'u1.medium', zone: 'zone-a', region: 'local' });
  });

  const states: { name: string; vm: boolean; phase: string | undefined; want: string }[] = [
    { name: 'a running VMI', vm: true, phase: 'Running', want: 'Running' },
    { name: 'a finished VMI', vm: true, phase: 'Succeeded', want: 'Shutdown' },
    { name: 'a failed VMI', vm: true, phase: 'Failed', want: 'Shutdown' },
    { name: 'a VMI whose host is lost', vm: true, phase: 'Unknown', want: 'Shutdown' },
    { name: 'a stopped VM without VMI', vm: true, phase: undefined, want: 'Shutdown' },
    { name: 'neither VM nor VMI', vm: false, phase: undefined, want: 'Gone' },
  ];
  for (const tc of states) {
    it(`calls ${tc.name} ${tc.want}`, () => {
      const instance = tc.phase ? vmi('vm-a', { status: { phase: tc.phase as never } }) : undefined;
      expect(instanceState(tc.vm ? { metadata: { name: 'vm-a' } } : undefined, instance)).to.equal(tc.want);
    });
  }
});
