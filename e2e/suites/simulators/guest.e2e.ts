// The simulated guest against a real tenant control plane: bootstrap-token discovery, the kubelet's TLS bootstrap
// approved and signed by the real kube-controller-manager, Node registration and heartbeats; and the in-VM
// program driven by CABPK-shaped cloud-init and Ignition userdata.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { waitFor } from '../../../localcloud/wait.js';
import { DiscoveryRejected } from '../../../simulators/guest/discovery.js';
import { joinNode, KUBELET_CLIENT_SIGNER, type RunningNode } from '../../../simulators/guest/join.js';
import type { Node } from '../../../localcloud/node-object.js';
import { CLUSTER_NAME_LABEL, CLUSTER_SECRET_TYPE, startTenantPlane, type TenantPlane } from '../../../simulators/guest/tenant-plane.js';
import { cabpkWorkerCloudConfig, cabpkWorkerIgnition } from '../../../simulators/guest/testdata/cabpk-userdata.js';
import { compiledMain } from '../../../packaging/compiled-js.js';

const GUEST_MAIN = new URL('../../../simulators/guest/main.ts', import.meta.url).pathname;

interface Guest {
  proc: ManagedProcess;
  root: string;
  /** Reads a file of the guest's filesystem. */
  file(path: string): string | undefined;
  log(): string;
}

/** Runs the in-VM program as a plain process with its filesystem under a directory of the run. */
async function startGuest(vmName: string, env: Record<string, string>, root?: string): Promise<Guest> {
  const dir = root ?? (await mkdtemp(join(runDir(), `guest-${vmName}-`)));
  const logFile = join(dir, 'console.log');
  const proc = await ManagedProcess.start({
    name: `guest-${vmName}`,
    command: process.execPath,
    args: [compiledMain(GUEST_MAIN)],
    logFile,
    env: { GUEST_ROOT: dir, GUEST_VM_NAME: vmName, GUEST_VM_NAMESPACE: 'tenants', GUEST_LEASE_RENEW_MS: '1000', ...env },
  });
  return {
    proc,
    root: dir,
    file: (path) => (existsSync(join(dir, path)) ? readFileSync(join(dir, path), 'utf8') : undefined),
    log: () => readFileSync(logFile, 'utf8'),
  };
}

interface Csr extends KubeObject {
  spec: { signerName: string; username: string; groups: string[] };
  status?: { certificate?: string; conditions?: { type: string; status: string; reason?: string }[] };
}
interface Lease extends KubeObject {
  spec: { holderIdentity?: string; renewTime?: string };
}
interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const NODE = { apiVersion: 'v1', kind: 'Node' };
const CSR = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' };
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };

function readyOf(node: Node | undefined): string | undefined {
  return node?.status?.conditions.find((c) => c.type === 'Ready')?.status;
}

