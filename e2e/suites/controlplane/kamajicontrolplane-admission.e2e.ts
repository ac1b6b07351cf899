// Admission of KamajiControlPlane and KamajiControlPlaneTemplate (controlplane.cluster.x-k8s.io v1alpha1 + v1alpha2)
// on a real kube-apiserver: the generated CRDs accept upstream's samples unchanged under strict field validation
// (but for a Kubernetes release kvcloud does not run, which they refuse by name), refuse bad manifests with messages naming the field, serve both versions from one stored object without a
// conversion webhook, and expose the scale subresource Cluster API uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import type { KamajiControlPlane } from '../../../providers/controlplane/api/kamajicontrolplane.js';
import { SUPPORTED_KUBERNETES_MINORS } from '../../../providers/controlplane/api/kubernetes-versions.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseManifests } from '../../../localcloud/manifests.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { waitFor } from '../../../localcloud/wait.js';
import { kamajiControlPlaneSamples } from './kamajicontrolplane-samples.js';
import { UNSUPPORTED_VERSION_MESSAGE, unsupportedVersionIn, withSupportedVersion } from './sample-versions.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const GROUP = 'controlplane.cluster.x-k8s.io';
const CRD_NAMES = [`kamajicontrolplanes.${GROUP}`, `kamajicontrolplanetemplates.${GROUP}`];
const NS = `ktcp-admission-${String(process.pid)}`;
const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };
const KCP = (version: string) => ({ apiVersion: `${GROUP}/${version}`, kind: 'KamajiControlPlane' });

type Mutable = Record<string, unknown> & { spec: Record<string, unknown> };

function kcp(version: string, name: string, mutate: (spec: Record<string, unknown>) => void = () => undefined): KubeObject {
  const spec: Record<string, unknown> = { dataStoreName: 'default', version: 'v1.37.2', replicas: 2, network: { serviceType: 'LoadBalancer' } };
  mutate(spec);
  return { ...KCP(version), metadata: { name, namespace: NS }, spec } as KubeObject;
}

function template(version: string, name: string, mutate: (spec: Record<string, unknown>) => void): KubeObject {
  const spec: Record<string, unknown> = { dataStoreName: 'default' };
  mutate(spec);
  return { apiVersion: `${GROUP}/${version}`, kind: 'KamajiControlPlaneTemplate', metadata: { name, namespace: NS }, spec: { template: { spec } } } as KubeObject;
}

const at = (spec: Record<string, unknown>, key: string): Record<string, unknown> => {
  spec[key] ??= {};
  return spec[key] as Record<string, unknown>;
};

interface BadCreate {
  name: string;
  object: () => KubeObject;
  field: string;
  message: RegExp;
}

const v2 = (name: string, mutate: (s: Record<string, unknown>) => void) => () => kcp('v1alpha2', name, mutate);
const v1 = (name: string, mutate: (s: Record<string, unknown>) => void) => () => kcp('v1alpha1', name, mutate);

