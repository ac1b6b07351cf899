import { expect } from 'chai';
import type { Node, Service } from '../../../lib/apis/core.js';
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { FakeApiServer } from '../../../lib/testing/fake-apiserver.js';
import type { KubevirtCluster } from '../api/index.js';
import { desiredControlPlaneService, endpointFromService } from './control-plane-service.js';
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

  // The Service is applied with the toolkit's applyIfChanged; these are the template edits a user makes.
  const templateEdits: { name: string; from: KubevirtCluster['spec']; to: KubevirtCluster['spec']; check: (svc: Service | undefined) => void }[] = [
    {
      name: 'a label removed from the template',
      from: { controlPlaneServiceTemplate: { metadata: { labels: { team: 'blue' } } } },
      to: {},
      check: (svc) => expect(svc?.metadata.labels).to.deep.equal({ 'cluster.x-k8s.io/cluster-name': 'acme' }),
    },
    {
      name: 'every annotation removed from the template',
      from: { controlPlaneServiceTemplate: { metadata: { annotations: { 'lb.example.com/internal': 'true' } } } },
      to: { controlPlaneServiceTemplate: {} },
      check: (svc) => expect(svc?.metadata.annotations).to.not.have.property('lb.example.com/internal'),
    },
    {
      name: 'a type dropped back to the default',
      from: { controlPlaneServiceTemplate: { spec: { type: 'LoadBalancer' } } },
      to: {},
      check: (svc) => expect(svc?.spec?.type).to.equal('ClusterIP'),
    },
  ];
  for (const tc of templateEdits) {
    it(`takes ${tc.name} off the live Service with one write, and writes nothing after`, async () => {
      const api = new FakeApiServer().serve({ apiVersion: 'v1', kind: 'Service', resource: 'services', namespaced: true });
      const client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'kvcloud-infrastructure' });
      await applyIfChanged(client, desiredControlPlaneService(kc(tc.from), 'acme', 'infra'));
      const before = api.writes().length;
      await applyIfChanged(client, desiredControlPlaneService(kc(tc.to), 'acme', 'infra'));
      await applyIfChanged(client, desiredControlPlaneService(kc(tc.to), 'acme', 'infra'));
      expect(api.writes().length - before).to.equal(1);
      tc.check(api.peek('v1', 'Service', 'infra/acme-lb') as Service | undefined);
    });
  }

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
