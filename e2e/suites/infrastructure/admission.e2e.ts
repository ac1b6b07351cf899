// Admission of the infrastructure provider's kinds on a real kube-apiserver: the generated CRDs (CEL rules) and the
// template immutability ValidatingAdmissionPolicy from config/. CAPK's own manifests must be accepted unchanged;
// bad specs are refused with a message that names the field; templates are immutable except for Cluster API's
// topology dry-run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  KubevirtClusterGVK,
  KubevirtClusterTemplateGVK,
  KubevirtMachineGVK,
  KubevirtMachineTemplateGVK,
  TOPOLOGY_DRY_RUN_ANNOTATION,
  type KubevirtCluster,
  type KubevirtClusterTemplate,
  type KubevirtMachine,
  type KubevirtMachineTemplate,
} from '../../../providers/infrastructure/api/index.js';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject, TypeMeta } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseManifests } from '../../../localcloud/manifests.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { waitFor } from '../../../localcloud/wait.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const CRD_DIR = join(repo, 'config/infrastructure/crd');
const POLICY_FILE = join(repo, 'config/infrastructure/admission/template-immutability.yaml');
const CAPK_DIR = fileURLToPath(new URL('./capk-manifests/', import.meta.url));
const NS = 'infra-admission';
const POLICY = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' };
const BINDING = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' };
const KINDS: TypeMeta[] = [KubevirtMachineGVK, KubevirtMachineTemplateGVK, KubevirtClusterGVK, KubevirtClusterTemplateGVK];

const crdYaml = () =>
  readdirSync(CRD_DIR)
    .filter((f) => f.startsWith('infrastructure.cluster.x-k8s.io_'))
    .map((f) => readFileSync(join(CRD_DIR, f), 'utf8'))
    .join('\n---\n');

