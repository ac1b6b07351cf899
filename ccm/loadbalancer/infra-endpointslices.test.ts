import { expect } from 'chai';
import type { Service } from '../../lib/apis/core.js';
import type { EndpointSlice } from '../../lib/apis/discovery.js';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { buildInfraEndpointSlices, defaultAddress, infraSliceName, nodesWithReadyEndpoints } from './infra-endpointslices.js';

function vmi(name: string, ips: string[], phase: 'Running' | 'Succeeded' = 'Running', extra: VirtualMachineInstance['status'] = {}): VirtualMachineInstance {
  return {
    metadata: { name, namespace: 'tenant-acme', uid: `uid-${name}` },
    status: { phase, nodeName: 'infra-a', interfaces: [{ name: 'secondary', ipAddress: '192.168.9.9' }, { name: 'default', ipAddress: ips[0], ipAddresses: ips }], ...extra },
  };
}

const infra = (ipFamilies?: ('IPv4' | 'IPv6')[]): Service => ({
  metadata: {
    name: 'a1234',
    namespace: 'tenant-acme',
    uid: 'infra-uid',
    labels: { 'cluster.x-k8s.io/tenant-service-name': 'web', 'cluster.x-k8s.io/tenant-service-namespace': 'shop', 'cluster.x-k8s.io/cluster-name': 'acme' },
  },
  spec: { type: 'LoadBalancer', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 31080 }], ...(ipFamilies ? { ipFamilies } : {}) },
});

const slice = (endpoints: EndpointSlice['endpoints']): EndpointSlice => ({ metadata: { name: 'web-x' }, addressType: 'IPv4', endpoints });

describe('infra EndpointSlice builder', () => {
  const readyCases: { name: string; slices: EndpointSlice[]; want: string[] }[] = [
    { name: 'ready and unset-ready endpoints count, not-ready ones do not', slices: [slice([{ addresses: ['10.0.0.1'], nodeName: 'vm-1', conditions: { ready: true } }, { addresses: ['10.0.0.2'], nodeName: 'vm-2', conditions: { ready: false } }, { addresses: ['10.0.0.3'], nodeName: 'vm-3' }])], want: ['vm-1', 'vm-3'] },
    { name: 'a node with several endpoints across slices is listed once', slices: [slice([{ addresses: ['10.0.0.1'], nodeName: 'vm-1' }]), slice([{ addresses: ['10.0.0.4'], nodeName: 'vm-1' }])], want: ['vm-1'] },
    { name: 'endpoints without a node and empty slices are ignored', slices: [slice([{ addresses: ['10.0.0.1'] }]), slice(null)], want: [] },
  ];
  for (const tc of readyCases) it(`ready nodes: ${tc.name}`, () => expect(nodesWithReadyEndpoints(tc.slices)).to.deep.equal(tc.want));

  const addressCases: { name: string; vmi: VirtualMachineInstance; family: 'IPv4' | 'IPv6'; want: string | undefined }[] = [
    { name: 'the default interface, not another', vmi: vmi('vm-1', ['10.244.1.5']), family: 'IPv4', want: '10.244.1.5' },
    { name: 'the family asked for, link-local left out', vmi: vmi('vm-1', ['10.244.1.5', 'fe80::1', 'fd00::5']), family: 'IPv6', want: 'fd00::5' },
    { name: 'nothing when the family is missing', vmi: vmi('vm-1', ['10.244.1.5']), family: 'IPv6', want: undefined },
    { name: 'nothing before the VMI reports interfaces', vmi: { metadata: { name: 'vm-1' }, status: { phase: 'Scheduled' } }, family: 'IPv4', want: undefined },
  ];
  for (const tc of addressCases) it(`default address: ${tc.name}`, () => expect(defaultAddress(tc.vmi, tc.family)).to.equal(tc.want));

  it('lists each VM once per family with its readiness, forwards to the NodePorts, and is owned by the infra Service', () => {
    const slices = buildInfraEndpointSlices(infra(['IPv4', 'IPv6']), [vmi('vm-2', ['10.244.2.5', 'fd00::2'], 'Succeeded'), vmi('vm-1', ['10.244.1.5', 'fd00::1'])], 'acme');
    expect(slices.map((s) => `${s.metadata.name ?? ''} ${s.addressType}`)).to.deep.equal(['a1234-ipv4 IPv4', 'a1234-ipv6 IPv6']);
    const [v4, v6] = slices;
    expect(v4?.endpoints?.map((e) => e.addresses[0])).to.deep.equal(['10.244.1.5', '10.244.2.5']);
    expect(v6?.endpoints?.map((e) => e.addresses[0])).to.deep.equal(['fd00::1', 'fd00::2']);
    expect(v4?.endpoints?.[0]).to.deep.equal({
      addresses: ['10.244.1.5'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'infra-a',
      targetRef: { kind: 'VirtualMachineInstance', namespace: 'tenant-acme', name: 'vm-1', uid: 'uid-vm-1' },
    });
    expect(v4?.endpoints?.[1]?.conditions).to.deep.equal({ ready: false, serving: false, terminating: true });
    expect(v4?.ports).to.deep.equal([{ name: 'http', protocol: 'TCP', port: 31080 }]);
    expect(v4?.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'v1', kind: 'Service', name: 'a1234', uid: 'infra-uid', controller: true, blockOwnerDeletion: true }]);
    expect(v4?.metadata.labels).to.deep.equal({
      'kubernetes.io/service-name': 'a1234',
      'endpointslice.kubernetes.io/managed-by': 'kubevirt-eps-controller',
      'cluster.x-k8s.io/cluster-name': 'acme',
      'cluster.x-k8s.io/tenant-service-name': 'web',
      'cluster.x-k8s.io/tenant-service-namespace': 'shop',
    });
  });

  it('keeps one empty slice per family when no VM hosts a ready endpoint, so the names stay put', () => {
    const slices = buildInfraEndpointSlices(infra(), [], 'acme');
    expect(slices.map((s) => [s.metadata.name, s.endpoints])).to.deep.equal([['a1234-ipv4', []]]);
  });

  it('splits past the API limit of 1000 endpoints per slice into deterministic names', () => {
    const many = Array.from({ length: 1001 }, (_, i) => vmi(`vm-${String(i).padStart(4, '0')}`, [`10.1.${String(Math.floor(i / 250))}.${String(i % 250)}`]));
    const slices = buildInfraEndpointSlices(infra(), many, 'acme');
    expect(slices.map((s) => [s.metadata.name, s.endpoints?.length])).to.deep.equal([['a1234-ipv4', 1000], ['a1234-ipv4-1', 1]]);
    expect(infraSliceName('a1234', 'IPv6', 2)).to.equal('a1234-ipv6-2');
  });
});
