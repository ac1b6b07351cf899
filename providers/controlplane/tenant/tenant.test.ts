import { expect } from 'chai';
import { parse } from 'yaml';
import type { TenantControlPlane } from '../api/index.js';
import { clusterInfoKubeconfig } from './bootstrap.js';
import { applyJsonPatch } from './json-patch.js';
import { kubeletConfiguration } from './kubeadm-config.js';
import { phaseChecksum, tenantPhases, type Phase } from './phases.js';

function tcp(patch: (t: TenantControlPlane) => void = () => undefined): TenantControlPlane {
  const t: TenantControlPlane = {
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: { controlPlane: { service: { serviceType: 'LoadBalancer' } }, kubernetes: { version: 'v1.37.2', kubelet: {} } },
  };
  patch(t);
  return t;
}

const endpoint = { host: '10.255.255.7', port: 6443 };
const serving = { kubernetesVersion: 'v1.37.2' };
const phase = (phases: Phase[], name: string): Phase => {
  const p = phases.find((x) => x.name === name);
  if (!p) throw new Error(`no phase ${name}`);
  return p;
};
const object = (p: Phase, kind: string, name: string) => p.objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('tenant/json-patch', () => {
  const cases = [
    { name: 'replaces a field', ops: [{ op: 'replace', path: '/cgroupDriver', value: 'cgroupfs' }], want: { cgroupDriver: 'cgroupfs', list: [1] } },
    { name: 'adds to the end of a list', ops: [{ op: 'add', path: '/list/-', value: 2 }], want: { cgroupDriver: 'systemd', list: [1, 2] } },
    { name: 'removes a field', ops: [{ op: 'remove', path: '/cgroupDriver' }], want: { list: [1] } },
  ];
  for (const tc of cases) it(tc.name, () => expect(applyJsonPatch({ cgroupDriver: 'systemd', list: [1] }, tc.ops)).to.deep.equal(tc.want));

  it('names the failing operation and leaves the input untouched', () => {
    const doc = { a: 1 };
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/b', value: 2 }])).to.throw(/operation 0 \(replace \/b\)/);
    expect(doc).to.deep.equal({ a: 1 });
  });
});