/** What clusterctl generate does to CAPK's templates: ${VAR} substitution, nothing else. */
const CAPK_VARIABLES: Record<string, string> = {
  NAMESPACE: NS,
  NODE_VM_IMAGE_TEMPLATE: 'quay.io/capk/ubuntu-2404-container-disk:v1.34.1',
  KUBERNETES_VERSION: 'v1.34.1',
  INSTANCE_TYPE: 'u1.large',
  INSTANCE_PREFERENCE: 'ubuntu',
  ROOT_VOLUME_SIZE: '20Gi',
  STORAGE_CLASS_NAME: 'local',
};
function capkManifest(file: string): string {
  const vars: Record<string, string> = { ...CAPK_VARIABLES, CLUSTER_NAME: `capk-${file.replace(/^cluster-template-?|\.yaml$/g, '') || 'default'}` };
  return readFileSync(join(CAPK_DIR, file), 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${file}: no value for \${${name}}`);
    return value;
  });
}

// ---- valid objects the bad cases are derived from --------------------------------------------------------------

const vmSpec = () => ({
  runStrategy: 'Always',
  template: {
    spec: {
      domain: {
        cpu: { cores: 2 },
        memory: { guest: '4Gi' },
        devices: { disks: [{ name: 'containervolume', disk: { bus: 'virtio' } }] },
      },
      evictionStrategy: 'External',
      volumes: [{ name: 'containervolume', containerDisk: { image: 'quay.io/capk/ubuntu-2404-container-disk:v1.34.1' } }],
    },
  },
});
const machineSpec = () => ({ virtualMachineTemplate: { spec: vmSpec() } });

const kvCluster = (name: string, spec: object = {}): KubevirtCluster => ({
  ...KubevirtClusterGVK,
  metadata: { name, namespace: NS },
  spec,
});
const kvMachine = (name: string, spec: object = machineSpec()): KubevirtMachine =>
  ({ ...KubevirtMachineGVK, metadata: { name, namespace: NS }, spec }) as KubevirtMachine;
const machineTemplate = (name: string, spec: object = machineSpec()): KubevirtMachineTemplate =>
  ({ ...KubevirtMachineTemplateGVK, metadata: { name, namespace: NS }, spec: { template: { spec } } }) as KubevirtMachineTemplate;
const clusterTemplate = (name: string, spec: object = {}): KubevirtClusterTemplate => ({
  ...KubevirtClusterTemplateGVK,
  metadata: { name, namespace: NS },
  spec: { template: { spec } },
});

/** A KubevirtMachine whose VM spec went through `edit`. */
function machineWithVM(name: string, edit: (vm: ReturnType<typeof vmSpec>) => void): KubevirtMachine {
  const vm = vmSpec();
  edit(vm);
  return kvMachine(name, { virtualMachineTemplate: { spec: vm } });
}
type VMI = ReturnType<typeof vmSpec>['template']['spec'] & Record<string, unknown>;

interface BadCase {
  name: string;
  object: KubeObject;
  /** Substrings of the apiserver's answer: the field path and the fix. */
  refusedWith: string[];
}

const VMS = 'spec.virtualMachineTemplate.spec';
const badCases: BadCase[] = [
  {
    name: 'an endpoint port above 65535',
    object: kvCluster('bad-port-high', { controlPlaneEndpoint: { host: 'api.example.com', port: 70000 } }),
    refusedWith: ['spec.controlPlaneEndpoint.port', 'must be between 1 and 65535'],
  },
  {
    name: 'an endpoint host without a port',
    object: kvCluster('bad-port-zero', { controlPlaneEndpoint: { host: 'api.example.com', port: 0 } }),
    refusedWith: ['spec.controlPlaneEndpoint.port', 'must be between 1 and 65535'],
  },
  {
    name: 'an endpoint port without a host',
    object: kvCluster('bad-host-missing', { controlPlaneEndpoint: { host: '', port: 6443 } }),
    refusedWith: ['spec.controlPlaneEndpoint.host', 'is required when spec.controlPlaneEndpoint.port is set'],
  },
  {
    name: 'an endpoint host written as a URL',
    object: kvCluster('bad-host-url', { controlPlaneEndpoint: { host: 'https://api.example.com', port: 6443 } }),
    refusedWith: ['spec.controlPlaneEndpoint.host', 'without scheme or port'],
  },
  {
    name: 'an endpoint host carrying its port',
    object: kvCluster('bad-host-port', { controlPlaneEndpoint: { host: '10.0.0.1:6443', port: 6443 } }),
    refusedWith: ['spec.controlPlaneEndpoint.host', 'must be a DNS name or an IP address'],
  },
  {
    name: 'an ExternalName control-plane Service',
    object: kvCluster('bad-svc-type', { controlPlaneServiceTemplate: { spec: { type: 'ExternalName' } } }),
    refusedWith: ['spec.controlPlaneServiceTemplate.spec.type', 'Unsupported value: "ExternalName"', '"LoadBalancer"'],
  },
  {
    name: 'a control-plane Service port of 0',
    object: kvCluster('bad-svc-port', { controlPlaneServiceTemplate: { spec: { port: 0 } } }),
    refusedWith: ['spec.controlPlaneServiceTemplate.spec.port', 'must be between 1 and 65535'],
  },
  {
    name: 'a control-plane Service namespace that is no namespace name',
    object: kvCluster('bad-svc-ns', { controlPlaneServiceTemplate: { metadata: { namespace: 'Tenant_A' } } }),
    refusedWith: ['spec.controlPlaneServiceTemplate.metadata.namespace', 'must be a namespace name'],
  },
  {
    name: 'an SSH key Secret name with spaces',
    object: kvCluster('bad-ssh-secret', { sshKeys: { dataSecretName: 'my keys' } }),
    refusedWith: ['spec.sshKeys.dataSecretName', 'must be a Secret name'],
  },
  {
    name: 'an SSH keys configRef without a name',
    object: kvCluster('bad-ssh-ref', { sshKeys: { configRef: { kind: 'Secret' } } }),
    refusedWith: ['spec.sshKeys.configRef', 'spec.sshKeys.configRef.name is required'],
  },
  {
    name: 'an infra cluster Secret reference without a name',
    object: kvCluster('bad-infra-noname', { infraClusterSecretRef: { namespace: 'capk-system' } }),
    refusedWith: ['spec.infraClusterSecretRef', 'spec.infraClusterSecretRef.name is required'],
  },
  {
    name: 'an infra cluster kubeconfig in a ConfigMap',
    object: kvCluster('bad-infra-kind', { infraClusterSecretRef: { kind: 'ConfigMap', name: 'kubeconfig' } }),
    refusedWith: ['spec.infraClusterSecretRef', 'kind must be Secret'],
  },
  {
    name: 'a KubevirtMachine without a VM template',
    object: kvMachine('bad-no-vm', {}),
    refusedWith: ['spec.virtualMachineTemplate', 'Required value'],
  },
  {
    name: 'a VM spec without its VMI template',
    object: kvMachine('bad-no-vmi', { virtualMachineTemplate: { spec: { runStrategy: 'Always' } } }),
    refusedWith: [`${VMS}.template`, 'Required value'],
  },
  {
    name: 'a VMI spec without a domain',
    object: machineWithVM('bad-no-domain', (vm) => {
      delete (vm.template.spec as Partial<VMI>).domain;
    }),
    refusedWith: [`${VMS}.template.spec.domain`, 'Required value'],
  },
  {
    name: 'a domain without devices',
    object: machineWithVM('bad-no-devices', (vm) => {
      delete (vm.template.spec.domain as { devices?: unknown }).devices;
    }),
    refusedWith: [`${VMS}.template.spec.domain.devices`, 'Required value'],
  },
  {
    name: 'both running and runStrategy',
    object: machineWithVM('bad-running', (vm) => Object.assign(vm, { running: true })),
    refusedWith: [VMS, 'running and', 'mutually exclusive'],
  },
  {
    name: 'an unknown runStrategy',
    object: machineWithVM('bad-run-strategy', (vm) => (vm.runStrategy = 'Sometimes')),
    refusedWith: [`${VMS}.runStrategy`, 'Unsupported value: "Sometimes"', '"RerunOnFailure"'],
  },
  {
    name: 'an unknown evictionStrategy',
    object: machineWithVM('bad-eviction', (vm) => (vm.template.spec.evictionStrategy = 'Migrate')),
    refusedWith: [`${VMS}.template.spec.evictionStrategy`, 'Unsupported value: "Migrate"', '"External"'],
  },
  {
    name: 'zero CPU cores',
    object: machineWithVM('bad-cores', (vm) => (vm.template.spec.domain.cpu.cores = 0)),
    refusedWith: [`${VMS}.template.spec.domain.cpu.cores`, 'must be at least 1'],
  },
  {
    name: 'guest memory that is no quantity',
    object: machineWithVM('bad-memory', (vm) => (vm.template.spec.domain.memory.guest = 'lots')),
    refusedWith: [`${VMS}.template.spec.domain.memory.guest`, 'should match'],
  },
  {
    name: 'a disk without a volume',
    object: machineWithVM('bad-disk-ref', (vm) => vm.template.spec.domain.devices.disks.push({ name: 'data', disk: { bus: 'virtio' } })),
    refusedWith: [`${VMS}.template.spec`, 'every disk', 'needs a volume of the same name'],
  },
  {
    name: 'two volumes with one name',
    object: machineWithVM('bad-dup-volume', (vm) => vm.template.spec.volumes.push({ name: 'containervolume', containerDisk: { image: 'y' } })),
    refusedWith: [`${VMS}.template.spec.volumes`, 'names must be unique'],
  },
  {
    name: 'a volume without a name',
    object: machineWithVM('bad-volume-name', (vm) => vm.template.spec.volumes.push({ name: '', containerDisk: { image: 'x' } })),
    refusedWith: [`${VMS}.template.spec.volumes[1].name`, 'every volume needs a non-empty name'],
  },
  {
    name: 'two networks with one name',
    object: machineWithVM('bad-dup-network', (vm) => {
      Object.assign(vm.template.spec, { networks: [{ name: 'default', pod: {} }, { name: 'default', multus: { networkName: 'br' } }] });
    }),
    refusedWith: [`${VMS}.template.spec.networks`, 'names must be unique'],
  },
  {
    name: 'two DataVolume templates with one name',
    object: machineWithVM('bad-dup-dv', (vm) =>
      Object.assign(vm, { dataVolumeTemplates: [{ metadata: { name: 'boot' }, spec: {} }, { metadata: { name: 'boot' }, spec: {} }] }),
    ),
    refusedWith: [`${VMS}.dataVolumeTemplates`, 'names must be unique'],
  },
  {
    name: 'an interface without a network',
    object: machineWithVM('bad-iface', (vm) => {
      (vm.template.spec.domain.devices as Record<string, unknown>).interfaces = [{ name: 'default', masquerade: {} }];
    }),
    refusedWith: [`${VMS}.template.spec`, 'every interface', 'needs a network of the same name'],
  },
  {
    name: 'a DataVolume template without a name',
    object: machineWithVM('bad-dv-name', (vm) => Object.assign(vm, { dataVolumeTemplates: [{ metadata: { name: '' }, spec: {} }] })),
    refusedWith: [`${VMS}.dataVolumeTemplates[0].metadata.name`, 'is required'],
  },
  {
    name: 'a VM namespace that is no namespace name',
    object: kvMachine('bad-vm-ns', { virtualMachineTemplate: { metadata: { namespace: 'Infra' }, spec: vmSpec() } }),
    refusedWith: ['spec.virtualMachineTemplate.metadata.namespace', 'must be a namespace name'],
  },
  {
    name: 'an unknown bootstrap check strategy',
    object: kvMachine('bad-check', { ...machineSpec(), virtualMachineBootstrapCheck: { checkStrategy: 'tcp' } }),
    refusedWith: ['spec.virtualMachineBootstrapCheck.checkStrategy', 'Unsupported value: "tcp"', '"ssh"'],
  },
  {
    name: 'a providerID of another provider',
    object: kvMachine('bad-provider-id', { ...machineSpec(), providerID: 'aws:///eu-west-1a/i-0123' }),
    refusedWith: ['spec.providerID', 'must be kubevirt://<VirtualMachine name>'],
  },
  {
    name: 'a KubevirtMachineTemplate without its template',
    object: { ...KubevirtMachineTemplateGVK, metadata: { name: 'bad-mt-empty', namespace: NS }, spec: {} },
    refusedWith: ['spec.template', 'Required value'],
  },
  {
    name: 'a KubevirtMachineTemplate whose machines would have zero CPU sockets',
    object: machineTemplate('bad-mt-sockets', {
      virtualMachineTemplate: { spec: { ...vmSpec(), template: { spec: { ...vmSpec().template.spec, domain: { ...vmSpec().template.spec.domain, cpu: { sockets: 0 } } } } } },
    }),
    refusedWith: [`spec.template.${VMS}.template.spec.domain.cpu.sockets`, 'must be at least 1'],
  },
  {
    name: 'a KubevirtClusterTemplate with an unknown Service type',
    object: clusterTemplate('bad-ct-type', { controlPlaneServiceTemplate: { spec: { type: 'Headless' } } }),
    refusedWith: ['spec.template.spec.controlPlaneServiceTemplate.spec.type', 'Unsupported value: "Headless"'],
  },
];

interface UpdateCase {
  name: string;
  /** Created first. */
  object: KubeObject;
  /** The forbidden change. */
  change: (obj: KubeObject & { spec: Record<string, unknown> }) => void;
  refusedWith: string[];
}

const updateCases: UpdateCase[] = [
  {
    name: 'moving a set control-plane endpoint',
    object: kvCluster('upd-endpoint', { controlPlaneEndpoint: { host: '10.0.0.10', port: 6443 } }),
    change: (o) => (o.spec.controlPlaneEndpoint = { host: '10.0.0.11', port: 6443 }),
    refusedWith: ['spec.controlPlaneEndpoint', 'immutable once set'],
  },
  {
    name: 'pointing a cluster at another infra cluster',
    object: kvCluster('upd-infra', { infraClusterSecretRef: { name: 'infra-a' } }),
    change: (o) => (o.spec.infraClusterSecretRef = { name: 'infra-b' }),
    refusedWith: ['spec.infraClusterSecretRef', 'is immutable'],
  },
  {
    name: 'changing a set providerID',
    object: kvMachine('upd-provider-id', { ...machineSpec(), providerID: 'kubevirt://upd-provider-id' }),
    change: (o) => (o.spec.providerID = 'kubevirt://someone-else'),
    refusedWith: ['spec.providerID', 'immutable once set'],
  },
  {
    name: 'editing the VM template of a live machine',
    object: kvMachine('upd-vm'),
    change: (o) => ((o.spec.virtualMachineTemplate as { spec: { runStrategy: string } }).spec.runStrategy = 'Halted'),
    refusedWith: ['spec.virtualMachineTemplate', 'is immutable', 'change the KubevirtMachineTemplate'],
  },
];

describe('infrastructure admission: CRD rules and template immutability', function () {
  this.timeout(120_000);
  let plane: Plane;
  let transport: RestTransport | undefined;
  let client: Client;

  before(async function () {
    this.timeout(30 * 60_000); // the first run may build the tools
    plane = await sharedPlane();
    await plane.applyManifests([crdYaml(), readFileSync(POLICY_FILE, 'utf8')].join('\n---\n'));
    transport = await RestTransport.fromKubeConfig(plane.kubeConfig, { userAgent: 'infra-admission-e2e' });
    client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'infra-admission-e2e' });
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The policy takes effect once the apiserver has loaded it: wait until it refuses a template change.
    await client.create(clusterTemplate('policy-probe'));
    await waitFor(
      async () => {
        const probe = clusterTemplate('policy-probe', { controlPlaneServiceTemplate: { spec: { type: 'NodePort' } } });
        const current = await client.get<KubevirtClusterTemplate>(KubevirtClusterTemplateGVK, { namespace: NS, name: 'policy-probe' }, { direct: true });
        probe.metadata.resourceVersion = current?.metadata.resourceVersion ?? '';
        try {
          await client.update(probe, { dryRun: true });
        } catch (err) {
          if (String(err).includes('is immutable')) return true;
          throw err;
        }
        return undefined;
      },
      { timeoutMs: 30_000, what: 'the template immutability policy to take effect' },
    );
  });

  after(async function () {
    this.timeout(120_000);
    if (!transport) return; // the plane never came up: nothing was created
    for (const kind of KINDS) {
      for (const obj of await client.list(kind, { namespace: NS, direct: true })) {
        if (obj.metadata.finalizers?.length) await client.mergePatch(kind, { namespace: NS, name: obj.metadata.name ?? '' }, { metadata: { finalizers: null } });
        await client.delete(kind, { namespace: NS, name: obj.metadata.name ?? '' });
      }
    }
    await client.delete(BINDING, { name: 'kvcloud-kubevirt-template-immutability' });
    await client.delete(POLICY, { name: 'kvcloud-kubevirt-template-immutability' });
    await client.delete({ apiVersion: 'v1', kind: 'Namespace' }, { name: NS });
    await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'Namespace' }, { name: NS }, { direct: true })) ? undefined : true), {
      timeoutMs: 60_000,
      what: `namespace ${NS} to be gone`,
    });
    transport.close();
  });

  it('type-checks every policy expression against the generated CRD schemas', async () => {
    const policy = await waitFor(
      async () => {
        const p = await client.get<KubeObject & { status?: { typeChecking?: { expressionWarnings?: { warning: string }[] } } }>(
          POLICY,
          { name: 'kvcloud-kubevirt-template-immutability' },
          { direct: true },
        );
        return p?.status?.typeChecking ? p : undefined;
      },
      { timeoutMs: 30_000, what: 'the policy to be type-checked' },
    );
    expect(policy.status?.typeChecking?.expressionWarnings ?? [], JSON.stringify(policy.status)).to.deep.equal([]);
  });

  describe('accepts CAPK manifests unchanged', () => {
    for (const file of readdirSync(CAPK_DIR).filter((f) => f.endsWith('.yaml')).sort()) {
      it(`accepts ${file} with strict field validation, and stores every field as written`, async () => {
        const text = capkManifest(file);
        const objects = parseManifests(text);
        expect(objects.length, file).to.be.greaterThan(0);
        // As a user would: kubectl apply, refusing unknown fields rather than dropping them.
        await kubectl(plane.kubeconfigPath, ['apply', '--server-side', '--validate=strict', '--field-manager=capk-user', '-f', '-'], text);
        for (const want of objects) {
          const got = await client.get<KubeObject & { spec?: unknown }>(
            { apiVersion: want.apiVersion ?? '', kind: want.kind ?? '' },
            { namespace: NS, name: want.metadata.name ?? '' },
            { direct: true },
          );
          expect(got?.spec, `${want.kind ?? ''} ${want.metadata.name ?? ''}`).to.deep.equal((want as { spec?: unknown }).spec ?? {});
        }
      });
    }
  });

  it('keeps KubeVirt fields the schema does not list, under strict field validation', async () => {
    const vm = vmSpec();
    const machine = kvMachine('kubevirt-passthrough', {
      virtualMachineTemplate: {
        spec: {
          ...vm,
          instancetype: { inferFromVolume: 'containervolume', inferFromVolumeFailurePolicy: 'Ignore' },
          template: {
            spec: {
              ...vm.template.spec,
              domain: { ...vm.template.spec.domain, firmware: { bootloader: { efi: { secureBoot: false } } }, features: { smm: {} } },
              accessCredentials: [{ sshPublicKey: { source: { secret: { secretName: 'keys' } }, propagationMethod: { noCloud: {} } } }],
              startStrategy: 'Paused',
            },
          },
        },
      },
    });
    await kubectl(plane.kubeconfigPath, ['apply', '--server-side', '--validate=strict', '--field-manager=capk-user', '-f', '-'], JSON.stringify(machine));
    const stored = await client.get<KubevirtMachine>(KubevirtMachineGVK, { namespace: NS, name: 'kubevirt-passthrough' }, { direct: true });
    expect(stored?.spec).to.deep.equal(machine.spec);
  });

  it('accepts a VM template asking for NoCloud network data through its own cloud-init volume', async () => {
    const machine = machineWithVM('nocloud-request', (vm) => {
      (vm.template.spec.volumes as object[]).push({ name: 'cloudinitvolume', cloudInitNoCloud: { networkData: 'version: 2\nethernets: {}\n' } });
      vm.template.spec.domain.devices.disks.push({ name: 'cloudinitvolume', disk: { bus: 'virtio' } });
    });
    const created = await client.create(machine);
    expect(created.spec).to.deep.equal(machine.spec);
  });

  describe('refuses bad manifests with a message naming the field', () => {
    it(`has at least 25 of them (${badCases.length})`, () => expect(badCases.length).to.be.at.least(25));
    for (const tc of badCases) {
      it(`refuses ${tc.name}`, async () => {
        const refused = await rejection(client.create(tc.object), tc.name);
        for (const part of tc.refusedWith) expect(refused.message, refused.message).to.include(part);
      });
    }
  });

  describe('refuses changes to what a live object was built from', () => {
    for (const tc of updateCases) {
      it(`refuses ${tc.name}`, async () => {
        const created = (await client.create(tc.object)) as KubeObject & { spec: Record<string, unknown> };
        const changed = structuredClone(created);
        tc.change(changed);
        const refused = await rejection(client.update(changed), tc.name);
        for (const part of tc.refusedWith) expect(refused.message, refused.message).to.include(part);
      });
    }

    it('lets the controller fill in the endpoint and the providerID the first time', async () => {
      const cluster = await client.create(kvCluster('first-endpoint', { controlPlaneEndpoint: { host: '', port: 0 } }));
      cluster.spec = { controlPlaneEndpoint: { host: 'capk-lb.infra.svc', port: 6443 } };
      const updated = await client.update(cluster);
      expect(updated.spec?.controlPlaneEndpoint).to.deep.equal({ host: 'capk-lb.infra.svc', port: 6443 });

      const machine = await client.create(kvMachine('first-provider-id'));
      machine.spec.providerID = 'kubevirt://first-provider-id';
      machine.metadata.labels = { 'cluster.x-k8s.io/cluster-name': 'capk' };
      expect((await client.update(machine)).spec.providerID).to.equal('kubevirt://first-provider-id');
    });

    it('accepts failure domains in the v1beta2 list form and the v1beta1 map form', async () => {
      const cluster = await client.create(kvCluster('failure-domains'));
      const ref = { namespace: NS, name: 'failure-domains' };
      const list = [{ name: 'zone-a', controlPlane: true }, { name: 'zone-b', attributes: { rack: 'r1' } }];
      let stored = await client.mergePatch<KubevirtCluster>(KubevirtClusterGVK, ref, { status: { failureDomains: list } }, { subresource: 'status' });
      expect(stored.status?.failureDomains).to.deep.equal(list);
      const map = { 'zone-a': { controlPlane: true }, 'zone-b': { controlPlane: false, attributes: { rack: 'r1' } } };
      await client.mergePatch(KubevirtClusterGVK, ref, { status: { failureDomains: null } }, { subresource: 'status' });
      stored = await client.mergePatch<KubevirtCluster>(KubevirtClusterGVK, ref, { status: { failureDomains: map } }, { subresource: 'status' });
      expect(stored.status?.failureDomains).to.deep.equal(map);
      expect(cluster.spec).to.deep.equal({});
    });
  });

  describe('templates are immutable, except for the ClusterClass topology dry-run', () => {
    const cases = [
      {
        kind: 'KubevirtMachineTemplate',
        make: (name: string): KubeObject => machineTemplate(name),
        change: (t: KubeObject) => {
          ((t as KubevirtMachineTemplate).spec.template.spec.virtualMachineTemplate.spec as { runStrategy?: string }).runStrategy = 'Halted';
        },
        fix: 'point the MachineDeployment, KubeadmControlPlane or ClusterClass at it',
      },
      {
        kind: 'KubevirtClusterTemplate',
        make: (name: string): KubeObject => clusterTemplate(name, { controlPlaneServiceTemplate: { spec: { type: 'ClusterIP' } } }),
        change: (t: KubeObject) => {
          (t as KubevirtClusterTemplate).spec.template.spec.controlPlaneServiceTemplate = { spec: { type: 'LoadBalancer' } };
        },
        fix: 'point the ClusterClass at it',
      },
    ];
    for (const tc of cases) {
      const prefix = tc.kind.toLowerCase();
      const typeOf = (o: KubeObject): TypeMeta => ({ apiVersion: o.apiVersion ?? '', kind: o.kind ?? '' });
      const specOf = (o: KubeObject | undefined) => (o as { spec?: unknown } | undefined)?.spec;

      it(`${tc.kind}: refuses a spec change by update or apply, naming the field and the fix`, async () => {
        const created = await client.create(tc.make(`${prefix}-update`));
        const changed = structuredClone(created);
        tc.change(changed);
        const refused = await rejection(client.update(changed), `an update of ${tc.kind} spec`);
        expect(refused.message).to.include(`${tc.kind} ${prefix}-update: spec.template.spec is immutable`).and.include(tc.fix);
        const applied = tc.make(`${prefix}-update`);
        tc.change(applied);
        const refusedApply = await rejection(client.apply(applied), `a server-side apply of ${tc.kind} spec`);
        expect(refusedApply.message).to.include('spec.template.spec is immutable');
      });

      it(`${tc.kind}: refuses a dry-run without the topology annotation, and an annotated change that is no dry-run`, async () => {
        const created = await client.create(tc.make(`${prefix}-half`));
        const changed = structuredClone(created);
        tc.change(changed);
        const plainDryRun = await rejection(client.update(changed, { dryRun: true }), 'a dry-run without the topology annotation');
        expect(plainDryRun.message).to.include('spec.template.spec is immutable');
        changed.metadata.annotations = { [TOPOLOGY_DRY_RUN_ANNOTATION]: '' };
        const annotatedWrite = await rejection(client.update(changed), 'an annotated update that is not a dry-run');
        expect(annotatedWrite.message).to.include('spec.template.spec is immutable');
      });

      it(`${tc.kind}: lets labels and annotations change`, async () => {
        const created = await client.create(tc.make(`${prefix}-labels`));
        created.metadata.labels = { 'cluster.x-k8s.io/cluster-name': 'capk' };
        const updated = await client.update(created);
        expect(updated.metadata.labels).to.deep.equal({ 'cluster.x-k8s.io/cluster-name': 'capk' });
      });

      it(`${tc.kind}: lets the topology controller's server-side-apply dry-run through, changing nothing`, async () => {
        const original = await client.create(tc.make(`${prefix}-topology`));
        const desired = tc.make(`${prefix}-topology`);
        tc.change(desired);
        desired.metadata.annotations = { [TOPOLOGY_DRY_RUN_ANNOTATION]: '' };
        const answer = await client.apply(desired, { dryRun: true });
        expect(specOf(answer)).to.deep.equal(specOf(desired));
        const stored = await client.get(typeOf(desired), { namespace: NS, name: `${prefix}-topology` }, { direct: true });
        expect(specOf(stored)).to.deep.equal(specOf(original));
        expect(stored?.metadata.annotations?.[TOPOLOGY_DRY_RUN_ANNOTATION]).to.equal(undefined);
      });
    }
  });

  it('serves the kinds under their short names, in the cluster-api category, with printer columns', async () => {
    const machine = kvMachine('columns', { ...machineSpec(), providerID: 'kubevirt://columns' });
    machine.metadata.labels = { 'cluster.x-k8s.io/cluster-name': 'capk-columns' };
    await client.create(machine);
    await client.create(kvCluster('columns'));
    await client.create(machineTemplate('columns'));
    await client.create(clusterTemplate('columns'));
    const machines = await kubectl(plane.kubeconfigPath, ['get', 'kvmachine', '-n', NS, '-o', 'wide']);
    expect(machines.split('\n')[0]).to.match(/NAME\s+CLUSTER\s+MACHINE\s+PROVIDERID\s+PROVISIONED\s+READY\s+ZONE\s+NODEUPDATED\s+AGE/);
    expect(machines.split('\n')[1], machines).to.match(/^columns\s+capk-columns\s+kubevirt:\/\/columns\s+/);
    const all = await kubectl(plane.kubeconfigPath, ['get', 'cluster-api', '-n', NS, '-o', 'name']);
    for (const kind of ['kubevirtcluster', 'kubevirtmachine', 'kubevirtmachinetemplate', 'kubevirtclustertemplate']) {
      expect(all).to.include(`${kind}.infrastructure.cluster.x-k8s.io/`);
    }
    for (const shortName of ['kvcluster', 'kvmt', 'kct']) await kubectl(plane.kubeconfigPath, ['get', shortName, '-n', NS]);
  });
});
