// The guest end to end with the real kubeadm bootstrap provider: CABPK (installed by clusterctl) renders a worker
// KubeadmConfig into bootstrap data, creating its bootstrap token in the tenant through <cluster>-kubeconfig and
// pinning the CA from <cluster>-ca; a pod shaped like the KubeVirt simulator's virt-launcher runs the guest image
// with that data mounted as the VM's cloud-init, and the tenant's kube-controller-manager approves and signs the
// node's CSR. No KubeVirt and no infrastructure provider are involved: the test plays the infrastructure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Type } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { buildCRD } from '../../../lib/crd/crd.js';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { certificatePem, issueCertificate, privateKeyPem } from '../../../lib/pki/x509.js';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import {
  installTestInfrastructure,
  markTestClusterProvisioned,
  markTestControlPlaneInitialized,
  TEST_CONTROL_PLANE_GROUP,
  TEST_INFRASTRUCTURE_GROUP,
} from '../../harness/clusterctl/test-infrastructure.js';
import type { Node } from '../../../localcloud/node-object.js';
import { kubeConfigFor } from '../../../simulators/guest/connection.js';
import { randomBootstrapToken, startTenantPlane, type TenantPlane } from '../../../simulators/guest/tenant-plane.js';
import { newControlPlaneCertificates } from '../../../simulators/guest/testdata/cabpk-certificates.js';
import { cabpkControlPlaneInitCloudConfig } from '../../../simulators/guest/testdata/cabpk-userdata.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';

const NAMESPACE = 'default';
const CLUSTER = 'acme';
const MACHINE = 'acme-md-0-worker1';
const LAUNCHER_IMAGE = 'kvcloud.local/test/virt-launcher:dev';
const YEAR = 365 * 86_400_000;

async function getJSON<T>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
}

// A machine kind for the Machine's infrastructureRef; nobody reconciles it, the test is the provider.
const TEST_MACHINE_CRD = buildCRD({
  group: TEST_INFRASTRUCTURE_GROUP,
  kind: 'TestMachine',
  plural: 'testmachines',
  scope: 'Namespaced',
  labels: { 'cluster.x-k8s.io/v1beta2': 'v1alpha1' },
  versions: [{ name: 'v1alpha1', schema: Type.Object({}, { 'x-kubernetes-preserve-unknown-fields': true }), subresources: { status: true } }],
});