describe('tenant/phases', () => {
  it('writes kubeadm-config with the endpoint, version and networking, readable by bootstrap tokens and nodes', () => {
    const p = phase(tenantPhases(tcp((t) => (t.spec.networkProfile = { podCidr: '10.50.0.0/16', clusterDomain: 'acme.local' })), endpoint, 'CA', serving), 'kubeadm-config');
    const cm = object(p, 'ConfigMap', 'kubeadm-config') as { data: { ClusterConfiguration: string } } | undefined;
    const cfg = parse(cm?.data.ClusterConfiguration ?? '') as { controlPlaneEndpoint: string; kubernetesVersion: string; networking: Record<string, string> };
    expect(cfg.controlPlaneEndpoint).to.equal('10.255.255.7:6443');
    expect(cfg.kubernetesVersion).to.equal('v1.37.2');
    expect(cfg.networking).to.deep.equal({ dnsDomain: 'acme.local', podSubnet: '10.50.0.0/16', serviceSubnet: '10.95.0.0/16' });
    const binding = object(p, 'RoleBinding', 'kubeadm:nodes-kubeadm-config') as { subjects: { name: string }[] } | undefined;
    expect(binding?.subjects.map((s) => s.name)).to.deep.equal(['system:bootstrappers:kubeadm:default-node-token', 'system:nodes']);
  });

  it('applies the kubelet configuration JSON patches to the KubeletConfiguration', () => {
    const cfg = kubeletConfiguration({
      clusterName: 'acme',
      kubernetesVersion: 'v1.37.2',
      controlPlaneEndpoint: 'x:6443',
      serviceSubnet: '10.96.0.0/16',
      podSubnet: '10.244.0.0/16',
      dnsDomain: 'cluster.local',
      dnsServiceIPs: ['10.96.0.10'],
      certSANs: [],
      kubelet: { configurationJSONPatches: [{ op: 'replace', path: '/cgroupDriver', value: 'cgroupfs' }] },
    });
    expect(cfg).to.include({ cgroupDriver: 'cgroupfs', clusterDomain: 'cluster.local' });
    expect(cfg.clusterDNS).to.deep.equal(['10.96.0.10']);
  });

  it('publishes cluster-info with the server and CA only, readable by anonymous users', () => {
    const kc = parse(clusterInfoKubeconfig('https://10.255.255.7:6443', 'PEM')) as { clusters: { cluster: Record<string, string> }[]; users: unknown[] };
    expect(kc.clusters[0]?.cluster).to.deep.equal({ server: 'https://10.255.255.7:6443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') });
    expect(kc.users).to.deep.equal([]);
    const p = phase(tenantPhases(tcp(), endpoint, 'PEM', serving), 'bootstrap');
    const binding = object(p, 'RoleBinding', 'kubeadm:bootstrap-signer-clusterinfo') as { metadata: { namespace: string }; subjects: { name: string }[] } | undefined;
    expect(binding?.metadata.namespace).to.equal('kube-public');
    expect(binding?.subjects[0]?.name).to.equal('system:anonymous');
    expect(p.objects.map((o) => o.metadata.name)).to.include.members(['kubeadm:kubelet-bootstrap', 'kubeadm:node-autoapprove-bootstrap', 'kubeadm:node-autoapprove-certificate-rotation', 'kubeadm:get-nodes', 'kvcloud:node-pod-routes']);
  });

  const addonCases = [
    { name: 'no addons', patch: () => undefined, enabled: [] as string[] },
    { name: 'CoreDNS and kube-proxy', patch: (t: TenantControlPlane) => (t.spec.addons = { coreDNS: {}, kubeProxy: {} }), enabled: ['coredns', 'kube-proxy'] },
    { name: 'konnectivity', patch: (t: TenantControlPlane) => (t.spec.addons = { konnectivity: { server: { port: 8132 } } }), enabled: ['konnectivity-agent'] },
  ];
  for (const tc of addonCases) {
    it(`enables exactly the requested addons (${tc.name}), so the others are removed`, () => {
      const phases = tenantPhases(tcp(tc.patch), endpoint, 'CA', serving);
      const addons = phases.filter((p) => !['kubeadm-config', 'bootstrap', 'serving-control-plane'].includes(p.name));
      expect(addons.filter((p) => p.enabled).map((p) => p.name)).to.deep.equal(tc.enabled);
    });
  }

  it('versions kube-proxy and kubeadm-config by the version the apiservers serve, not the spec asking for the next', () => {
    const upgrading = tcp((t) => {
      t.spec.kubernetes.version = 'v1.37.2';
      t.spec.addons = { kubeProxy: {} };
    });
    const phases = tenantPhases(upgrading, endpoint, 'CA', { kubernetesVersion: 'v1.36.0' });
    const ds = object(phase(phases, 'kube-proxy'), 'DaemonSet', 'kube-proxy') as { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
    expect(ds?.spec.template.spec.containers[0]?.image).to.equal('registry.k8s.io/kube-proxy:v1.36.0');
    const cm = object(phase(phases, 'kubeadm-config'), 'ConfigMap', 'kubeadm-config') as { data: { ClusterConfiguration: string } } | undefined;
    expect((parse(cm?.data.ClusterConfiguration ?? '') as { kubernetesVersion: string }).kubernetesVersion).to.equal('v1.36.0');
  });

  it('points CoreDNS at the DNS Service IP and the konnectivity agent at the endpoint', () => {
    const phases = tenantPhases(tcp((t) => (t.spec.addons = { coreDNS: { imageTag: 'v1.12.9' }, konnectivity: { server: { port: 8132 }, agent: { mode: 'Deployment', replicas: 3 } } })), endpoint, 'CA', serving);
    const dns = object(phase(phases, 'coredns'), 'Service', 'kube-dns') as { spec: { clusterIP: string } } | undefined;
    expect(dns?.spec.clusterIP).to.equal('10.95.0.10');
    const coredns = object(phase(phases, 'coredns'), 'Deployment', 'coredns') as { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
    expect(coredns?.spec.template.spec.containers[0]?.image).to.equal('registry.k8s.io/coredns/coredns:v1.12.9');
    const agent = object(phase(phases, 'konnectivity-agent'), 'Deployment', 'konnectivity-agent') as
      | { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } }
      | undefined;
    expect(agent?.spec.replicas).to.equal(3);
    expect(agent?.spec.template.spec.containers[0]?.args).to.include.members(['--proxy-server-host=10.255.255.7', '--proxy-server-port=8132']);
  });

  it('makes a konnectivity agent Ready only once it is connected to a server, and has it log its connections', () => {
    const phases = tenantPhases(tcp((t) => (t.spec.addons = { konnectivity: { server: { port: 8132 } } })), endpoint, 'CA', serving);
    const agent = object(phase(phases, 'konnectivity-agent'), 'DaemonSet', 'konnectivity-agent') as
      | { spec: { template: { spec: { containers: { args: string[]; readinessProbe?: { httpGet?: { path: string; port: number } } }[] } } } }
      | undefined;
    const container = agent?.spec.template.spec.containers[0];
    expect(container?.readinessProbe?.httpGet).to.deep.include({ path: '/readyz', port: 8134 });
    expect(container?.args).to.include.members(['--health-server-port=8134', '--v=2']);
  });

  it('keeps each konnectivity agent dialling, so it finds control plane replicas added after it connected', () => {
    const phases = tenantPhases(tcp((t) => (t.spec.addons = { konnectivity: { server: { port: 8132 }, agent: { extraArgs: ['--sync-interval=2s'] } } })), endpoint, 'CA', serving);
    const agent = object(phase(phases, 'konnectivity-agent'), 'DaemonSet', 'konnectivity-agent') as { spec: { template: { spec: { containers: { args: string[] }[] } } } } | undefined;
    const args = agent?.spec.template.spec.containers[0]?.args ?? [];
    expect(args).to.include('--sync-forever');
    // The user's extra arguments come last, so the agent's flag parsing lets them override ours.
    expect(args.lastIndexOf('--sync-interval=2s')).to.be.greaterThan(args.indexOf('--sync-interval=5s'));
  });

  it('changes a phase checksum only when its objects change', () => {
    const a = phase(tenantPhases(tcp(), endpoint, 'CA', serving), 'bootstrap');
    expect(phaseChecksum(a)).to.equal(phaseChecksum(phase(tenantPhases(tcp(), endpoint, 'CA', serving), 'bootstrap')));
    expect(phaseChecksum(a)).to.not.equal(phaseChecksum(phase(tenantPhases(tcp(), endpoint, 'OTHER CA', serving), 'bootstrap')));
  });
});
