import { expect } from 'chai';
import { isOurLoadBalancer, requestedIP, type IPRequest } from './loadbalancer-service.js';
import type { Service } from './service-api.js';

const CLASS = 'kvcloud.io/local-lb';

function service(spec: Service['spec'], annotations?: Record<string, string>): Service {
  return { metadata: { namespace: 'ns', name: 'web', ...(annotations ? { annotations } : {}) }, spec };
}

describe('service-proxy/loadbalancer-service', () => {
  const ownership: { name: string; spec: Service['spec']; ours: boolean }[] = [
    { name: 'a LoadBalancer without a class', spec: { type: 'LoadBalancer' }, ours: true },
    { name: 'a LoadBalancer of our class', spec: { type: 'LoadBalancer', loadBalancerClass: CLASS }, ours: true },
    { name: 'a LoadBalancer of another class', spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other' }, ours: false },
    { name: 'a NodePort Service', spec: { type: 'NodePort' }, ours: false },
    { name: 'a Service without a type (ClusterIP)', spec: {}, ours: false },
  ];
  for (const tc of ownership) {
    it(`${tc.ours ? 'serves' : 'leaves alone'} ${tc.name}`, () => {
      expect(isOurLoadBalancer(service(tc.spec), CLASS)).to.equal(tc.ours);
    });
  }

  const requests: { name: string; svc: Service; want: IPRequest | RegExp }[] = [
    { name: 'nothing requested: any IP', svc: service({ type: 'LoadBalancer' }), want: { kind: 'any' } },
    { name: 'spec.loadBalancerIP', svc: service({ type: 'LoadBalancer', loadBalancerIP: '10.255.255.9' }), want: { kind: 'ip', ip: '10.255.255.9' } },
    {
      name: 'the MetalLB annotation, IPv6 entry skipped',
      svc: service({ type: 'LoadBalancer' }, { 'metallb.io/loadBalancerIPs': '10.255.255.7, fd00::7' }),
      want: { kind: 'ip', ip: '10.255.255.7' },
    },
    {
      name: 'the kube-vip annotation agreeing with spec.loadBalancerIP',
      svc: service({ type: 'LoadBalancer', loadBalancerIP: '10.255.255.8' }, { 'kube-vip.io/loadbalancerIPs': '10.255.255.8' }),
      want: { kind: 'ip', ip: '10.255.255.8' },
    },
    {
      name: 'an annotation disagreeing with spec.loadBalancerIP',
      svc: service({ type: 'LoadBalancer', loadBalancerIP: '10.255.255.8' }, { 'metallb.universe.tf/loadBalancerIPs': '10.255.255.9' }),
      want: /conflicting IPv4 requests 10.255.255.9, 10.255.255.8 \(annotation metallb.universe.tf\/loadBalancerIPs, spec.loadBalancerIP\)/,
    },
    {
      name: 'a malformed address',
      svc: service({ type: 'LoadBalancer', loadBalancerIP: '10.255.255' }),
      want: /spec.loadBalancerIP: "10.255.255" is not an IPv4 address/,
    },
  ];
  for (const tc of requests) {
    it(`reads the requested IP: ${tc.name}`, () => {
      const got = requestedIP(tc.svc);
      if (tc.want instanceof RegExp) {
        expect(got.kind).to.equal('invalid');
        expect(got.kind === 'invalid' ? got.message : '').to.match(tc.want);
      } else {
        expect(got).to.deep.equal(tc.want);
      }
    });
  }
});
