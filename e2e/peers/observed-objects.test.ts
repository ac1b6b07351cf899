import { expect } from 'chai';
import { differences, observe, runSpecific, type Observable } from './observed-objects.js';

const vm = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): Observable => ({
  kind: 'VirtualMachine',
  metadata: { name, labels, annotations, ownerReferences: [{ apiVersion: 'x/v1', kind: 'KubevirtMachine', name, uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' }] },
});

describe('observed objects of two providers', () => {
  const placeholders = runSpecific('acme');

  it('replaces generated Machine names, UIDs, addresses and times, so two runs of the same work compare equal', () => {
    const one = observe([vm('acme-md-0-x7k2p-abcde', { node: 'acme-md-0-x7k2p-abcde' }, { seen: '10.244.1.7 at 2026-12-07T19:00:00Z' })], placeholders);
    const two = observe([vm('acme-md-0-q9z4r-vwxyz', { node: 'acme-md-0-q9z4r-vwxyz' }, { seen: '10.244.2.9 at 2026-12-07T19:03:11.5Z' })], placeholders);
    expect([...one.keys()]).to.deep.equal(['VirtualMachine <md-0-machine>']);
    expect(differences({ name: 'a', observed: one }, { name: 'b', observed: two })).to.deep.equal([]);
    expect(one.get('VirtualMachine <md-0-machine>')?.get('annotation seen')).to.equal('<ip> at <time>');
  });

  it('lists what only one provider makes and every field that differs, and merges the Machines of one pool', () => {
    const capk = observe(
      [
        vm('acme-md-0-x7k2p-abcde', { role: 'worker', zone: 'a' }),
        vm('acme-md-0-x7k2p-fghij', { role: 'worker', zone: 'b' }),
        { kind: 'Secret', metadata: { name: 'acme-ssh-keys' }, type: 'Opaque', data: { pub: 'x', key: 'y' } },
      ],
      placeholders,
    );
    const ours = observe([vm('acme-md-0-x7k2p-abcde', { role: 'worker', zone: 'a', extra: 'yes' }), vm('acme-md-0-x7k2p-fghij', { role: 'worker', zone: 'a' })], placeholders);
    expect(differences({ name: 'CAPK', observed: capk }, { name: 'kvcloud', observed: ours })).to.deep.equal([
      'Secret acme-ssh-keys: only CAPK makes it',
      'VirtualMachine <md-0-machine>: label extra: CAPK (none), kvcloud "<absent> | yes"',
      'VirtualMachine <md-0-machine>: label zone: CAPK "a | b", kvcloud "a"',
    ]);
  });

  it('replaces MachineSet suffixes in labels and compares status fields and conditions, not their times', () => {
    const km = (set: string, time: string): Observable => ({
      kind: 'KubevirtMachine',
      metadata: { name: `${set}-abcde`, labels: { 'cluster.x-k8s.io/set-name': set, 'machine-template-hash': `3265737548-${set.slice(-5)}` } },
      status: { ready: true, conditions: [{ type: 'Ready', status: 'True' }], lastSeen: time },
    });
    const one = observe([km('acme-md-0-65ssn', '2026-12-07T19:00:00Z')], placeholders);
    const two = observe([km('acme-md-0-2ktp6', '2026-12-07T19:05:00Z')], placeholders);
    expect(differences({ name: 'a', observed: one }, { name: 'b', observed: two })).to.deep.equal([]);
    expect(Object.fromEntries(one.get('KubevirtMachine <md-0-machine>') ?? [])).to.deep.equal({
      'label cluster.x-k8s.io/set-name': '<md-0-machineset>',
      'label machine-template-hash': '3265737548-<machineset-suffix>',
      'status fields': 'conditions,lastSeen,ready',
      'status.conditions Ready': 'True',
    });
  });

  it('keeps Secret keys and Service shapes, and only the presence of opaque values', () => {
    const observed = observe(
      [
        { kind: 'Secret', metadata: { name: 's', annotations: { last: '{"a":1}', hash: 'bb4087daec2a20a4ed7b3e67138a76ca' } }, type: 'cluster.x-k8s.io/secret', data: { value: 'x', format: 'y' } },
        { kind: 'Service', metadata: { name: 'acme-lb' }, spec: { type: 'ClusterIP', selector: { b: '2', a: '1' }, ports: [{ port: 6443, targetPort: 6443 }] } },
      ],
      placeholders,
    );
    expect(Object.fromEntries(observed.get('Secret s') ?? [])).to.deep.equal({ 'annotation last': '<opaque>', 'annotation hash': '<opaque>', type: 'cluster.x-k8s.io/secret', 'data keys': 'format,value' });
    expect(Object.fromEntries(observed.get('Service acme-lb') ?? [])).to.deep.equal({ 'spec.type': 'ClusterIP', 'spec.selector': 'a=1,b=2', 'spec.ports ': '6443->6443/TCP' });
  });
});