// CABPK v1.14 reads the control plane object's version (for the ClusterConfiguration file it gives workers), and
// its own RBAC covers only KubeadmControlPlane: any other control plane provider must grant it this read.
const BOOTSTRAP_READS_TEST_CONTROL_PLANE = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kvcloud-test-bootstrap-reads-control-plane' },
    rules: [{ apiGroups: [TEST_CONTROL_PLANE_GROUP], resources: ['testcontrolplanes'], verbs: ['get', 'list', 'watch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kvcloud-test-bootstrap-reads-control-plane' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kvcloud-test-bootstrap-reads-control-plane' },
    subjects: [{ kind: 'ServiceAccount', name: 'capi-kubeadm-bootstrap-manager', namespace: 'capi-kubeadm-bootstrap-system' }],
  },
];

function workerObjects(endpoint: { host: string; port: number }): object[] {
  const meta = (name: string) => ({ name, namespace: NAMESPACE });
  return [
    { apiVersion: `${TEST_INFRASTRUCTURE_GROUP}/v1alpha1`, kind: 'TestCluster', metadata: meta(CLUSTER), spec: { controlPlaneEndpoint: endpoint } },
    { apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, kind: 'TestControlPlane', metadata: meta(CLUSTER), spec: { version: upstreamVersion('KUBERNETES_VERSION') } },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: meta(CLUSTER),
      spec: {
        controlPlaneEndpoint: endpoint,
        infrastructureRef: { apiGroup: TEST_INFRASTRUCTURE_GROUP, kind: 'TestCluster', name: CLUSTER },
        controlPlaneRef: { apiGroup: TEST_CONTROL_PLANE_GROUP, kind: 'TestControlPlane', name: CLUSTER },
      },
    },
    {
      apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta2',
      kind: 'KubeadmConfig',
      metadata: meta(MACHINE),
      spec: {
        format: 'cloud-config',
        joinConfiguration: {
          nodeRegistration: {
            name: '{{ ds.meta_data.local_hostname }}',
            kubeletExtraArgs: [
              { name: 'provider-id', value: 'kubevirt://{{ ds.meta_data.local_hostname }}' },
              { name: 'node-labels', value: 'node.kubernetes.io/pool=md-0' },
            ],
          },
        },
        users: [{ name: 'capk', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvcloudtestkey capk'], sudo: 'ALL=(ALL) NOPASSWD:ALL' }],
      },
    },
    { apiVersion: `${TEST_INFRASTRUCTURE_GROUP}/v1alpha1`, kind: 'TestMachine', metadata: meta(MACHINE), spec: {} },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      metadata: { ...meta(MACHINE), labels: { 'cluster.x-k8s.io/cluster-name': CLUSTER } },
      spec: {
        clusterName: CLUSTER,
        version: upstreamVersion('KUBERNETES_VERSION'),
        bootstrap: { configRef: { apiGroup: 'bootstrap.cluster.x-k8s.io', kind: 'KubeadmConfig', name: MACHINE } },
        infrastructureRef: { apiGroup: TEST_INFRASTRUCTURE_GROUP, kind: 'TestMachine', name: MACHINE },
      },
    },
  ];
}

/** The launcher pod as the KubeVirt simulator renders it for a VM whose cloud-init userdata is `secretName`. */
function launcherPod(vmName: string, secretName: string): object {
  const stateDirs: [string, string][] = [
    ['etc-kubernetes', '/etc/kubernetes'],
    ['var-lib-kubelet', '/var/lib/kubelet'],
    ['run-kubeadm', '/run/kubeadm'],
    ['var-lib-etcd', '/var/lib/etcd'],
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `virt-launcher-${vmName}-abcde`, namespace: NAMESPACE, labels: { 'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': vmName } },
    spec: {
      hostname: vmName,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'compute',
          image: LAUNCHER_IMAGE,
          env: [
            { name: 'GUEST_VM_NAMESPACE', value: NAMESPACE },
            { name: 'GUEST_VM_NAME', value: vmName },
            { name: 'GUEST_NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'GUEST_CLOUDINIT_SOURCE', value: 'configDrive' },
            { name: 'GUEST_LEASE_RENEW_MS', value: '2000' },
          ],
          volumeMounts: [
            { name: 'cloudinit-userdata', mountPath: '/var/run/kvcloud/cloudinit/userdata', readOnly: true },
            ...stateDirs.map(([name, mountPath]) => ({ name, mountPath })),
          ],
        },
      ],
      volumes: [
        // CABPK keeps the data under "value"; an infrastructure provider copies it to a "userdata" key.
        { name: 'cloudinit-userdata', secret: { secretName, items: [{ key: 'value', path: 'userdata' }] } },
        ...stateDirs.map(([name]) => ({ name, emptyDir: {} })),
      ],
    },
  };
}

/** The error lines of a launcher pod's guest log (the pod runner keeps container logs under <dir>/logs). */
function guestErrors(dir: string, vmName: string): string {
  const logs = readdirSync(join(dir, 'logs'), { recursive: true, encoding: 'utf8' }).filter((p) => p.includes(vmName) && p.endsWith('.log'));
  const lines = logs.flatMap((p) => readFileSync(join(dir, 'logs', p), 'utf8').split('\n'));
  return lines.filter((l) => l.includes('"level":50')).join('\n').slice(0, 3000) || lines.slice(-5).join('\n');
}

function findFile(dir: string, name: string): string | undefined {
  const hit = readdirSync(dir, { recursive: true, encoding: 'utf8' }).find((p) => p.endsWith(`/${name}`));
  return hit === undefined ? undefined : join(dir, hit);
}

