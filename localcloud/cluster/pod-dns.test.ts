import { expect } from 'chai';
import type { Pod } from './pod-api.js';
import { podResolvConf, type ClusterDNS } from './pod-dns.js';

const cluster: ClusterDNS = { nameservers: ['10.95.0.10'], domain: 'cluster.local' };
const pod = (spec: Partial<Pod['spec']>): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [], ...spec } });
const clusterFirst = 'nameserver 10.95.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n';

describe('pod resolv.conf from dnsPolicy and dnsConfig', () => {
  const cases: { name: string; pod: Pod; cluster?: ClusterDNS; want: string | undefined }[] = [
    { name: 'ClusterFirst by default: the DNS Service, the namespace searched first', pod: pod({}), cluster, want: clusterFirst },
    { name: 'hostNetwork with ClusterFirst keeps the machine file', pod: pod({ hostNetwork: true }), cluster, want: undefined },
    { name: 'ClusterFirstWithHostNet asks the cluster even on the host network', pod: pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster, want: clusterFirst },
    { name: 'Default keeps the machine file', pod: pod({ dnsPolicy: 'Default' }), cluster, want: undefined },
    { name: 'ClusterFirst on a node without cluster DNS falls back to the machine file', pod: pod({}), want: undefined },
    {
      name: 'dnsConfig adds nameservers and searches and overrides an option of the same name',
      pod: pod({ dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }),
      cluster,
      want: 'nameserver 10.95.0.10\nnameserver 1.1.1.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:2 edns0\n',
    },
    { name: 'None uses dnsConfig alone', pod: pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'] } }), cluster, want: 'nameserver 9.9.9.9\n' },
    {
      name: 'at most three nameservers, as glibc reads',
      pod: pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'] } }),
      cluster,
      want: 'nameserver 10.95.0.10\nnameserver 1.1.1.1\nnameserver 2.2.2.2\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(podResolvConf(tc.pod, tc.cluster)).to.equal(tc.want);
    });
  }
});
