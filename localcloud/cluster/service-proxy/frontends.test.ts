import { expect } from 'chai';
import { serviceFrontends, type PortFrontends } from './frontends.js';
import type { Service } from './service-api.js';

const NODE = '10.244.0.1';

function service(spec: Service['spec'], status?: Service['status']): Service {
  return { metadata: { namespace: 'ns', name: 'web' }, spec, ...(status ? { status } : {}) };
}

describe('service-proxy/frontends', () => {
  const cases: { name: string; svc: Service; want: PortFrontends[] }[] = [
    {
      name: 'a ClusterIP Service listens on its ClusterIP only',
      svc: service({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80 }] }),
      want: [{ name: 'http', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 80 }] }],
    },
    {
      name: 'a NodePort Service adds node address:nodePort, per port and protocol',
      svc: service({
        type: 'NodePort',
        clusterIPs: ['10.96.0.10'],
        ports: [
          { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 },
          { name: 'http', port: 80, nodePort: 30080 },
        ],
      }),
      want: [
        { name: 'dns', protocol: 'UDP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 53 }, { kind: 'nodePort', ip: NODE, port: 30053 }] },
        { name: 'http', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 80 }, { kind: 'nodePort', ip: NODE, port: 30080 }] },
      ],
    },
    {
      name: 'a LoadBalancer Service adds its VIP ingress IPs but not Proxy-mode ones, and externalIPs',
      svc: service(
        { type: 'LoadBalancer', clusterIPs: ['10.96.0.10', 'fd00::10'], externalIPs: ['192.0.2.5'], ports: [{ port: 443, nodePort: 30443 }] },
        { loadBalancer: { ingress: [{ ip: '10.255.255.1', ipMode: 'VIP' }, { ip: '10.255.255.2', ipMode: 'Proxy' }, { hostname: 'lb.example.com' }] } },
      ),
      want: [
        {
          name: '',
          protocol: 'TCP',
          frontends: [
            { kind: 'clusterIP', ip: '10.96.0.10', port: 443 },
            { kind: 'nodePort', ip: NODE, port: 30443 },
            { kind: 'loadBalancer', ip: '10.255.255.1', port: 443 },
            { kind: 'externalIP', ip: '192.0.2.5', port: 443 },
          ],
        },
      ],
    },
    {
      name: 'a LoadBalancer without node ports (allocateLoadBalancerNodePorts=false) listens on no node address',
      svc: service({ type: 'LoadBalancer', clusterIPs: ['10.96.0.10'], ports: [{ port: 443 }] }),
      want: [{ name: '', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 443 }] }],
    },
    {
      name: 'ClientIP session affinity carries its timeout, three hours by default',
      svc: service({ clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
      want: [{ name: '', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 80 }], affinityTimeoutMs: 10_800_000 }],
    },
    {
      name: 'externalTrafficPolicy Local marks the addresses outside traffic arrives on, internalTrafficPolicy Local the ClusterIP',
      svc: service(
        { type: 'LoadBalancer', clusterIPs: ['10.96.0.10'], externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', ports: [{ port: 443, nodePort: 30443 }] },
        { loadBalancer: { ingress: [{ ip: '10.255.255.1' }] } },
      ),
      want: [
        {
          name: '',
          protocol: 'TCP',
          frontends: [
            { kind: 'clusterIP', ip: '10.96.0.10', port: 443 },
            { kind: 'nodePort', ip: NODE, port: 30443, local: true },
            { kind: 'loadBalancer', ip: '10.255.255.1', port: 443, local: true },
          ],
        },
      ],
    },
    {
      name: 'internalTrafficPolicy Local marks the ClusterIP only',
      svc: service({ type: 'NodePort', clusterIPs: ['10.96.0.10'], internalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30080 }] }),
      want: [{ name: '', protocol: 'TCP', frontends: [{ kind: 'clusterIP', ip: '10.96.0.10', port: 80, local: true }, { kind: 'nodePort', ip: NODE, port: 30080 }] }],
    },
    { name: 'a headless Service gets nothing', svc: service({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] }), want: [] },
    { name: 'an ExternalName Service gets nothing', svc: service({ type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }), want: [] },
    { name: 'SCTP ports are skipped', svc: service({ clusterIP: '10.96.0.10', ports: [{ protocol: 'SCTP', port: 9 }] }), want: [] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(serviceFrontends(tc.svc, [NODE])).to.deep.equal(tc.want);
    });
  }
});
