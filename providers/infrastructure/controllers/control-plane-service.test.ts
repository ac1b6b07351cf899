import { expect } from 'chai';
import type { Node, Service } from '../../../lib/apis/core.js';
import type { KubevirtCluster } from '../api/index.js';
import { desiredControlPlaneService, endpointFromService, serviceUpToDate } from './control-plane-service.js';
import { failureDomainsFromNodes } from './failure-domains.js';

const kc = (spec: KubevirtCluster['spec'] = {}): KubevirtCluster => ({ apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1', kind: 'KubevirtCluster', metadata: { name: 'acme', namespace: 'ns' }, spec });
const node = (name: string, zone?: string, ip?: string): Node => ({
  metadata: { name, ...(zone ? { labels: { 'topology.kubernetes.io/zone': zone } } : {}) },
  status: { addresses: ip ? [{ type: 'InternalIP', address: ip }] : [] },
});

describe('providers/infrastructure/controllers: control-plane Service', () => {
  it('selects the control-plane VMs of the cluster on the configured port, targeting 6443', () => {
    const svc = desiredControlPlaneService(kc({ controlPlaneServiceTemplate: { metadata: { labels: { a: 'b' } }, spec: { type: 'LoadBalancer', port: 443 } } }), 'acme', 'infra');
    expect(svc.metadata).to.deep.include({ name: 'acme-lb', namespace: 'infra', labels: { a: 'b', 'cluster.x-k8s.io/cluster-name': 'acme' } });
    expect(svc.spec).to.deep.equal({
      type: 'LoadBalancer',
      selector: { 'cluster.x-k8s.io/cluster-name': 'acme', 'cluster.x-k8s.io/role': 'control-plane' },
      ports: [{ name: 'api-server', protocol: 'TCP', port: 443, targetPort: 6443 }],
    });
  });

  it('sees a live Service with server-filled fields as up to date, and a changed type as not', () => {
    const desired = desiredControlPlaneService(kc(), 'acme', 'ns');
    const live: Service = {
      ...desired,
      metadata: { ...desired.metadata, uid: 'u', labels: { ...desired.metadata.labels, extra: 'x' } },
      spec: { ...desired.spec, clusterIP: '10.96.0.10', ports: [{ name: 'api-server', port: 6443, targetPort: 6443 }] },
    };
    expect(serviceUpToDate(live, desired)).to.equal(true);
    expect(serviceUpToDate({ ...live, spec: { ...live.spec, type: 'NodePort' } }, desired)).to.equal(false);
  });

  const endpoints: { name: string; svc: Service; nodes?: Node[]; want: { host: string; port: number } | undefined }[] = [
    { name: 'LoadBalancer ingress IP', svc: { metadata: {}, spec: { type: 'LoadBalancer', ports: [{ port: 6443 }] }, status: { loadBalancer: { ingress: [{ ip: '10.255.255.7' }] } } }, want: { host: '10.255.255.7', port: 6443 } },
    { name: 'LoadBalancer ingress hostname', svc: { metadata: {}, spec: { type: 'LoadBalancer', ports: [{ port: 6443 }] }, status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } } }, want: { host: 'lb.example.com', port: 6443 } },
    { name: 'LoadBalancer without ingress yet', svc: { metadata: {}, spec: { type: 'LoadBalancer', ports: [{ port: 6443 }] } }, want: undefined },
    { name: 'NodePort on an infra node address', svc: { metadata: {}, spec: { type: 'NodePort', ports: [{ port: 6443, nodePort: 31443 }] } }, nodes: [node('a', 'z', '10.0.0.4')], want: { host: '10.0.0.4', port: 31443 } },
    { name: 'ClusterIP', svc: { metadata: {}, spec: { type: 'ClusterIP', clusterIP: '10.96.3.4', ports: [{ port: 6443 }] } }, want: { host: '10.96.3.4', port: 6443 } },
    { name: 'headless', svc: { metadata: {}, spec: { clusterIP: 'None', ports: [{ port: 6443 }] } }, want: undefined },
  ];
  for (const tc of endpoints) it(`takes the endpoint from ${tc.name}`, () => { expect(endpointFromService(tc.svc, tc.nodes ?? [])).to.deep.equal(tc.want); });

  it('reports one failure domain per infra zone, sorted, ignoring nodes without a zone', () => {
    expect(failureDomainsFromNodes([node('1', 'zone-b'), node('2', 'zone-a'), node('3', 'zone-b'), node('4')])).to.deep.equal([
      { name: 'zone-a', controlPlane: true },
      { name: 'zone-b', controlPlane: true },
    ]);
  });
});
