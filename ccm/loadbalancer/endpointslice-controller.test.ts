import { expect } from 'chai';
import { SERVICE_TYPE, type Node, type Service } from '../../lib/apis/core.js';
import type { Endpoint, EndpointSlice } from '../../lib/apis/discovery.js';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { CcmEnv, CLUSTER, INFRA_NS } from '../reconcile-env.testdata.js';
import { EndpointSliceReconciler } from './endpointslice-controller.js';
import { infraServiceName } from './infra-service.js';
import { ServiceReconciler } from './service-controller.js';

const OTHER = 'globex';

function tenantService(name: string, policy: 'Local' | 'Cluster' = 'Local'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: policy, selector: { app: name }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 31080 }] },
  };
}

function vmi(name: string, ip: string, cluster = CLUSTER): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: INFRA_NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    status: { phase: 'Running', nodeName: 'infra-a', interfaces: [{ name: 'default', ipAddress: ip, ipAddresses: [ip] }] },
  };
}

const node = (name: string, labels: Record<string, string> = {}): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

/** The tenant's EndpointSlice for `service`: one endpoint per [node, ready]. */
function tenantSlice(service: string, endpoints: [string, boolean][]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-abcde`, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map(([nodeName, ready], i): Endpoint => ({ addresses: [`10.200.0.${String(i + 1)}`], nodeName, conditions: { ready } })),
  };
}

/** A tenant with its CCM's two load-balancer reconcilers; a second tenant shares the first one's infra cluster. */
class Tenant {
  readonly env: CcmEnv;
  readonly services: ServiceReconciler;
  readonly slices: EndpointSliceReconciler;

  constructor(clusterName: string, infraOf?: Tenant) {
    this.env = new CcmEnv(infraOf?.env.infraApi);
    this.env.config.loadBalancer.enableEPSController = true;
    const deps = { infra: this.env.infra, namespace: INFRA_NS, clusterName, config: this.env.config };
    this.services = new ServiceReconciler(deps);
    this.slices = new EndpointSliceReconciler(deps);
  }

  /** Serves `name` as the CCM would: finalizer, infra Service, then its slices; returns the slices pass. */
  async serve(name: string) {
    await this.env.pass(this.services, SERVICE_TYPE, { namespace: 'shop', name });
    const created = await this.env.pass(this.services, SERVICE_TYPE, { namespace: 'shop', name });
    if (created.error) throw created.error;
    return this.syncSlices(name);
  }

  async syncSlices(name: string) {
    const pass = await this.env.pass(this.slices, SERVICE_TYPE, { namespace: 'shop', name }, false);
    if (pass.error) throw pass.error;
    return pass;
  }

  infraName(name: string): string {
    const stored = this.env.tenantApi.peek('v1', 'Service', `shop/${name}`) as Service | undefined;
    return infraServiceName(stored ?? { metadata: {} });
  }

  infraSlice(name: string): EndpointSlice | undefined {
    return this.env.infraApi.peek('discovery.k8s.io/v1', 'EndpointSlice', `${INFRA_NS}/${this.infraName(name)}-ipv4`) as EndpointSlice | undefined;
  }
}

const addresses = (slice: EndpointSlice | undefined) => slice?.endpoints?.map((e) => e.addresses[0]);

describe('kubevirt-eps-controller', () => {
  let acme: Tenant;

  beforeEach(() => {
    acme = new Tenant(CLUSTER);
    for (const [name, ip] of [['vm-1', '10.244.1.5'], ['vm-2', '10.244.2.5'], ['vm-3', '10.244.3.5']] as const) {
      acme.env.infraApi.seed(vmi(name, ip));
      acme.env.tenantApi.seed(node(name));
    }
  });

  it('lists only the VMs hosting ready endpoints, follows a scale-down, never duplicates, writes nothing at steady state', async () => {
    acme.env.tenantApi.seed(tenantService('web'));
    acme.env.tenantApi.seed(tenantSlice('web', [['vm-1', true], ['vm-2', false], ['vm-3', true], ['vm-3', true]]));
    await acme.serve('web');
    const infra = acme.env.infraApi.peek('v1', 'Service', `${INFRA_NS}/${acme.infraName('web')}`) as Service | undefined;
    expect(infra?.spec).to.not.have.property('selector');
    const first = acme.infraSlice('web');
    expect(addresses(first)).to.deep.equal(['10.244.1.5', '10.244.3.5']);
    expect(first?.metadata.ownerReferences?.[0]).to.include({ kind: 'Service', name: acme.infraName('web'), uid: infra?.metadata.uid, controller: true });

    expect((await acme.syncSlices('web')).infraWrites, 'steady state').to.have.length(0);

    acme.env.tenantApi.seed(tenantSlice('web', [['vm-3', true]]));
    const down = await acme.syncSlices('web');
    expect(addresses(acme.infraSlice('web'))).to.deep.equal(['10.244.3.5']);
    expect(down.infraWrites.map((w) => w.method)).to.deep.equal(['PATCH']);
    const all = (await acme.env.infra.list<EndpointSlice>({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, { namespace: INFRA_NS })).map((s) => s.metadata.name);
    expect(all).to.deep.equal([`${acme.infraName('web')}-ipv4`]);
  });

  it('writes no slices for a Service the worker selector serves, and removes its own once the Service gets a selector', async () => {
    acme.env.tenantApi.seed(tenantService('web'));
    acme.env.tenantApi.seed(tenantSlice('web', [['vm-1', true]]));
    await acme.serve('web');
    expect(acme.infraSlice('web')).to.not.equal(undefined);
    const local = acme.env.tenantApi.peek('v1', 'Service', 'shop/web') as Service;
    acme.env.tenantApi.seed({ ...local, spec: { ...local.spec, externalTrafficPolicy: 'Cluster' } });
    await acme.serve('web');
    expect(acme.infraSlice('web')).to.equal(undefined);
  });

  it('a second tenant on the same infra namespace can neither put the first one\'s VMs in its slices nor touch its Services and slices', async () => {
    acme.env.tenantApi.seed(tenantService('web'));
    acme.env.tenantApi.seed(tenantSlice('web', [['vm-1', true]]));
    await acme.serve('web');
    const acmeInfraBefore = acme.env.infraApi.peek('v1', 'Service', `${INFRA_NS}/${acme.infraName('web')}`);
    const acmeSliceBefore = acme.infraSlice('web');
    const writesBefore = acme.env.infraApi.writes().length;

    const globex = new Tenant(OTHER, acme);
    globex.env.infraApi.seed(vmi('globex-vm', '10.244.9.5', OTHER));
    globex.env.tenantApi.seed(node('globex-vm'));
    // Its own Node claiming acme's VM by label, and an EndpointSlice it wrote naming acme's VM as a node.
    globex.env.tenantApi.seed(node('spoof', { 'node.kubernetes.io/instance-id': 'vm-2' }));
    globex.env.tenantApi.seed(tenantService('web'));
    globex.env.tenantApi.seed(tenantSlice('web', [['globex-vm', true], ['vm-1', true], ['spoof', true]]));
    const pass = await globex.serve('web');

    expect(addresses(globex.infraSlice('web'))).to.deep.equal(['10.244.9.5']);
    expect(pass.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(['Warning/RefusedInstance']);
    expect(pass.events[0]?.note).to.include('spoof -> vm-2').and.include('vm-1 -> vm-1');
    expect((await globex.syncSlices('web')).events, 'reported once').to.have.length(0);
    // Its infra Service selects nothing of acme's, and nothing of acme's was written.
    const globexCluster = tenantService('web', 'Cluster');
    globexCluster.metadata.name = 'web-cluster';
    globex.env.tenantApi.seed(globexCluster);
    await globex.serve('web-cluster');
    const selector = (globex.env.infraApi.peek('v1', 'Service', `${INFRA_NS}/${globex.infraName('web-cluster')}`) as Service | undefined)?.spec?.selector;
    expect(selector).to.deep.equal({ 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': OTHER });
    expect(acme.env.infraApi.peek('v1', 'Service', `${INFRA_NS}/${acme.infraName('web')}`)).to.deep.equal(acmeInfraBefore);
    expect(acme.infraSlice('web')).to.deep.equal(acmeSliceBefore);
    const globexWrites = globex.env.infraApi.writes().slice(writesBefore).map((w) => w.path);
    expect(globexWrites, 'globex wrote its own objects').to.not.deep.equal([]);
    expect(globexWrites.filter((p) => p.includes(acme.infraName('web')))).to.deep.equal([]);
  });
});
