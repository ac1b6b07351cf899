import { expect } from 'chai';
import type { Node } from '../../localcloud/node-object.js';
import { podNetworkPlan, podRoutes, routeChanges } from './pod-network.js';

function node(name: string, podCIDR: string | undefined, internalIP: string | undefined): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: podCIDR ? { podCIDR } : {},
    status: {
      capacity: {},
      allocatable: {},
      conditions: [],
      addresses: internalIP ? [{ type: 'InternalIP', address: internalIP }, { type: 'Hostname', address: name }] : [{ type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {},
    },
  };
}

describe('guest pod network', () => {
  describe('podNetworkPlan', () => {
    const cases = [
      { name: 'a /24 from the tenant range', cidr: '10.243.1.0/24', want: { cidr: '10.243.1.0/24', gateway: '10.243.1.1', prefixLength: 24 } },
      { name: 'a CIDR written with host bits is made canonical', cidr: '10.243.2.7/24', want: { cidr: '10.243.2.0/24', gateway: '10.243.2.1', prefixLength: 24 } },
      { name: 'a /30 still leaves pod addresses', cidr: '10.243.3.0/30', want: { cidr: '10.243.3.0/30', gateway: '10.243.3.1', prefixLength: 30 } },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(podNetworkPlan(tc.cidr)).to.deep.equal(tc.want);
      });
    }

    const refused = [
      { name: 'IPv6, which the management pod network cannot carry', cidr: 'fd00:10::/64', message: /IPv4 only/ },
      { name: 'a /31, which leaves no pod address', cidr: '10.243.4.0/31', message: /leaves no address/ },
      { name: 'garbage', cidr: 'not-a-cidr', message: /not an IPv4 CIDR/ },
    ];
    for (const tc of refused) {
      it(`refuses ${tc.name}`, () => {
        expect(() => podNetworkPlan(tc.cidr)).to.throw(tc.message);
      });
    }
  });

  describe('podRoutes', () => {
    it("routes every other Node's podCIDR via its InternalIP, sorted, and never its own", () => {
      const nodes = [node('vm2', '10.243.2.0/24', '10.244.0.12'), node('vm1', '10.243.1.0/24', '10.244.0.11'), node('vm3', '10.243.3.0/24', '10.244.0.13')];
      expect(podRoutes(nodes, 'vm1', '10.244.0.11')).to.deep.equal([
        { cidr: '10.243.2.0/24', via: '10.244.0.12' },
        { cidr: '10.243.3.0/24', via: '10.244.0.13' },
      ]);
    });

    it('skips Nodes without a podCIDR or an InternalIP yet, and IPv6 ranges', () => {
      const nodes = [node('new', undefined, '10.244.0.20'), node('nameless', '10.243.5.0/24', undefined), node('v6', 'fd00::/64', '10.244.0.21')];
      expect(podRoutes(nodes, 'vm1', '10.244.0.11')).to.deep.equal([]);
    });

    it("skips a range that holds the VM's own address, which would cut the VM off its network", () => {
      const nodes = [node('odd', '10.244.0.0/24', '10.244.0.30')];
      expect(podRoutes(nodes, 'vm1', '10.244.0.11')).to.deep.equal([]);
    });
  });

  describe('routeChanges', () => {
    const a = { cidr: '10.243.1.0/24', via: '10.244.0.11' };
    const b = { cidr: '10.243.2.0/24', via: '10.244.0.12' };
    const bMoved = { cidr: '10.243.2.0/24', via: '10.244.0.99' };
    const cases = [
      { name: 'nothing to do in steady state', installed: [a, b], wanted: [a, b], want: { replace: [], remove: [] } },
      { name: 'adds a new Node', installed: [a], wanted: [a, b], want: { replace: [b], remove: [] } },
      { name: 'removes a deleted Node', installed: [a, b], wanted: [a], want: { replace: [], remove: [b] } },
      { name: 'replaces a range whose Node moved (a migrated VM)', installed: [a, b], wanted: [a, bMoved], want: { replace: [bMoved], remove: [] } },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(routeChanges(tc.installed, tc.wanted)).to.deep.equal(tc.want);
      });
    }
  });
});
