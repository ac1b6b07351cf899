import { expect } from 'chai';
import { selectEndpoints, type Endpoint, type PortSelector } from './endpoint-selection.js';
import type { EndpointSlice, SliceEndpoint } from './service-api.js';

const HTTP: PortSelector = { name: 'http', protocol: 'TCP' };

function slice(endpoints: SliceEndpoint[], ports: EndpointSlice['ports'] = [{ name: 'http', protocol: 'TCP', port: 8080 }], addressType: EndpointSlice['addressType'] = 'IPv4'): EndpointSlice {
  return { metadata: { namespace: 'ns', name: `web-${Math.random().toString(36).slice(2, 7)}` }, addressType, endpoints, ports };
}

const ep = (ip: string, conditions?: SliceEndpoint['conditions']): SliceEndpoint => ({ addresses: [ip], ...(conditions ? { conditions } : {}) });

describe('service-proxy/endpoint-selection', () => {
  const cases: { name: string; slices: EndpointSlice[]; port?: PortSelector; node?: string; want: Endpoint[] }[] = [
    {
      name: 'ready endpoints, unset conditions counting as ready, sorted by address',
      slices: [slice([ep('10.244.0.12', { ready: true }), ep('10.244.0.3')])],
      want: [{ ip: '10.244.0.3', port: 8080 }, { ip: '10.244.0.12', port: 8080 }],
    },
    {
      name: 'not-ready endpoints get no traffic',
      slices: [slice([ep('10.244.0.3', { ready: false }), ep('10.244.0.4', { ready: true })])],
      want: [{ ip: '10.244.0.4', port: 8080 }],
    },
    {
      name: 'serving terminating endpoints only when none is ready (KEP-1669)',
      slices: [slice([ep('10.244.0.3', { ready: false, serving: true, terminating: true }), ep('10.244.0.4', { ready: false, serving: false, terminating: true })])],
      want: [{ ip: '10.244.0.3', port: 8080 }],
    },
    {
      name: 'terminating endpoints are ignored while a ready one exists',
      slices: [slice([ep('10.244.0.3', { ready: false, serving: true, terminating: true }), ep('10.244.0.4')])],
      want: [{ ip: '10.244.0.4', port: 8080 }],
    },
    {
      name: 'the slice port matching the Service port by name gives the target port',
      slices: [slice([ep('10.244.0.3')], [{ name: 'metrics', protocol: 'TCP', port: 9090 }, { name: 'http', protocol: 'TCP', port: 8080 }])],
      want: [{ ip: '10.244.0.3', port: 8080 }],
    },
    {
      name: 'an unnamed Service port matches the unnamed slice port, protocol defaulting to TCP',
      slices: [slice([ep('10.244.0.3')], [{ port: 80 }])],
      port: { name: '', protocol: 'TCP' },
      want: [{ ip: '10.244.0.3', port: 80 }],
    },
    {
      name: 'a slice port of another protocol does not match',
      slices: [slice([ep('10.244.0.3')], [{ name: 'http', protocol: 'UDP', port: 8080 }])],
      want: [],
    },
    {
      name: 'a slice without the port contributes nothing',
      slices: [slice([ep('10.244.0.3')], [{ name: 'grpc', port: 9000 }]), slice([ep('10.244.0.4')])],
      want: [{ ip: '10.244.0.4', port: 8080 }],
    },
    {
      name: 'the same endpoint in two slices is used once',
      slices: [slice([ep('10.244.0.3')]), slice([ep('10.244.0.3')])],
      want: [{ ip: '10.244.0.3', port: 8080 }],
    },
    {
      name: 'IPv6 and FQDN slices are skipped',
      slices: [slice([ep('fd00::3')], undefined, 'IPv6'), slice([ep('web.example.com')], undefined, 'FQDN')],
      want: [],
    },
    {
      name: "only the node's own endpoints for a traffic policy Local",
      slices: [slice([{ ...ep('10.243.0.3'), nodeName: 'vm1' }, { ...ep('10.243.1.3'), nodeName: 'vm2' }, ep('10.243.2.3')])],
      node: 'vm1',
      want: [{ ip: '10.243.0.3', port: 8080 }],
    },
    {
      name: "the node's serving terminating endpoints when none of its own is ready, even while another node has a ready one",
      slices: [slice([{ ...ep('10.243.0.3', { ready: false, serving: true, terminating: true }), nodeName: 'vm1' }, { ...ep('10.243.1.3'), nodeName: 'vm2' }])],
      node: 'vm1',
      want: [{ ip: '10.243.0.3', port: 8080 }],
    },
    { name: 'no slices: no endpoints', slices: [], want: [] },
    { name: 'a slice whose endpoints are null', slices: [{ ...slice([]), endpoints: null }], want: [] },
  ];
  for (const tc of cases) {
    it(`selects ${tc.name}`, () => {
      expect(selectEndpoints(tc.slices, tc.port ?? HTTP, tc.node)).to.deep.equal(tc.want);
    });
  }
});