describe('simulated guest: joins a tenant cluster the way kubeadm and the kubelet do', function () {
  let management: Plane;
  let tenant: TenantPlane;
  const cleanups: (() => Promise<void>)[] = [];
  const running: RunningNode[] = [];

  before(async function () {
    this.timeout(5 * 60_000);
    management = await sharedPlane();
    tenant = await startTenantPlane({ clusterName: 'acme', management: { kubeConfig: management.kubeConfig, namespace: 'default' } });
    cleanups.push(() => tenant.stop());
  });

  const guests: Guest[] = [];
  after(async () => {
    for (const g of guests) {
      await g.proc.stop();
      await rm(g.root, { recursive: true, force: true });
    }
    for (const n of running) await n.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('writes <cluster>-kubeconfig and <cluster>-ca as Cluster API expects them, and the kubeconfig reaches the tenant', async () => {
    const { Client } = await import('../../../lib/kube/client.js');
    const { RestTransport } = await import('../../../lib/kube/rest-transport.js');
    const { RestMapper } = await import('../../../lib/kube/rest-mapper.js');
    const { kubeConfigFromString } = await import('../../../lib/kube/kubeconfig.js');
    const transport = await RestTransport.fromKubeConfig(management.kubeConfig);
    try {
      const mgmt = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'test' });
      const kubeconfig = await mgmt.get<Secret>({ apiVersion: 'v1', kind: 'Secret' }, { namespace: 'default', name: 'acme-kubeconfig' }, { direct: true });
      const ca = await mgmt.get<Secret>({ apiVersion: 'v1', kind: 'Secret' }, { namespace: 'default', name: 'acme-ca' }, { direct: true });
      expect(kubeconfig?.type).to.equal(CLUSTER_SECRET_TYPE);
      expect(kubeconfig?.metadata.labels?.[CLUSTER_NAME_LABEL]).to.equal('acme');
      expect(Object.keys(ca?.data ?? {}).sort()).to.deep.equal(['tls.crt', 'tls.key']);
      expect(Buffer.from(ca?.data?.['tls.crt'] ?? '', 'base64').toString()).to.equal(tenant.caPem);
      const kc = kubeConfigFromString(Buffer.from(kubeconfig?.data?.value ?? '', 'base64').toString(), 'acme-kubeconfig');
      const tenantTransport = await RestTransport.fromKubeConfig(kc);
      try {
        const ns = await tenantTransport.request<{ metadata: { name: string } }>({ method: 'GET', path: '/api/v1/namespaces/kube-public' });
        expect(ns.metadata.name).to.equal('kube-public');
      } finally {
        tenantTransport.close();
      }
    } finally {
      transport.close();
    }
  });

  it('joins with bootstrap-token discovery: CSR approved and signed by kube-controller-manager, Node Ready with providerID, labels, taints, addresses', async function () {
    this.timeout(120_000);
    const node = await joinNode({
      apiServerEndpoint: tenant.endpoint,
      token: tenant.token,
      caCertHashes: [tenant.caCertHash],
      nodeName: 'acme-md-0-abcde',
      providerID: 'kubevirt://acme-md-0-abcde',
      labels: { 'node.kubernetes.io/pool': 'md-0' },
      taints: [{ key: 'example.com/dedicated', value: 'gpu', effect: 'NoSchedule' }],
      addresses: [{ type: 'InternalIP', address: '10.244.0.17' }],
      heartbeat: { leaseRenewMs: 1000 },
      timeoutMs: 60_000,
    });
    running.push(node);

    const got = await waitFor(
      async () => {
        const n = await tenant.client.get<Node>(NODE, { name: 'acme-md-0-abcde' }, { direct: true });
        return readyOf(n) === 'True' ? n : undefined;
      },
      { timeoutMs: 30_000, what: 'Node acme-md-0-abcde Ready' },
    );
    expect(got.spec?.providerID).to.equal('kubevirt://acme-md-0-abcde');
    expect(got.metadata.labels).to.include({ 'node.kubernetes.io/pool': 'md-0', 'kubernetes.io/hostname': 'acme-md-0-abcde', 'kubernetes.io/os': 'linux' });
    expect(got.spec?.taints).to.deep.include({ key: 'example.com/dedicated', value: 'gpu', effect: 'NoSchedule' });
    expect(got.status?.addresses).to.deep.include.members([
      { type: 'InternalIP', address: '10.244.0.17' },
      { type: 'Hostname', address: 'acme-md-0-abcde' },
    ]);

    const csr = await tenant.client.get<Csr>(CSR, { name: node.csrName ?? '' }, { direct: true });
    expect(csr?.spec.signerName).to.equal(KUBELET_CLIENT_SIGNER);
    expect(csr?.spec.username).to.equal(`system:bootstrap:${tenant.token.split('.')[0] ?? ''}`);
    expect(csr?.spec.groups).to.include('system:bootstrappers:kubeadm:default-node-token');
    // kube-controller-manager's csrapproving controller says AutoApproved; a hand-approval would say otherwise.
    const approved = csr?.status?.conditions?.find((c) => c.type === 'Approved');
    expect(approved).to.include({ status: 'True', reason: 'AutoApproved' });
    const issued = new X509Certificate(node.identity.certPem);
    expect(issued.subject).to.equal('O=system:nodes\nCN=system:node:acme-md-0-abcde');
    expect(issued.verify(new X509Certificate(tenant.caPem).publicKey)).to.be.true;

    const lease1 = await tenant.client.get<Lease>(LEASE, { namespace: 'kube-node-lease', name: 'acme-md-0-abcde' }, { direct: true });
    expect(lease1?.spec.holderIdentity).to.equal('acme-md-0-abcde');
    expect(lease1?.metadata.ownerReferences?.[0]).to.include({ kind: 'Node', name: 'acme-md-0-abcde', uid: got.metadata.uid });
    await waitFor(
      async () => {
        const lease = await tenant.client.get<Lease>(LEASE, { namespace: 'kube-node-lease', name: 'acme-md-0-abcde' }, { direct: true });
        return lease?.spec.renewTime !== lease1?.spec.renewTime ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'the lease to be renewed' },
    );
  });

  it('refuses a cluster whose CA does not match the pinned hash, without sending a CSR', async () => {
    const err = await rejection(
      joinNode({
        apiServerEndpoint: tenant.endpoint,
        token: tenant.token,
        caCertHashes: ['sha256:' + '0'.repeat(64)],
        nodeName: 'acme-wrong-pin',
        timeoutMs: 20_000,
      }),
      'join with a wrong CA pin',
    );
    expect(err).to.be.instanceOf(DiscoveryRejected);
    expect(err.message).to.match(/match none of the pinned/);
    const csrs = await tenant.client.list<Csr & { spec: { request: string } }>(CSR, { direct: true });
    const subjects = csrs.map((c) => new Pkcs10CertificateRequest(Buffer.from(c.spec.request, 'base64').toString()).subject);
    expect(subjects.join('; ')).to.not.include('acme-wrong-pin');
  });

  it('refuses cluster-info whose signature does not verify with the token (a wrong secret for a known id)', async () => {
    const [id = ''] = tenant.token.split('.');
    const err = await rejection(
      joinNode({ apiServerEndpoint: tenant.endpoint, token: `${id}.${'x'.repeat(16)}`, caCertHashes: [tenant.caCertHash], nodeName: 'acme-wrong-token', timeoutMs: 20_000 }),
      'join with a wrong token secret',
    );
    expect(err).to.be.instanceOf(DiscoveryRejected);
    expect(err.message).to.match(/does not verify/);
    const stray = await tenant.client.get<Node>(NODE, { name: 'acme-wrong-token' }, { direct: true });
    expect(stray).to.equal(undefined);
  });

  async function readyNode(name: string, g?: Guest): Promise<Node> {
    return waitFor(
      async () => {
        if (g && !g.proc.running) throw new Error(`guest exited: ${g.proc.logTail()}`);
        const n = await tenant.client.get<Node>(NODE, { name }, { direct: true });
        return readyOf(n) === 'True' ? n : undefined;
      },
      { timeoutMs: 60_000, what: `Node ${name} Ready` },
    );
  }

  it('boots a VM from CABPK jinja cloud-config on its configDrive: files written, joined with the rendered name and providerID, sentinel written; SIGTERM powers off', async function () {
    this.timeout(120_000);
    const userdata = cabpkWorkerCloudConfig({
      endpoint: tenant.endpoint,
      token: tenant.token,
      caCertHash: tenant.caCertHash,
      nodeName: '{{ ds.meta_data.local_hostname }}',
      kubeletExtraArgs: [
        { name: 'provider-id', value: 'kubevirt://{{ ds.meta_data.local_hostname }}' },
        { name: 'node-labels', value: 'node.kubernetes.io/pool=md-0' },
      ],
    });
    const root = await mkdtemp(join(runDir(), 'guest-acme-md-0-vm1-'));
    await mkdir(join(root, 'var/run/kvcloud/cloudinit/userdata'), { recursive: true });
    await writeFile(join(root, 'var/run/kvcloud/cloudinit/userdata/userdata'), userdata);
    const g = await startGuest('acme-md-0-vm1', { GUEST_NODE_IP: '10.244.3.7', GUEST_CLOUDINIT_SOURCE: 'configDrive' }, root);
    guests.push(g);

    const node = await readyNode('acme-md-0-vm1', g);
    expect(node.spec?.providerID).to.equal('kubevirt://acme-md-0-vm1');
    expect(node.metadata.labels).to.include({ 'node.kubernetes.io/pool': 'md-0' });
    expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: '10.244.3.7' });
    const sentinel = await waitFor(() => g.file('/run/cluster-api/bootstrap-success.complete'), { timeoutMs: 10_000, what: 'the sentinel file' });
    expect(sentinel).to.equal('success\n');
    expect(g.file('/run/kubeadm/kubeadm-join-config.yaml')).to.include("name: 'acme-md-0-vm1'");
    expect(g.file('/run/cluster-api/placeholder')).to.include('placeholder file');
    expect(g.file('/home/capk/.ssh/authorized_keys')).to.match(/^ssh-ed25519 /);
    expect(g.file('/etc/kubernetes/kubelet.conf')).to.include('client-certificate-data');

    const status = await g.proc.stop();
    expect(status.code, g.proc.logTail()).to.equal(0);
    expect(g.log()).to.include('powering off').and.include('stopped heartbeats');
  });

  it('comes back after a reboot as the same node with the identity kubeadm left, without a new CSR', async function () {
    this.timeout(120_000);
    const first = guests.find((g) => g.proc.spec.name === 'guest-acme-md-0-vm1');
    if (!first) throw new Error('the cloud-config guest of the previous test is missing');
    const csrsBefore = (await tenant.client.list(CSR, { direct: true })).length;
    const before = await tenant.client.get<Node>(NODE, { name: 'acme-md-0-vm1' }, { direct: true });
    const g = await startGuest('acme-md-0-vm1', { GUEST_NODE_IP: '10.244.3.7' }, first.root);
    guests.push(g);
    const after = await waitFor(
      async () => {
        const n = await tenant.client.get<Node>(NODE, { name: 'acme-md-0-vm1' }, { direct: true });
        return n?.status?.nodeInfo.bootID !== before?.status?.nodeInfo.bootID ? n : undefined;
      },
      { timeoutMs: 30_000, what: 'the rebooted node to post its new boot ID' },
    );
    expect(readyOf(after)).to.equal('True');
    expect(after.spec?.providerID).to.equal('kubevirt://acme-md-0-vm1');
    expect(g.log()).to.include('restarting the kubelet with its identity');
    expect((await tenant.client.list(CSR, { direct: true })).length).to.equal(csrsBefore);
  });

  it('boots a VM from CABPK Ignition: kubeadm.service runs kubeadm.sh, the node joins under the VM name, sentinel written', async function () {
    this.timeout(120_000);
    const ignition = cabpkWorkerIgnition({
      endpoint: tenant.endpoint,
      token: tenant.token,
      caCertHash: tenant.caCertHash,
      kubeletExtraArgs: [{ name: 'provider-id', value: 'kubevirt://acme-md-0-ign' }],
    });
    const g = await startGuest('acme-md-0-ign', { GUEST_NODE_IP: '10.244.3.8', GUEST_IGNITION: ignition });
    guests.push(g);
    const node = await readyNode('acme-md-0-ign', g);
    expect(node.spec?.providerID).to.equal('kubevirt://acme-md-0-ign');
    expect(await waitFor(() => g.file('/run/cluster-api/bootstrap-success.complete'), { timeoutMs: 10_000, what: 'the sentinel file' })).to.equal('success\n');
    expect(g.file('/etc/kubeadm.sh')).to.include('kubeadm join --config /etc/kubeadm.yml');
  });

  it('stays up without a node and without the sentinel when the join is refused, as a VM whose kubeadm join failed', async function () {
    this.timeout(60_000);
    const [id = ''] = tenant.token.split('.');
    const userdata = cabpkWorkerCloudConfig({ endpoint: tenant.endpoint, token: `${id}.${'q'.repeat(16)}`, caCertHash: tenant.caCertHash });
    const g = await startGuest('acme-md-0-bad', { GUEST_NODE_IP: '10.244.3.9', GUEST_USERDATA_INLINE: userdata });
    guests.push(g);
    await waitFor(() => (g.log().includes('boot failed') ? true : undefined), { timeoutMs: 30_000, what: 'the guest to report its failed boot' });
    expect(g.proc.running).to.be.true;
    expect(g.log()).to.include('does not verify with the given token');
    expect(g.file('/run/cluster-api/bootstrap-success.complete')).to.equal(undefined);
    expect(await tenant.client.get<Node>(NODE, { name: 'acme-md-0-bad' }, { direct: true })).to.equal(undefined);
  });
});
