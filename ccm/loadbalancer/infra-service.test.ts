import { expect } from 'chai';
import type { Service } from '../../lib/apis/core.js';
import { defaultCloudConfig } from '../config/cloud-config.js';
import { buildInfraService, infraServiceName, ownership, tenantIngress, tenantKeyOf, type InfraServiceOptions } from './infra-service.js';

const UID = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';

function tenantService(spec: Service['spec'] = {}, metadata: Partial<Service['metadata']> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: UID, ...metadata },
    spec: { type: 'LoadBalancer', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31080 }], ...spec },
  };
}

const options = (over: Partial<InfraServiceOptions> = {}): InfraServiceOptions => ({
  namespace: 'tenant-acme',
  clusterName: 'acme',
  loadBalancer: defaultCloudConfig().loadBalancer,
  infraLabels: {},
  infraAnnotations: {},
  infraClass: undefined,
  ...over,
});

describe('infra Service builder', () => {
  it("names the infra Service as Kubernetes' DefaultLoadBalancerName does, so upstream's Services are found again", () => {
    expect(infraServiceName(tenantService())).to.equal('a3f2a9c1e5b7d4e8f9a0b1c2d3e4f5a6');
    expect(infraServiceName(tenantService())).to.have.length(32);
  });

  const cases: { name: string; tenant: Service; opts?: Partial<InfraServiceOptions>; check: (svc: Service) => void }[] = [
    {
      name: 'maps each port to the tenant NodePort and selects the worker VMs of the cluster',
      tenant: tenantService(),
      check: (svc) => {
        expect(svc.spec?.ports).to.deep.equal([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 31080 }]);
        expect(svc.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': 'acme' });
        expect(svc.spec?.type).to.equal('LoadBalancer');
      },
    },
    {
      name: 'labels it with the tenant Service and cluster, over tenant labels and infraLabels',
      tenant: tenantService({}, { labels: { app: 'web', 'cluster.x-k8s.io/cluster-name': 'spoofed' } }),
      opts: { infraLabels: { team: 'blue', app: 'infra-wins' } },
      check: (svc) =>
        expect(svc.metadata.labels).to.deep.equal({
          app: 'infra-wins',
          team: 'blue',
          'cluster.x-k8s.io/tenant-service-name': 'web',
          'cluster.x-k8s.io/tenant-service-namespace': 'shop',
          'cluster.x-k8s.io/cluster-name': 'acme',
        }),
    },
    {
      name: 'carries tenant annotations, lets infraAnnotations win, and drops kubectl last-applied',
      tenant: tenantService({}, { annotations: { 'example.com/a': '1', 'example.com/owner': 'tenant', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
      opts: { infraAnnotations: { 'example.com/owner': 'operator' } },
      check: (svc) => expect(svc.metadata.annotations).to.deep.equal({ 'example.com/a': '1', 'example.com/owner': 'operator' }),
    },
    {
      name: 'carries traffic policy, requested IPs, source ranges, IP families and node port allocation',
      tenant: tenantService({
        externalTrafficPolicy: 'Local',
        loadBalancerIP: '192.0.2.10',
        externalIPs: ['192.0.2.11'],
        loadBalancerSourceRanges: ['10.0.0.0/8'],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        allocateLoadBalancerNodePorts: true,
        clusterIP: '10.96.0.9',
      }),
      check: (svc) =>
        expect(svc.spec).to.deep.include({
          externalTrafficPolicy: 'Local',
          loadBalancerIP: '192.0.2.10',
          externalIPs: ['192.0.2.11'],
          loadBalancerSourceRanges: ['10.0.0.0/8'],
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          allocateLoadBalancerNodePorts: true,
        }).and.not.have.property('clusterIP'),
    },
    {
      name: 'has no selector when selectorless',
      tenant: tenantService(),
      opts: { loadBalancer: { ...defaultCloudConfig().loadBalancer, selectorless: true } },
      check: (svc) => expect(svc.spec).to.not.have.property('selector'),
    },
    {
      name: 'has no selector for externalTrafficPolicy Local when the EndpointSlice controller fills its endpoints',
      tenant: tenantService({ externalTrafficPolicy: 'Local' }),
      opts: { loadBalancer: { ...defaultCloudConfig().loadBalancer, enableEPSController: true } },
      check: (svc) => expect(svc.spec).to.not.have.property('selector'),
    },
    {
      name: 'keeps the worker selector for externalTrafficPolicy Cluster with the EndpointSlice controller, as upstream',
      tenant: tenantService({ externalTrafficPolicy: 'Cluster' }),
      opts: { loadBalancer: { ...defaultCloudConfig().loadBalancer, enableEPSController: true } },
      check: (svc) => expect(svc.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': 'acme' }),
    },
    {
      name: 'keeps the worker selector for externalTrafficPolicy Local without the EndpointSlice controller',
      tenant: tenantService({ externalTrafficPolicy: 'Local' }),
      opts: {},
      check: (svc) => expect(svc.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': 'acme' }),
    },
    {
      name: 'refuses tenant labels and annotations in Cluster API\'s namespace and IP-sharing annotations, keeps the rest',
      tenant: tenantService({}, {
        labels: { team: 'blue', 'cluster.x-k8s.io/cluster-name': 'globex', 'cluster.x-k8s.io/role': 'worker' },
        annotations: { 'example.com/tier': 'gold', 'metallb.universe.tf/allow-shared-ip': 'k', 'cluster.x-k8s.io/tenant-service-name': 'x' },
      }),
      opts: {},
      check: (svc) => {
        expect(svc.metadata.labels).to.include({ team: 'blue', 'cluster.x-k8s.io/cluster-name': 'acme' }).and.not.have.property('cluster.x-k8s.io/role');
        expect(svc.metadata.annotations).to.deep.equal({ 'example.com/tier': 'gold' });
      },
    },
    {
      name: 'asks for the mapped infra class',
      tenant: tenantService({ loadBalancerClass: 'kvcloud.io/internal' }),
      opts: { infraClass: 'infra.example.com/internal' },
      check: (svc) => expect(svc.spec?.loadBalancerClass).to.equal('infra.example.com/internal'),
    },
  ];
  for (const tc of cases) it(tc.name, () => { tc.check(buildInfraService(tc.tenant, options(tc.opts))); });

  const classes = { 'kvcloud.io/kubevirt': '', 'kvcloud.io/internal': 'infra.example.com/internal' };
  const owners: { name: string; spec: Service['spec']; want: ReturnType<typeof ownership> }[] = [
    { name: 'a class-less LoadBalancer is ours', spec: { type: 'LoadBalancer' }, want: { ours: true, infraClass: undefined } },
    { name: 'a listed class mapped to "" uses the infra default', spec: { type: 'LoadBalancer', loadBalancerClass: 'kvcloud.io/kubevirt' }, want: { ours: true, infraClass: undefined } },
    { name: 'a listed class maps to its infra class', spec: { type: 'LoadBalancer', loadBalancerClass: 'kvcloud.io/internal' }, want: { ours: true, infraClass: 'infra.example.com/internal' } },
    { name: 'an unlisted class is foreign', spec: { type: 'LoadBalancer', loadBalancerClass: 'metallb.io/metallb' }, want: { ours: false, why: 'ForeignClass' } },
    { name: 'a NodePort Service is none of ours', spec: { type: 'NodePort' }, want: { ours: false, why: 'NotLoadBalancer' } },
  ];
  for (const tc of owners) it(`ownership: ${tc.name}`, () => expect(ownership(tenantService(tc.spec), classes)).to.deep.equal(tc.want));

  it('shows the infra ingress on the tenant Service without infra port details', () => {
    const infra: Service = { metadata: {}, status: { loadBalancer: { ingress: [{ ip: '192.0.2.5', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP', error: 'x' }] }, { hostname: 'lb.example.com' }, {}] } } };
    expect(tenantIngress(infra)).to.deep.equal([{ ip: '192.0.2.5', ipMode: 'VIP' }, { hostname: 'lb.example.com' }]);
  });

  it('maps an infra Service back to its tenant Service only for our cluster', () => {
    const infra = buildInfraService(tenantService(), options());
    expect(tenantKeyOf(infra, 'acme')).to.equal('shop/web');
    expect(tenantKeyOf(infra, 'other')).to.equal(undefined);
  });
});