const badCreates: BadCreate[] = [
  { name: 'no version', object: v2('bad', (s) => delete s.version), field: 'spec.version', message: /Required value/ },
  { name: 'a version that is not a release', object: v2('bad', (s) => (s.version = 'latest')), field: 'spec.version', message: /must be a Kubernetes release such as v1\.37\.2/ },
  { name: 'a minor newer than kvcloud runs', object: v2('bad', (s) => (s.version = `v1.${String(SUPPORTED_KUBERNETES_MINORS.newest + 1)}.0`)), field: 'spec.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a minor older than kvcloud runs (v1alpha1, without the v)', object: v1('bad', (s) => (s.version = `1.${String(SUPPORTED_KUBERNETES_MINORS.oldest - 1)}.9`)), field: 'spec.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a minor older than kvcloud runs (v1alpha2)', object: v2('bad', (s) => (s.version = 'v1.27.0')), field: 'spec.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a Kubernetes 2.x version', object: v1('bad', (s) => (s.version = '2.0.0')), field: 'spec.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'negative replicas', object: v2('bad', (s) => (s.replicas = -1)), field: 'spec.replicas', message: /greater than or equal to 0/ },
  { name: 'dataStoreOverrides', object: v2('bad', (s) => (s.dataStoreOverrides = [{ resource: '/events', dataStore: 'events' }])), field: 'spec.dataStoreOverrides', message: /kvcloud does not support spec\.dataStoreOverrides/ },
  { name: 'kine extraArgs', object: v2('bad', (s) => (s.kine = { extraArgs: ['--debug'] })), field: 'spec.kine', message: /kvcloud does not support spec\.kine/ },
  { name: 'kine resources (v1alpha1)', object: v1('bad', (s) => (s.kine = { resources: { limits: { cpu: '1' } } })), field: 'spec.kine', message: /kvcloud does not support spec\.kine/ },
  { name: 'an external cluster reference', object: v2('bad', (s) => (at(s, 'deployment').externalClusterReference = { kubeconfigSecretName: 'k', kubeconfigSecretKey: 'v', deploymentNamespace: 'x' })), field: 'spec.deployment.externalClusterReference', message: /kvcloud does not support spec\.deployment\.externalClusterReference/ },
  { name: 'an unknown service type', object: v2('bad', (s) => (at(s, 'network').serviceType = 'ExternalName')), field: 'spec.network.serviceType', message: /Unsupported value/ },
  { name: 'source ranges without a LoadBalancer', object: v2('bad', (s) => (s.network = { serviceType: 'NodePort', loadBalancerConfig: { loadBalancerSourceRanges: ['10.0.0.0/8'] } })), field: 'spec.network', message: /loadBalancerSourceRanges are supported only with serviceType LoadBalancer/ },
  { name: 'a LoadBalancer class without a LoadBalancer', object: v2('bad', (s) => (s.network = { serviceType: 'ClusterIP', loadBalancerConfig: { loadBalancerClass: 'x' } })), field: 'spec.network', message: /loadBalancerClass is supported only with serviceType LoadBalancer/ },
  { name: 'allocateLoadBalancerNodePorts on NodePort', object: v2('bad', (s) => (s.network = { serviceType: 'NodePort', allocateLoadBalancerNodePorts: false })), field: 'spec.network', message: /allocateLoadBalancerNodePorts is supported only with serviceType LoadBalancer/ },
  { name: 'a source range that is not a CIDR', object: v2('bad', (s) => (at(s, 'network').loadBalancerConfig = { loadBalancerSourceRanges: ['10.0.0.1/40'] })), field: 'spec.network.loadBalancerConfig.loadBalancerSourceRanges', message: /entries must be CIDRs/ },
  { name: 'ingress and gateway together', object: v2('bad', (s) => Object.assign(at(s, 'network'), { ingress: { hostname: 'a.example.com' }, gateway: { name: 'g', namespace: 'n', hostname: 'b.example.com' } })), field: 'spec.network', message: /network\.ingress and network\.gateway cannot both be set/ },
  { name: 'an ingress without hostname', object: v2('bad', (s) => (at(s, 'network').ingress = { className: 'nginx' })), field: 'spec.network.ingress.hostname', message: /Required value/ },
  { name: 'a gateway without namespace', object: v2('bad', (s) => (at(s, 'network').gateway = { name: 'g', hostname: 'a.example.com' })), field: 'spec.network.gateway.namespace', message: /Required value/ },
  { name: 'a gateway port out of range', object: v2('bad', (s) => (at(s, 'network').gateway = { name: 'g', namespace: 'n', hostname: 'a.example.com', port: 70000 })), field: 'spec.network.gateway.port', message: /less than or equal to 65535/ },
  { name: 'a gateway hostname that is not a DNS name', object: v2('bad', (s) => (at(s, 'network').gateway = { name: 'g', namespace: 'n', hostname: 'Not_A_Name' })), field: 'spec.network.gateway.hostname', message: /network\.gateway\.hostname must be a DNS name/ },
  { name: 'a certSAN that is neither IP nor DNS name', object: v2('bad', (s) => (at(s, 'network').certSANs = ['bad name!'])), field: 'spec.network.certSANs', message: /network\.certSANs entries must be IP addresses or DNS names/ },
  { name: 'a serviceAddress that is not an IP', object: v2('bad', (s) => (at(s, 'network').serviceAddress = 'somewhere')), field: 'spec.network.serviceAddress', message: /network\.serviceAddress must be an IP address/ },
  { name: 'a DNS service IP that is not an IP', object: v2('bad', (s) => (at(s, 'network').dnsServiceIPs = ['10.96.0.300'])), field: 'spec.network.dnsServiceIPs', message: /network\.dnsServiceIPs entries must be IP addresses/ },
  { name: 'a CoreDNS service IP that is not an IP', object: v2('bad', (s) => (s.addons = { coreDNS: { dnsServiceIPs: ['dns'] } })), field: 'spec.addons.coreDNS.dnsServiceIPs', message: /addons\.coreDNS\.dnsServiceIPs entries must be IP addresses/ },
  { name: 'an apiServer argument without --', object: v2('bad', (s) => (s.apiServer = { extraArgs: ['cloud-provider=external'] })), field: 'spec.apiServer.extraArgs', message: /spec\.apiServer\.extraArgs entries are command-line flags/ },
  { name: 'an empty containerImageName', object: v2('bad', (s) => (s.scheduler = { containerImageName: '' })), field: 'spec.scheduler.containerImageName', message: /at least 1 chars long/ },
  { name: 'an unknown admission controller', object: v2('bad', (s) => (s.admissionControllers = ['MakeItSo'])), field: 'spec.admissionControllers[0]', message: /Unsupported value/ },
  { name: 'an unknown kubelet address type', object: v1('bad', (s) => (s.kubelet = { preferredAddressTypes: ['PublicIP'] })), field: 'spec.kubelet.preferredAddressTypes[0]', message: /Unsupported value/ },
  { name: 'a dataStoreSchema with a slash', object: v2('bad', (s) => (s.dataStoreSchema = 'a/b')), field: 'spec.dataStoreSchema', message: /may only contain letters, digits, _ and -/ },
  { name: 'a name that is not a DNS-1035 label', object: v2('1st.plane', () => undefined), field: 'metadata.name', message: /must be a DNS-1035 label/ },
  { name: 'a template with kine settings', object: () => template('v1alpha2', 'bad', (s) => (s.kine = { extraArgs: ['--debug'] })), field: 'spec.template.spec.kine', message: /kvcloud does not support spec\.kine/ },
  { name: 'a v1alpha1 template with an external cluster reference', object: () => template('v1alpha1', 'bad', (s) => (s.deployment = { externalClusterReference: { kubeconfigSecretName: 'k', kubeconfigSecretKey: 'v', deploymentNamespace: 'x' } })), field: 'spec.template.spec.deployment.externalClusterReference', message: /kvcloud does not support/ },
];

interface BadUpdate {
  name: string;
  version: string;
  before: (s: Record<string, unknown>) => void;
  after: (s: Record<string, unknown>) => void;
  field: string;
  message: RegExp;
}

const badUpdates: BadUpdate[] = [
  { name: 'a minor downgrade', version: 'v1alpha2', before: () => undefined, after: (s) => (s.version = 'v1.36.4'), field: 'spec.version', message: /spec\.version cannot be downgraded from v1\.37\.2 to v1\.36\.4/ },
  { name: 'a patch downgrade (v1alpha1)', version: 'v1alpha1', before: () => undefined, after: (s) => (s.version = '1.37.1'), field: 'spec.version', message: /spec\.version cannot be downgraded from v1\.37\.2 to 1\.37\.1/ },
  { name: 'changing dataStoreSchema', version: 'v1alpha2', before: (s) => (s.dataStoreSchema = 'a'), after: (s) => (s.dataStoreSchema = 'b'), field: 'spec.dataStoreSchema', message: /changing spec\.dataStoreSchema is not supported/ },
  { name: 'changing dataStoreUsername', version: 'v1alpha1', before: (s) => (s.dataStoreUsername = 'a'), after: (s) => (s.dataStoreUsername = 'b'), field: 'spec.dataStoreUsername', message: /changing spec\.dataStoreUsername is not supported/ },
  { name: 'changing the LoadBalancer class', version: 'v1alpha2', before: (s) => (at(s, 'network').loadBalancerConfig = { loadBalancerClass: 'a' }), after: (s) => (at(s, 'network').loadBalancerConfig = { loadBalancerClass: 'b' }), field: 'spec.network.loadBalancerConfig.loadBalancerClass', message: /loadBalancerClass is immutable/ },
];

describe('controlplane admission: KamajiControlPlane', function () {
  let plane: Plane;
  let client: Client;
  let transport: RestTransport | undefined;
  const installed: string[] = [];

  before(async function () {
    this.timeout(120_000);
    plane = await sharedPlane();
    const rest = await RestTransport.fromKubeConfig(plane.kubeConfig, { userAgent: 'ktcp-admission-e2e' });
    transport = rest;
    client = new Client({ transport: rest, mapper: new RestMapper(rest), fieldManager: 'ktcp-admission-e2e' });
    // Remove afterwards only the CRDs this suite installed; another suite on the shared plane may own them.
    for (const name of CRD_NAMES) if (!(await client.get(CRD, { name }))) installed.push(name);
    const crds = CRD_NAMES.map((n) => join(repo, 'config/controlplane/crd', `${GROUP}_${n.split('.')[0] ?? ''}.yaml`)).flatMap((f) => parseManifests(readFileSync(f, 'utf8')));
    await plane.applyManifests([...crds, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
  });

  after(async function () {
    this.timeout(120_000);
    if (!transport) return;
    await client.delete({ apiVersion: 'v1', kind: 'Namespace' }, { name: NS });
    for (const name of installed) await client.delete(CRD, { name });
    await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'Namespace' }, { name: NS })) ? undefined : true), { timeoutMs: 90_000, what: `namespace ${NS} to be gone` });
    for (const name of installed) {
      await waitFor(async () => ((await client.get(CRD, { name })) ? undefined : true), { timeoutMs: 60_000, what: `CRD ${name} to be gone` });
    }
    transport.close();
  });

  for (const [file, sample] of Object.entries(kamajiControlPlaneSamples)) {
    const unsupported = unsupportedVersionIn(sample);
    const title = unsupported
      ? `refuses upstream's sample ${file} for its version ${unsupported} alone, and accepts it at a supported one (kubectl apply --validate=strict)`
      : `accepts upstream's sample ${file} unchanged (kubectl apply --validate=strict)`;
    it(title, async function () {
      let yaml = sample;
      if (unsupported) {
        const err = await rejection(kubectl(plane.kubeconfigPath, ['apply', '--validate=strict', '-n', NS, '-f', '-'], sample), file);
        expect(err.message).to.include('spec.version').and.match(UNSUPPORTED_VERSION_MESSAGE);
        yaml = withSupportedVersion(sample, unsupported);
      }
      const out = await kubectl(plane.kubeconfigPath, ['apply', '--validate=strict', '-n', NS, '-f', '-'], yaml);
      expect(out).to.match(/created|configured/);
      const [obj] = parseManifests(yaml);
      if (!obj) throw new Error(`${file} holds no object`);
      const type = { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' };
      const stored = await client.get<KubeObject & { spec: unknown }>(type, { namespace: NS, name: obj.metadata.name ?? '' });
      expect(stored?.spec).to.not.equal(undefined);
      await kubectl(plane.kubeconfigPath, ['delete', '-n', NS, '-f', '-', '--wait=true'], yaml);
    });
  }

  it(`refuses ${String(badCreates.length)} bad manifests, each with a message naming the field`, async function () {
    expect(badCreates.length).to.be.at.least(20);
    const failures: string[] = [];
    for (const tc of badCreates) {
      const err = await rejection(client.create(tc.object(), { dryRun: true }), tc.name);
      if (!err.message.includes(tc.field) || !tc.message.test(err.message)) failures.push(`${tc.name}: expected ${tc.field} and ${String(tc.message)}, got: ${err.message}`);
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('refuses an unknown field under strict field validation, naming it', async function () {
    const bad = kcp('v1alpha2', 'unknown-field', (s) => (s.replica = 3));
    const err = await rejection(kubectl(plane.kubeconfigPath, ['create', '--validate=strict', '--dry-run=server', '-f', '-'], JSON.stringify(bad)), 'an unknown field');
    expect(err.message).to.match(/unknown field "spec\.replica"/);
  });

  for (const tc of badUpdates) {
    it(`refuses ${tc.name} on update`, async function () {
      const name = `upd-${tc.name.replace(/[^a-z0-9]+/g, '-').replace(/-+$/, '')}`.slice(0, 50);
      const created = (await client.create(kcp(tc.version, name, tc.before))) as unknown as Mutable;
      try {
        const changed = structuredClone(created);
        tc.after(changed.spec);
        const err = await rejection(client.update(changed as unknown as KubeObject), tc.name);
        expect(err.message).to.include(tc.field);
        expect(err.message).to.match(tc.message);
      } finally {
        await client.delete(KCP(tc.version), { namespace: NS, name });
      }
    });
  }

  it('allows a patch upgrade and a jump of several minors (the controller walks it one minor at a time)', async function () {
    const created = (await client.create(kcp('v1alpha2', 'upgrade', (s) => (s.version = 'v1.35.1')))) as unknown as Mutable;
    try {
      created.spec.version = 'v1.35.3';
      const patched = (await client.update(created as unknown as KubeObject)) as unknown as Mutable;
      patched.spec.version = 'v1.37.2';
      const jumped = (await client.update(patched as unknown as KubeObject)) as unknown as Mutable;
      expect(jumped.spec.version).to.equal('v1.37.2');
    } finally {
      await client.delete(KCP('v1alpha2'), { namespace: NS, name: 'upgrade' });
    }
  });

  it('defaults as upstream, with each version keeping its own kubelet default', async function () {
    const a = (await client.create(kcp('v1alpha1', 'defaults-v1', (s) => { delete s.replicas; delete s.network; }), { dryRun: true })) as unknown as KamajiControlPlane;
    const b = (await client.create(kcp('v1alpha2', 'defaults-v2', (s) => { delete s.replicas; delete s.network; }), { dryRun: true })) as unknown as KamajiControlPlane;
    for (const o of [a, b]) {
      expect(o.spec.replicas).to.equal(2);
      expect(o.spec.network).to.deep.equal({ serviceType: 'LoadBalancer' });
      expect(o.spec.registry).to.equal('registry.k8s.io');
    }
    expect(a.spec.kubelet?.preferredAddressTypes).to.deep.equal(['Hostname', 'InternalIP', 'ExternalIP']);
    expect(b.spec.kubelet?.preferredAddressTypes).to.deep.equal(['InternalIP', 'ExternalIP', 'Hostname']);
  });

  it('serves one stored object in both versions without a webhook: each reader finds its own status fields', async function () {
    await client.create(kcp('v1alpha2', 'both-versions'));
    try {
      const status = {
        initialization: { controlPlaneInitialized: true }, initialized: true, ready: true, replicas: 2, readyReplicas: 2,
        availableReplicas: 2, upToDateReplicas: 2, updatedReplicas: 2, unavailableReplicas: 0, selector: 'kamaji.clastix.io/name=both-versions',
        externalManagedControlPlane: true, version: 'v1.37.2', versions: [{ version: 'v1.37.2', replicas: 2 }],
        conditions: [{ type: 'Available', status: 'True', reason: 'Available', message: '', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      };
      await client.mergePatch(KCP('v1alpha2'), { namespace: NS, name: 'both-versions' }, { status }, { subresource: 'status' });
      const old = (await client.get(KCP('v1alpha1'), { namespace: NS, name: 'both-versions' })) as unknown as KamajiControlPlane;
      expect(old.apiVersion).to.equal(`${GROUP}/v1alpha1`);
      expect(old.status?.initialized).to.equal(true);
      expect(old.status?.updatedReplicas).to.equal(2);
      expect(old.status?.initialization?.controlPlaneInitialized).to.equal(true);
      expect(old.status?.versions).to.deep.equal([{ version: 'v1.37.2', replicas: 2 }]);
      expect(old.status?.conditions?.map((c) => c.type)).to.deep.equal(['Available']);
      const table = await kubectl(plane.kubeconfigPath, ['get', `kamajicontrolplanes.v1alpha1.${GROUP}`, '-n', NS, 'both-versions']);
      expect(table).to.match(/NAME\s+VERSION\s+INITIALIZED\s+READY\s+AGE/);
      expect(table).to.match(/both-versions\s+v1\.37\.2\s+true\s+true/);
      const table2 = await kubectl(plane.kubeconfigPath, ['get', 'ktcp', '-n', NS, 'both-versions']);
      expect(table2).to.match(/both-versions\s+v1\.37\.2\s+true\s+true/);
    } finally {
      await client.delete(KCP('v1alpha2'), { namespace: NS, name: 'both-versions' });
    }
  });

  it('has the scale subresource Cluster API uses (spec.replicas, status.replicas, status.selector)', async function () {
    await client.create(kcp('v1alpha2', 'scaled'));
    try {
      await client.mergePatch(KCP('v1alpha2'), { namespace: NS, name: 'scaled' }, { status: { replicas: 2, selector: 'app=scaled' } }, { subresource: 'status' });
      await kubectl(plane.kubeconfigPath, ['scale', '-n', NS, 'ktcp/scaled', '--replicas=3']);
      const scale = JSON.parse(await kubectl(plane.kubeconfigPath, ['get', '--raw', `/apis/${GROUP}/v1alpha1/namespaces/${NS}/kamajicontrolplanes/scaled/scale`])) as { spec: { replicas: number }; status: { replicas: number; selector: string } };
      expect(scale.spec.replicas).to.equal(3);
      expect(scale.status).to.deep.equal({ replicas: 2, selector: 'app=scaled' });
    } finally {
      await client.delete(KCP('v1alpha2'), { namespace: NS, name: 'scaled' });
    }
  });
});
