import { expect } from 'chai';
import { isTenantVM } from './vm-ownership.js';

describe('csi/controller/vm-ownership', () => {
  const vm = (labels?: Record<string, string>) => ({ metadata: labels ? { labels } : {} });
  const cases = [
    { name: "a VM of the tenant's Cluster", vm: vm({ 'cluster.x-k8s.io/cluster-name': 'acme' }), clusterName: 'acme', want: true },
    { name: "another Cluster's VM in the same namespace", vm: vm({ 'cluster.x-k8s.io/cluster-name': 'globex' }), clusterName: 'acme', want: false },
    { name: 'a VM no Cluster claims', vm: vm(), clusterName: 'acme', want: false },
    { name: 'a VM carrying the name under another key', vm: vm({ 'csi-driver/cluster': 'acme' }), clusterName: 'acme', want: false },
    { name: 'any VM when no cluster name is configured (a namespace of its own, as upstream runs)', vm: vm({ 'cluster.x-k8s.io/cluster-name': 'globex' }), clusterName: undefined, want: true },
  ];
  for (const tc of cases) it(`${tc.want ? 'accepts' : 'refuses'} ${tc.name}`, () => expect(isTenantVM(tc.vm, tc.clusterName)).to.equal(tc.want));
});