describe('simulated guest with the real kubeadm bootstrap provider, in a virt-launcher-shaped pod', function () {
  let cluster: Cluster | undefined;
  let repo: ClusterctlRepository | undefined;
  let tenant: TenantPlane | undefined;
  let kubeconfig: string;

  before(async function () {
    this.timeout(10 * 60_000);
    cluster = await startCluster();
    kubeconfig = cluster.plane.kubeconfigPath;
    repo = await createClusterctlRepository();
    await clusterctlInit(repo, kubeconfig);
    await installTestInfrastructure(kubeconfig);
    await kubectl(kubeconfig, ['apply', '-f', '-'], [TEST_MACHINE_CRD, ...BOOTSTRAP_READS_TEST_CONTROL_PLANE].map((o) => stringify(o)).join('---\n'));
    await waitFor(
      async () =>
        (await kubectl(kubeconfig, ['get', 'crd', `testmachines.${TEST_INFRASTRUCTURE_GROUP}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])) === 'True'
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'the TestMachine CRD to be established' },
    );
    tenant = await startTenantPlane({ clusterName: CLUSTER, bindAddress: NODE_IP, management: { kubeConfig: cluster.plane.kubeConfig, namespace: NAMESPACE } });
  });

  after(async function () {
    this.timeout(2 * 60_000);
    await tenant?.stop();
    await cluster?.stop();
    await repo?.remove();
  });

  it('joins the tenant with the bootstrap data CABPK rendered: Node Ready with the rendered name and providerID, sentinel written', async function () {
    this.timeout(5 * 60_000);
    if (!tenant || !cluster) throw new Error('the before hook did not finish');
    const url = new URL(tenant.server);
    const endpoint = { host: url.hostname, port: Number(url.port) };
    await kubectl(kubeconfig, ['apply', '-f', '-'], workerObjects(endpoint).map((o) => stringify(o)).join('---\n'));
    await markTestClusterProvisioned(kubeconfig, NAMESPACE, CLUSTER);
    await markTestControlPlaneInitialized(kubeconfig, NAMESPACE, CLUSTER);
    const version = JSON.stringify({ status: { version: upstreamVersion('KUBERNETES_VERSION') } });
    await kubectl(kubeconfig, ['patch', `testcontrolplanes.${TEST_CONTROL_PLANE_GROUP}`, '-n', NAMESPACE, CLUSTER, '--subresource=status', '--type=merge', '-p', version]);

    interface Conditioned { metadata: { ownerReferences?: { kind: string }[] }; status?: { dataSecretName?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } }
    const brief = (o: Conditioned) => JSON.stringify({ owners: o.metadata.ownerReferences?.map((r) => r.kind), conditions: o.status?.conditions?.filter((c) => c.status !== 'True') });
    const dataSecretName = await waitFor(
      async () => {
        const config = await getJSON<Conditioned>(kubeconfig, ['kubeadmconfigs.bootstrap.cluster.x-k8s.io', '-n', NAMESPACE, MACHINE]);
        if (config.status?.dataSecretName) return config.status.dataSecretName;
        const owner = await getJSON<Conditioned>(kubeconfig, ['clusters.cluster.x-k8s.io', '-n', NAMESPACE, CLUSTER]);
        throw new Error(`KubeadmConfig ${brief(config)}; Cluster ${brief(owner)}`);
      },
      { timeoutMs: 120_000, what: `KubeadmConfig ${MACHINE} to get its bootstrap data` },
    );
    const secret = await getJSON<{ data: { value: string; format?: string } }>(kubeconfig, ['secret', '-n', NAMESPACE, dataSecretName]);
    const userdata = Buffer.from(secret.data.value, 'base64').toString();
    // What CABPK really wrote: jinja cloud-config joining through the tenant's endpoint with the CA pinned.
    expect(userdata).to.match(/^## template: jinja\n#cloud-config/);
    expect(userdata).to.include(`apiServerEndpoint: ${url.host}`).and.include(tenant.caCertHash).and.include('/run/cluster-api/bootstrap-success.complete');

    await kubectl(kubeconfig, ['apply', '-f', '-'], stringify(launcherPod(MACHINE, dataSecretName)));
    const pod = await waitFor(
      async () => {
        const p = await getJSON<{ status?: { phase?: string; podIP?: string } }>(kubeconfig, ['pod', '-n', NAMESPACE, `virt-launcher-${MACHINE}-abcde`]);
        if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') throw new Error(`launcher pod ended: ${JSON.stringify(p.status)}`);
        return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
      },
      { timeoutMs: 60_000, what: 'the launcher pod to run' },
    );

    const node = await waitFor(
      async () => {
        const n = await tenant?.client.get<Node>({ apiVersion: 'v1', kind: 'Node' }, { name: MACHINE }, { direct: true });
        return n?.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
      },
      { timeoutMs: 120_000, what: `tenant Node ${MACHINE} Ready` },
    );
    expect(node.spec?.providerID).to.equal(`kubevirt://${MACHINE}`);
    expect(node.metadata.labels).to.include({ 'node.kubernetes.io/pool': 'md-0' });
    expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: pod.status?.podIP });

    // The token CABPK created in the tenant is the one the node authenticated with.
    const tokenID = /token: ([a-z0-9]{6})\./.exec(userdata)?.[1] ?? '';
    const tokenSecret = await tenant.client.get({ apiVersion: 'v1', kind: 'Secret' }, { namespace: 'kube-system', name: `bootstrap-token-${tokenID}` }, { direct: true });
    expect(tokenSecret, `bootstrap-token-${tokenID} in the tenant`).to.not.equal(undefined);
    interface Csr { spec: { username: string }; status?: { conditions?: { type: string; reason?: string }[] } }
    const csrs = (await tenant.client.list<Csr & { metadata: { name: string } }>({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' }, { direct: true })).filter(
      (c) => c.spec.username === `system:bootstrap:${tokenID}`,
    );
    expect(csrs).to.have.length(1);
    expect(csrs[0]?.status?.conditions?.find((c) => c.type === 'Approved')?.reason).to.equal('AutoApproved');

    // Without a /run/cluster-api mount the guest keeps the sentinel in its own disk (the kubelet emptyDir).
    const sentinel = await waitFor(() => findFile(cluster?.dir ?? '', 'bootstrap-success.complete'), { timeoutMs: 10_000, what: 'the sentinel file' });
    expect(sentinel).to.include('guest-rootfs/run/cluster-api/');
    expect(readFileSync(sentinel, 'utf8')).to.equal('success\n');
  });

  it('runs kubeadm init in a launcher pod: a real control plane on the pod IP behind its load-balancer Service, a control-plane Node Ready', async function () {
    this.timeout(5 * 60_000);
    const vm = 'initpod-cp';
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${vm}-lb`, namespace: NAMESPACE },
      spec: { selector: { 'vm.kubevirt.io/name': vm }, ports: [{ port: 6443, targetPort: 6443 }] },
    };
    await kubectl(kubeconfig, ['apply', '-f', '-'], stringify(service));
    const clusterIP = (await getJSON<{ spec: { clusterIP: string } }>(kubeconfig, ['service', '-n', NAMESPACE, `${vm}-lb`])).spec.clusterIP;
    const { clusterCA: ca, certificates } = await newControlPlaneCertificates();
    const userdata = cabpkControlPlaneInitCloudConfig({
      clusterName: 'initpod',
      endpoint: `${clusterIP}:6443`,
      ...certificates,
      token: randomBootstrapToken(),
      kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
    });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${vm}-userdata`, namespace: NAMESPACE }, stringData: { value: userdata } };
    await kubectl(kubeconfig, ['apply', '-f', '-'], [secret, launcherPod(vm, `${vm}-userdata`)].map((o) => stringify(o)).join('---\n'));

    const admin = await issueCertificate(ca, { commonName: 'test-admin', organizations: ['system:masters'], usage: 'client', validFor: YEAR });
    const transport = await RestTransport.fromKubeConfig(
      kubeConfigFor({ server: `https://${clusterIP}:6443`, caPem: certificatePem(ca.cert), credentials: { kind: 'certificate', certPem: certificatePem(admin.cert), keyPem: await privateKeyPem(admin.key) }, userAgent: 'test' }),
    );
    try {
      const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'test' });
      const node = await waitFor(
        async () => {
          const n = await client.get<Node>({ apiVersion: 'v1', kind: 'Node' }, { name: vm }, { direct: true }).catch((err: unknown) => {
            throw new Error(`${(err as Error).message}; guest errors: ${guestErrors(cluster?.dir ?? '', vm)}`);
          });
          const ready = n?.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';
          return ready && n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? n : undefined;
        },
        { timeoutMs: 120_000, what: `control-plane Node ${vm} of the cluster inside the pod` },
      );
      const pod = await getJSON<{ status?: { podIP?: string } }>(kubeconfig, ['pod', '-n', NAMESPACE, `virt-launcher-${vm}-abcde`]);
      expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: pod.status?.podIP });
      expect(await client.get({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'kube-public', name: 'cluster-info' }, { direct: true })).to.not.equal(undefined);
    } finally {
      transport.close();
    }
    // Powering the VM off stops its control plane with it.
    await kubectl(kubeconfig, ['delete', 'pod', '-n', NAMESPACE, `virt-launcher-${vm}-abcde`, '--wait=true', '--timeout=60s']);
  });
});
