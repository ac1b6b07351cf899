// Admission of kamaji.clastix.io objects against a real kube-apiserver: the generated CRDs (OpenAPI + CEL) and the
// ValidatingAdmissionPolicies from config/controlplane/admission refuse each bad manifest with a message naming the
// field, and Kamaji's own samples apply unchanged (or, naming a Kubernetes release kvcloud does not run, are refused
// for that alone).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import {
  API_VERSION,
  DATASTORE_REGISTRY_NAME,
  DATASTORE_REGISTRY_NAMESPACE,
  SUPPORTED_KUBERNETES_MINORS,
  type DataStore,
  type TenantControlPlane,
} from '../../../providers/controlplane/api/index.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseManifests } from '../../../localcloud/manifests.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { waitFor } from '../../../localcloud/wait.js';
import { acceptedSamples, refusedSamples } from './admission-samples.js';
import { UNSUPPORTED_VERSION_MESSAGE, unsupportedVersionIn, withSupportedVersion } from './sample-versions.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const TCP = { apiVersion: API_VERSION, kind: 'TenantControlPlane' };
const DS = { apiVersion: API_VERSION, kind: 'DataStore' };
const NS = `admission-${String(process.pid)}`;

function generatedManifests(): KubeObject[] {
  const crdDir = join(repo, 'config/controlplane/crd');
  const admissionDir = join(repo, 'config/controlplane/admission');
  const files = [
    ...readdirSync(crdDir).filter((f) => f.startsWith('kamaji.clastix.io_')).map((f) => join(crdDir, f)),
    ...readdirSync(admissionDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').map((f) => join(admissionDir, f)),
  ];
  return files.flatMap((f) => parseManifests(readFileSync(f, 'utf8')));
}

function tenant(name: string, mutate: (tcp: TenantControlPlane) => void = () => undefined): TenantControlPlane {
  const tcp: TenantControlPlane = {
    ...TCP,
    metadata: { name, namespace: NS },
    spec: {
      dataStore: 'default',
      controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
      kubernetes: { version: 'v1.37.2', kubelet: {} },
      networkProfile: { port: 6443 },
      addons: { coreDNS: {}, kubeProxy: {} },
    },
  };
  mutate(tcp);
  return tcp;
}

const secretRef = (name: string, keyPath: string) => ({ secretReference: { name, namespace: 'kvcloud-system', keyPath } });

function dataStore(name: string, mutate: (ds: DataStore) => void = () => undefined): DataStore {
  const ds: DataStore = {
    ...DS,
    metadata: { name },
    spec: {
      driver: 'etcd',
      endpoints: ['etcd.kvcloud-system.svc:2379'],
      tlsConfig: {
        certificateAuthority: { certificate: secretRef('etcd-ca', 'ca.crt'), privateKey: secretRef('etcd-ca', 'ca.key') },
        clientCertificate: { certificate: secretRef('etcd-root', 'tls.crt'), privateKey: secretRef('etcd-root', 'tls.key') },
      },
    },
  };
  mutate(ds);
  return ds;
}

interface BadCase {
  name: string;
  object: () => KubeObject;
  /** The field the error names, as the apiserver prints it. */
  field: string;
  message: RegExp;
}

// `np` and `cp` spare the table the optional-chaining noise: every base tenant has these set.
const np = (t: TenantControlPlane) => t.spec.networkProfile ?? (t.spec.networkProfile = {});
const dep = (t: TenantControlPlane) => t.spec.controlPlane.deployment ?? (t.spec.controlPlane.deployment = {});
const svc = (t: TenantControlPlane) => t.spec.controlPlane.service;

const badCreates: BadCase[] = [
  { name: 'a serviceCidrs entry that is no CIDR', object: () => tenant('bad', (t) => (np(t).serviceCidrs = ['10.96.0.0/33'])), field: 'spec.networkProfile.serviceCidrs', message: /all serviceCidrs entries must be valid CIDRs/ },
  { name: 'two serviceCidrs of one IP family', object: () => tenant('bad', (t) => (np(t).serviceCidrs = ['10.96.0.0/16', '10.97.0.0/16'])), field: 'spec.networkProfile.serviceCidrs', message: /must not contain two CIDRs of the same IP family/ },
  { name: 'a podCidrs entry that is no CIDR', object: () => tenant('bad', (t) => (np(t).podCidrs = ['10.244.0.0'])), field: 'spec.networkProfile.podCidrs', message: /all podCidrs entries must be valid CIDRs/ },
  { name: 'a deprecated podCidr that is no CIDR', object: () => tenant('bad', (t) => (np(t).podCidr = 'pods')), field: 'spec.networkProfile.podCidr', message: /podCidr must be empty or a valid CIDR/ },
  { name: 'a deprecated serviceCidr that is no CIDR', object: () => tenant('bad', (t) => (np(t).serviceCidr = '10.96.0.0/40')), field: 'spec.networkProfile.serviceCidr', message: /serviceCidr must be empty or a valid CIDR/ },
  { name: 'a DNS Service IP outside the Service CIDR', object: () => tenant('bad', (t) => (np(t).dnsServiceIPs = ['10.100.0.10'])), field: 'spec.networkProfile.dnsServiceIPs', message: /must lie inside the Service CIDR/ },
  { name: 'a DNS Service IP that is no IP', object: () => tenant('bad', (t) => (np(t).dnsServiceIPs = ['dns'])), field: 'spec.networkProfile.dnsServiceIPs', message: /must be IP addresses/ },
  { name: 'a LoadBalancer source range that is no CIDR', object: () => tenant('bad', (t) => (np(t).loadBalancerSourceRanges = ['192.168.1.0'])), field: 'spec.networkProfile.loadBalancerSourceRanges', message: /must be valid CIDR/ },
  { name: 'LoadBalancer source ranges on a ClusterIP Service', object: () => tenant('bad', (t) => { svc(t).serviceType = 'ClusterIP'; np(t).loadBalancerSourceRanges = ['10.0.0.0/8']; }), field: 'spec', message: /LoadBalancer source ranges are supported only with LoadBalancer service type/ },
  { name: 'a loadBalancerClass on a NodePort Service', object: () => tenant('bad', (t) => { svc(t).serviceType = 'NodePort'; np(t).loadBalancerClass = 'metallb'; }), field: 'spec', message: /LoadBalancerClass is supported only with LoadBalancer service type/ },
  { name: 'allocateLoadBalancerNodePorts on a ClusterIP Service', object: () => tenant('bad', (t) => { svc(t).serviceType = 'ClusterIP'; svc(t).allocateLoadBalancerNodePorts = false; }), field: 'spec', message: /allocateLoadBalancerNodePorts is supported only with LoadBalancer/ },
  { name: 'an API server port above 65535', object: () => tenant('bad', (t) => (np(t).port = 70000)), field: 'spec.networkProfile.port', message: /less than or equal to 65535/ },
  { name: 'an API server port of 0', object: () => tenant('bad', (t) => (np(t).port = 0)), field: 'spec.networkProfile.port', message: /greater than or equal to 1/ },
  { name: 'an advertiseAddress that is a host name', object: () => tenant('bad', (t) => (np(t).advertiseAddress = 'api.example.com')), field: 'spec.networkProfile.advertiseAddress', message: /advertiseAddress must be a valid IP address/ },
  { name: 'a certSAN that is neither IP nor DNS name', object: () => tenant('bad', (t) => (np(t).certSANs = ['api.example.com', 'bad_name!'])), field: 'spec.networkProfile.certSANs', message: /certSANs entries must be IP addresses or DNS names/ },
  { name: 'an address that is neither IP nor DNS name', object: () => tenant('bad', (t) => (np(t).address = 'not a host')), field: 'spec.networkProfile.address', message: /address must be an IP address or a DNS name/ },
  { name: 'a cluster domain without a dot', object: () => tenant('bad', (t) => (np(t).clusterDomain = 'local')), field: 'spec.networkProfile.clusterDomain', message: /should match/ },
  { name: 'a Kubernetes version without a patch number', object: () => tenant('bad', (t) => (t.spec.kubernetes.version = '1.37')), field: 'spec.kubernetes.version', message: /must be a Kubernetes release such as v1\.37\.2/ },
  { name: 'a Kubernetes minor newer than supported', object: () => tenant('bad', (t) => (t.spec.kubernetes.version = `v1.${String(SUPPORTED_KUBERNETES_MINORS.newest + 1)}.0`)), field: 'spec.kubernetes.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a Kubernetes minor older than supported', object: () => tenant('bad', (t) => (t.spec.kubernetes.version = `v1.${String(SUPPORTED_KUBERNETES_MINORS.oldest - 1)}.9`)), field: 'spec.kubernetes.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a Kubernetes 2.x version', object: () => tenant('bad', (t) => (t.spec.kubernetes.version = 'v2.36.0')), field: 'spec.kubernetes.version', message: UNSUPPORTED_VERSION_MESSAGE },
  { name: 'a negative replica count', object: () => tenant('bad', (t) => (dep(t).replicas = -1)), field: 'spec.controlPlane.deployment.replicas', message: /greater than or equal to 0/ },
  { name: 'an unknown Service type', object: () => tenant('bad', (t) => ((svc(t) as { serviceType: string }).serviceType = 'ExternalName')), field: 'spec.controlPlane.service.serviceType', message: /Unsupported value: "ExternalName"/ },
  { name: 'both an Ingress and a Gateway', object: () => tenant('bad', (t) => { t.spec.controlPlane.ingress = { hostname: 'a.example.com' }; t.spec.controlPlane.gateway = { hostname: 'b.example.com' }; }), field: 'spec.controlPlane', message: /using both ingress and gateway is not supported/ },
  { name: 'an additional port named like the API server port', object: () => tenant('bad', (t) => (svc(t).additionalPorts = [{ name: 'kube-apiserver', port: 8443, targetPort: 8443 }])), field: 'spec.controlPlane.service.additionalPorts[0].name', message: /cannot be kube-apiserver or konnectivity-server/ },
  { name: 'two additional ports with one name', object: () => tenant('bad', (t) => (svc(t).additionalPorts = [{ name: 'metrics', port: 9000, targetPort: 9000 }, { name: 'metrics', port: 9001, targetPort: 9001 }])), field: 'spec.controlPlane.service.additionalPorts[1]', message: /Duplicate value/ },
  { name: 'an additional port of 0', object: () => tenant('bad', (t) => (svc(t).additionalPorts = [{ name: 'metrics', port: 0, targetPort: 9000 }])), field: 'spec.controlPlane.service.additionalPorts[0].port', message: /greater than or equal to 1/ },
  { name: 'a DaemonSet konnectivity agent with replicas', object: () => tenant('bad', (t) => (t.spec.addons = { konnectivity: { agent: { mode: 'DaemonSet', replicas: 2 } } })), field: 'spec.addons.konnectivity.agent', message: /replicas must be 0 \(or unset\) when mode is DaemonSet/ },
  { name: 'a konnectivity server port above 65535', object: () => tenant('bad', (t) => (t.spec.addons = { konnectivity: { server: { port: 99999 } } })), field: 'spec.addons.konnectivity.server.port', message: /less than or equal to 65535/ },
  { name: 'an API server extra argument that is no flag', object: () => tenant('bad', (t) => (dep(t).extraArgs = { apiServer: ['v=4'] })), field: 'spec.controlPlane.deployment.extraArgs.apiServer', message: /must start with --/ },
  { name: 'kine resources (no kine datastores)', object: () => tenant('bad', (t) => (dep(t).resources = { kine: { limits: { cpu: '1' } } })), field: 'spec.controlPlane.deployment.resources.kine', message: /kvcloud does not support spec\.controlPlane\.deployment\.resources\.kine/ },
  { name: 'kine extra arguments', object: () => tenant('bad', (t) => (dep(t).extraArgs = { kine: ['--debug'] })), field: 'spec.controlPlane.deployment.extraArgs.kine', message: /kvcloud does not support spec\.controlPlane\.deployment\.extraArgs\.kine/ },
  { name: 'a kine init container security context', object: () => tenant('bad', (t) => (dep(t).containerSecurityContexts = { kineInit: { runAsUser: 0 } })), field: 'spec.controlPlane.deployment.containerSecurityContexts.kineInit', message: /kvcloud does not support/ },
  { name: 'a write permission that is no boolean', object: () => tenant('bad', (t) => (t.spec.writePermissions = { blockCreation: 'yes' as unknown as boolean })), field: 'spec.writePermissions.blockCreation', message: /must be of type boolean/ },
  { name: 'DataStore overrides', object: () => tenant('bad', (t) => (t.spec.dataStoreOverrides = [{ resource: '/events', dataStore: 'default' }])), field: 'spec.dataStoreOverrides', message: /kvcloud does not support spec\.dataStoreOverrides/ },
  { name: 'pre-generated certificates', object: () => tenant('bad', (t) => (t.spec.preGeneratedCertificates = { ca: { secretName: 'my-ca' } })), field: 'spec.preGeneratedCertificates', message: /kvcloud does not support spec\.preGeneratedCertificates/ },
  { name: 'an internal CA bundle ConfigMap', object: () => tenant('bad', (t) => (t.spec.internalCACertificatesConfigMap = 'internal-ca-certs')), field: 'spec.internalCACertificatesConfigMap', message: /kvcloud does not support spec\.internalCACertificatesConfigMap/ },
  { name: 'an admission plugin removed from kube-apiserver', object: () => tenant('bad', (t) => (t.spec.kubernetes.admissionControllers = ['PodSecurityPolicy'])), field: 'spec.kubernetes.admissionControllers', message: /they were removed from kube-apiserver/ },
  { name: 'an unknown admission plugin', object: () => tenant('bad', (t) => ((t.spec.kubernetes as { admissionControllers: string[] }).admissionControllers = ['MagicAdmission'])), field: 'spec.kubernetes.admissionControllers[0]', message: /Unsupported value: "MagicAdmission"/ },
  { name: 'a dataStoreSchema that would escape its etcd prefix', object: () => tenant('bad', (t) => (t.spec.dataStoreSchema = 'a/../b')), field: 'spec.dataStoreSchema', message: /may only contain letters, digits, _ and -/ },
  { name: 'a DataStore that does not exist', object: () => tenant('bad', (t) => (t.spec.dataStore = 'missing')), field: 'spec.dataStore', message: /DataStore missing does not exist/ },
  { name: 'a name that is no DNS-1035 label', object: () => tenant('1tenant'), field: 'metadata.name', message: /must be a DNS-1035 label/ },
  { name: 'a preferred address type listed twice', object: () => tenant('bad', (t) => (t.spec.kubernetes.kubelet.preferredAddressTypes = ['InternalIP', 'InternalIP'])), field: 'spec.kubernetes.kubelet.preferredAddressTypes[1]', message: /Duplicate value/ },
  { name: 'an unknown kubelet cgroup driver', object: () => tenant('bad', (t) => ((t.spec.kubernetes.kubelet as { cgroupfs: string }).cgroupfs = 'openrc')), field: 'spec.kubernetes.kubelet.cgroupfs', message: /Unsupported value: "openrc"/ },
  // DataStores
  { name: 'a MySQL DataStore', object: () => dataStore('bad-mysql', (d) => { d.spec.driver = 'MySQL'; d.spec.basicAuth = { username: { content: 'cm9vdA==' }, password: { content: 'cm9vdA==' } }; }), field: 'spec.driver', message: /kvcloud does not support the spec\.driver value: only etcd/ },
  { name: 'an etcd DataStore without a CA private key', object: () => dataStore('bad-ca', (d) => { if (d.spec.tlsConfig) delete d.spec.tlsConfig.certificateAuthority.privateKey; }), field: 'spec', message: /certificateAuthority privateKey must have secretReference or content when driver is etcd/ },
  { name: 'an etcd DataStore without a client certificate', object: () => dataStore('bad-client', (d) => { if (d.spec.tlsConfig) delete d.spec.tlsConfig.clientCertificate; }), field: 'spec', message: /clientCertificate must have secretReference or content when driver is etcd/ },
  { name: 'a DataStore without endpoints', object: () => dataStore('bad-endpoints', (d) => (d.spec.endpoints = [])), field: 'spec.endpoints', message: /should have at least 1 items/ },
  { name: 'a DataStore endpoint with a scheme', object: () => dataStore('bad-scheme', (d) => (d.spec.endpoints = ['https://etcd:2379'])), field: 'spec.endpoints', message: /host:port without a scheme/ },
  { name: 'a DataStore endpoint without a port', object: () => dataStore('bad-port', (d) => (d.spec.endpoints = ['etcd.kvcloud-system.svc'])), field: 'spec.endpoints', message: /need a port/ },
  { name: 'an unbracketed IPv6 DataStore endpoint', object: () => dataStore('bad-ipv6', (d) => (d.spec.endpoints = ['2001:db8::1:2379'])), field: 'spec.endpoints', message: /IPv6 endpoint address must be bracketed/ },
  { name: 'a Secret reference without a namespace', object: () => dataStore('bad-ref', (d) => { if (d.spec.tlsConfig) d.spec.tlsConfig.certificateAuthority.certificate = { secretReference: { name: 'etcd-ca', keyPath: 'ca.crt' } }; }), field: 'spec.tlsConfig.certificateAuthority.certificate.secretReference.namespace', message: /secretReference\.namespace is required/ },
  { name: 'a certificate with neither content nor Secret reference', object: () => dataStore('bad-content', (d) => { if (d.spec.tlsConfig) d.spec.tlsConfig.certificateAuthority.certificate = {}; }), field: 'spec.tlsConfig.certificateAuthority.certificate', message: /certificate needs either content or secretReference/ },
  { name: 'basic auth on an etcd DataStore', object: () => dataStore('bad-basic', (d) => (d.spec.basicAuth = { username: { content: 'cm9vdA==' }, password: { content: 'cm9vdA==' } })), field: 'spec.basicAuth', message: /kvcloud does not support spec\.basicAuth with the etcd driver/ },
];

interface BadUpdate {
  name: string;
  before: (t: TenantControlPlane) => void;
  after: (t: TenantControlPlane) => void;
  field: string;
  message: RegExp;
}

const badUpdates: BadUpdate[] = [
  { name: 'changing dataStoreSchema', before: (t) => (t.spec.dataStoreSchema = 'tenant_a'), after: (t) => (t.spec.dataStoreSchema = 'tenant_b'), field: 'spec.dataStoreSchema', message: /changing the dataStoreSchema is not supported/ },
  { name: 'unsetting dataStoreSchema', before: (t) => (t.spec.dataStoreSchema = 'tenant_a'), after: (t) => delete t.spec.dataStoreSchema, field: 'spec', message: /unsetting the dataStoreSchema is not supported/ },
  { name: 'changing dataStoreUsername', before: (t) => (t.spec.dataStoreUsername = 'user_a'), after: (t) => (t.spec.dataStoreUsername = 'user_b'), field: 'spec.dataStoreUsername', message: /changing the dataStoreUsername is not supported/ },
  { name: 'moving to a DataStore of another driver', before: () => undefined, after: (t) => (t.spec.dataStore = 'kine-pg'), field: 'spec.dataStore', message: /DataStore kine-pg uses the PostgreSQL driver, but this TenantControlPlane stores its data with the etcd driver: a DataStore migration copies data between DataStores of the same driver only/ },
  { name: 'downgrading the Kubernetes minor', before: () => undefined, after: (t) => (t.spec.kubernetes.version = 'v1.36.0'), field: 'spec.kubernetes.version', message: /cannot be downgraded/ },
  { name: 'skipping a Kubernetes minor', before: (t) => (t.spec.kubernetes.version = 'v1.35.0'), after: (t) => (t.spec.kubernetes.version = 'v1.37.0'), field: 'spec.kubernetes.version', message: /one minor version at a time/ },
  { name: 'changing the cluster domain', before: () => undefined, after: (t) => (np(t).clusterDomain = 'tenant.local'), field: 'spec.networkProfile.clusterDomain', message: /changing the cluster domain is not supported/ },
  { name: 'changing the LoadBalancer class', before: (t) => (np(t).loadBalancerClass = 'a'), after: (t) => (np(t).loadBalancerClass = 'b'), field: 'spec.networkProfile.loadBalancerClass', message: /LoadBalancerClass is immutable/ },
];

describe('controlplane admission: TenantControlPlane and DataStore', function () {
  let plane: Plane;
  let client: Client;
  let transport: RestTransport | undefined;

  before(async function () {
    this.timeout(120_000);
    plane = await sharedPlane();
    const rest = await RestTransport.fromKubeConfig(plane.kubeConfig, { userAgent: 'admission-e2e' });
    transport = rest;
    client = new Client({ transport: rest, mapper: new RestMapper(rest), fieldManager: 'admission-e2e' });
    const namespaces = [DATASTORE_REGISTRY_NAMESPACE, NS, 'tenant-system'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    await plane.applyManifests([...namespaces, ...generatedManifests()]);
    // What the operator does for every DataStore: the object and its registry entry.
    await plane.applyManifests([dataStore('default'), dataStore('etcd')]);
    await client.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME },
      // kine-pg: the entry a PostgreSQL DataStore gets (this release refuses creating one, so only its registry
      // entry exists), for the refusal of a migration across drivers.
      { data: { default: 'etcd', etcd: 'etcd', 'kine-pg': 'PostgreSQL' } },
    );
    // Policies take effect a moment after they are created: wait until the DataStore check answers.
    await waitFor(
      async () => {
        const err = await rejection(client.create(tenant('probe', (t) => (t.spec.dataStore = 'missing')), { dryRun: true }), 'probe');
        return err.message.includes('does not exist') ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the DataStore admission policy to be active' },
    );
  });

  after(async function () {
    this.timeout(60_000);
    if (!transport) return;
    await kubectl(plane.kubeconfigPath, ['delete', 'namespace', NS, 'tenant-system', '--wait=false', '--ignore-not-found']);
    for (const name of ['default', 'etcd']) await client.delete(DS, { name });
    await client.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME },
      { data: { default: null, etcd: null, 'kine-pg': null } },
    );
    transport.close();
  });

  it(`refuses ${String(badCreates.length)} bad manifests, each with a message naming the field`, async function () {
    expect(badCreates.length).to.be.at.least(25);
    const failures: string[] = [];
    for (const tc of badCreates) {
      const err = await rejection(client.create(tc.object(), { dryRun: true }), tc.name);
      if (!err.message.includes(tc.field) || !tc.message.test(err.message)) {
        failures.push(`${tc.name}: expected ${tc.field} and ${String(tc.message)}, got: ${err.message}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('accepts the good base manifests the table starts from', async function () {
    await client.create(tenant('good'), { dryRun: true });
    await client.create(dataStore('good-ds'), { dryRun: true });
  });

  for (const tc of badUpdates) {
    it(`refuses ${tc.name} on update`, async function () {
      const name = `upd-${tc.name.replace(/[^a-z]+/g, '-').replace(/-+$/, '')}`.slice(0, 50);
      const created = await client.create(tenant(name, tc.before));
      try {
        const changed = structuredClone(created);
        tc.after(changed);
        const err = await rejection(client.update(changed), tc.name);
        expect(err.message).to.include(tc.field);
        expect(err.message).to.match(tc.message);
      } finally {
        await client.delete(TCP, { namespace: NS, name });
      }
    });
  }

  it("accepts Kamaji's write-limited modes (spec.writePermissions), changing and clearing them", async function () {
    const created = await client.create(tenant('write-limited', (t) => (t.spec.writePermissions = { blockCreation: true, blockUpdate: true, blockDeletion: true })));
    try {
      expect(created.spec.writePermissions).to.deep.equal({ blockCreation: true, blockUpdate: true, blockDeletion: true });
      const quota = structuredClone(created);
      quota.spec.writePermissions = { blockCreation: true, blockUpdate: true, blockDeletion: false };
      const updated = await client.update(quota);
      expect(updated.spec.writePermissions).to.deep.equal({ blockCreation: true, blockUpdate: true, blockDeletion: false });
      const cleared = structuredClone(updated);
      delete cleared.spec.writePermissions;
      expect((await client.update(cleared)).spec.writePermissions).to.equal(undefined);
    } finally {
      await client.delete(TCP, { namespace: NS, name: 'write-limited' });
    }
  });

  it('allows moving a TenantControlPlane to another DataStore of the same driver (a migration)', async function () {
    const created = await client.create(tenant('migrate'));
    try {
      const changed = structuredClone(created);
      changed.spec.dataStore = 'etcd';
      expect((await client.update(changed)).spec.dataStore).to.equal('etcd');
    } finally {
      await client.delete(TCP, { namespace: NS, name: 'migrate' });
    }
  });

  it('allows a one-minor upgrade and the first assignment of a DataStore', async function () {
    const created = await client.create(tenant('upgrade', (t) => { t.spec.kubernetes.version = 'v1.36.3'; delete t.spec.dataStore; }));
    const changed = structuredClone(created);
    changed.spec.kubernetes.version = 'v1.37.2';
    changed.spec.dataStore = 'default';
    changed.spec.dataStoreSchema = 'assigned_by_operator';
    const updated = await client.update(changed);
    expect(updated.spec.kubernetes.version).to.equal('v1.37.2');
    await client.delete(TCP, { namespace: NS, name: 'upgrade' });
  });

  it('defaults the fields Kamaji defaults', async function () {
    const created = await client.create(tenant('defaults'), { dryRun: true });
    expect(created.spec.networkProfile).to.include({ port: 6443, clusterDomain: 'cluster.local', serviceCidr: '10.95.0.0/16', podCidr: '10.243.0.0/16' });
    expect(created.spec.controlPlane.deployment?.registrySettings?.registry).to.equal('registry.k8s.io');
    expect(created.spec.controlPlane.deployment?.strategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '100%' } });
    expect(created.spec.kubernetes.kubelet.preferredAddressTypes).to.deep.equal(['InternalIP', 'ExternalIP', 'Hostname']);
    expect(created.spec.kubernetes.admissionControllers).to.include('ServiceAccount');
  });

  it('refuses a TenantControlPlane naming a DataStore not registered yet, saying to retry, and accepts it once registered', async function () {
    const registry = { namespace: DATASTORE_REGISTRY_NAMESPACE, name: DATASTORE_REGISTRY_NAME };
    const early = () => client.create(tenant('early', (t) => (t.spec.dataStore = 'just-created')), { dryRun: true });
    // The DataStore exists, but the operator (absent here) has not added it to the registry: the race window.
    await client.create(dataStore('just-created'));
    try {
      const err = await rejection(early(), 'a TenantControlPlane created before its DataStore is registered');
      expect(err.message).to.include('spec.dataStore');
      expect(err.message).to.match(/retry in a few seconds: the operator has not registered it yet/);
      // What the DataStore reconciler does next; a retry then goes through (policies read params a moment late).
      await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap' }, registry, { data: { 'just-created': 'etcd' } });
      await waitFor(async () => ((await early().then(() => true, () => false)) ? true : undefined), { timeoutMs: 30_000, what: 'the retried creation to be admitted' });
    } finally {
      await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap' }, registry, { data: { 'just-created': null } });
      await client.delete(DS, { name: 'just-created' });
    }
  });

  it('refuses to change a DataStore driver', async function () {
    const ds = await client.create(dataStore('immutable-driver'));
    try {
      const changed = structuredClone(ds);
      changed.spec.driver = 'PostgreSQL';
      const err = await rejection(client.update(changed), 'a driver change');
      expect(err.message).to.include('spec.driver');
      expect(err.message).to.match(/Datastore driver is immutable/);
    } finally {
      await client.delete(DS, { name: 'immutable-driver' });
    }
  });

  it('refuses to delete a DataStore its status says is in use, and allows it once unused', async function () {
    await client.create(dataStore('in-use'));
    await client.mergePatch(DS, { name: 'in-use' }, { status: { ready: true, usedBy: [`${NS}/tenant-a`] } }, { subresource: 'status' });
    await waitFor(
      async () => {
        const err = await rejection(client.delete(DS, { name: 'in-use' }), 'deleting a used DataStore');
        return /is used by the TenantControlPlanes .*tenant-a and cannot be deleted/.test(err.message) ? err : undefined;
      },
      { timeoutMs: 30_000, what: 'the in-use policy to refuse the deletion' },
    );
    await client.mergePatch(DS, { name: 'in-use' }, { status: { usedBy: null } }, { subresource: 'status' });
    expect(await client.delete(DS, { name: 'in-use' })).to.equal(true);
  });

  for (const [file, sample] of Object.entries(acceptedSamples)) {
    const unsupported = unsupportedVersionIn(sample);
    const title = unsupported
      ? `refuses Kamaji's sample ${file} for its version ${unsupported} alone, and accepts it at a supported one`
      : `accepts Kamaji's sample ${file} unchanged (kubectl apply)`;
    it(title, async function () {
      // A sample that names its namespace is applied there, as the user would; the others go to the test namespace.
      const namespace = parseManifests(sample).find((o) => o.metadata.namespace)?.metadata.namespace ?? NS;
      let yaml = sample;
      if (unsupported) {
        const err = await rejection(kubectl(plane.kubeconfigPath, ['apply', '-n', namespace, '-f', '-'], sample), file);
        expect(err.message).to.include('spec.kubernetes.version').and.match(UNSUPPORTED_VERSION_MESSAGE);
        yaml = withSupportedVersion(sample, unsupported);
      }
      const out = await kubectl(plane.kubeconfigPath, ['apply', '-n', namespace, '-f', '-'], yaml);
      expect(out).to.match(/created|configured|unchanged/);
      for (const obj of parseManifests(yaml)) {
        if (obj.kind === 'DataStore' && obj.metadata.name !== 'etcd') await client.delete(DS, { name: obj.metadata.name ?? '' });
      }
    });
  }

  for (const sample of refusedSamples) {
    it(`refuses Kamaji's sample ${sample.file}, saying why`, async function () {
      // A version outside the range is refused first, by the CRD; at a supported version the sample's own reason shows.
      const unsupported = unsupportedVersionIn(sample.yaml);
      if (unsupported) {
        const err = await rejection(kubectl(plane.kubeconfigPath, ['apply', '-n', NS, '-f', '-'], sample.yaml), sample.file);
        expect(err.message).to.match(UNSUPPORTED_VERSION_MESSAGE);
      }
      const yaml = unsupported ? withSupportedVersion(sample.yaml, unsupported) : sample.yaml;
      const err = await rejection(kubectl(plane.kubeconfigPath, ['apply', '-n', NS, '-f', '-'], yaml), sample.file);
      expect(err.message).to.match(sample.message);
    });
  }
});
