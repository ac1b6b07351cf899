// `kubeadm init` in the simulated guest: from CABPK-shaped control-plane userdata (the cluster's CA material and
// kubeadm.yaml), the guest runs kubeadm's phases and the static Pods' programs, and a real tenant control plane
// comes up on the VM address; it registers itself as a control-plane Node, and a worker joins it with a token.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { certificatePem, issueCertificate, privateKeyPem } from '../../../lib/pki/x509.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { kubeConfigFor } from '../../../simulators/guest/connection.js';
import { caPublicKeyHash } from '../../../simulators/guest/discovery.js';
import { joinNode, type RunningNode } from '../../../simulators/guest/join.js';
import type { Node } from '../../../localcloud/node-object.js';
import { randomBootstrapToken } from '../../../simulators/guest/tenant-plane.js';
import { newControlPlaneCertificates } from '../../../simulators/guest/testdata/cabpk-certificates.js';
import { cabpkControlPlaneInitCloudConfig } from '../../../simulators/guest/testdata/cabpk-userdata.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { compiledMain } from '../../../packaging/compiled-js.js';

const GUEST_MAIN = new URL('../../../simulators/guest/main.ts', import.meta.url).pathname;
const YEAR = 365 * 86_400_000;
const VM = 'initco-control-plane-abcde';

describe('simulated guest: kubeadm init brings up a real tenant control plane', function () {
  let root: string;
  let guest: ManagedProcess | undefined;
  let client: Client;
  let transport: RestTransport | undefined;
  let caPem: string;
  let token: string;
  let worker: RunningNode | undefined;

  before(async function () {
    this.timeout(4 * 60_000);
    root = await mkdtemp(join(runDir(), 'guest-init-'));
    const { clusterCA: ca, certificates } = await newControlPlaneCertificates();
    caPem = certificatePem(ca.cert);
    token = randomBootstrapToken();
    const userdata = cabpkControlPlaneInitCloudConfig({
      clusterName: 'initco',
      endpoint: `${NODE_IP}:6443`,
      ...certificates,
      token,
      kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
    });
    guest = await ManagedProcess.start({
      name: `guest-${VM}`,
      command: process.execPath,
      args: [compiledMain(GUEST_MAIN)],
      logFile: join(root, 'console.log'),
      env: { GUEST_ROOT: root, GUEST_VM_NAME: VM, GUEST_VM_NAMESPACE: 'tenants', GUEST_NODE_IP: NODE_IP, GUEST_USERDATA_INLINE: userdata, GUEST_LEASE_RENEW_MS: '2000' },
    });
    // An admin of the new cluster, certified by the CA the userdata carried.
    const admin = await issueCertificate(ca, { commonName: 'test-admin', organizations: ['system:masters'], usage: 'client', validFor: YEAR });
    transport = await RestTransport.fromKubeConfig(
      kubeConfigFor({ server: `https://${NODE_IP}:6443`, caPem, credentials: { kind: 'certificate', certPem: certificatePem(admin.cert), keyPem: await privateKeyPem(admin.key) }, userAgent: 'test' }),
    );
    client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'test' });
  });

  after(async function () {
    this.timeout(60_000);
    await worker?.stop();
    transport?.close();
    if (guest) {
      const status = await guest.stop(30_000);
      expect(status.code, guest.logTail(40)).to.equal(0);
    }
    await rm(root, { recursive: true, force: true });
  });

  it('registers the machine as a Ready control-plane Node of its own apiserver, with the kubeadm objects in place', async function () {
    this.timeout(4 * 60_000);
    const node = await waitFor(
      async () => {
        if (guest && !guest.running) throw new Error(`guest exited: ${guest.logTail(30)}`);
        const n = await client.get<Node>({ apiVersion: 'v1', kind: 'Node' }, { name: VM }, { direct: true }).catch((err: unknown) => {
          const errors = existsSync(join(root, 'console.log')) ? readFileSync(join(root, 'console.log'), 'utf8').split('\n').filter((l) => l.includes('"level":50')) : [];
          throw new Error(`${(err as Error).message}; guest errors:\n${errors.join('\n').slice(0, 3000)}`);
        });
        const ready = n?.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';
        return ready && n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? n : undefined;
      },
      { timeoutMs: 180_000, what: `control-plane Node ${VM} Ready and labelled (guest log: ${join(root, 'console.log')})` },
    );
    expect(node.spec?.taints).to.deep.include({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
    expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: NODE_IP });
    for (const [namespace, name] of [
      ['kube-system', 'kubeadm-config'],
      ['kube-system', 'kubelet-config'],
      ['kube-public', 'cluster-info'],
    ] as const) {
      expect(await client.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace, name }, { direct: true }), `${namespace}/${name}`).to.not.equal(undefined);
    }
    const sentinel = join(root, 'run/cluster-api/bootstrap-success.complete');
    await waitFor(() => (existsSync(sentinel) ? true : undefined), { timeoutMs: 10_000, what: 'the sentinel file' });
    expect(readFileSync(sentinel, 'utf8')).to.equal('success\n');
  });

  it("lets a worker join it with the init configuration's token, its CSR signed by the guest's own kube-controller-manager", async function () {
    this.timeout(120_000);
    worker = await joinNode({ apiServerEndpoint: `${NODE_IP}:6443`, token, caCertHashes: [caPublicKeyHash(caPem)], nodeName: 'initco-md-0-w1', timeoutMs: 90_000 });
    const node = await waitFor(
      async () => {
        const n = await client.get<Node>({ apiVersion: 'v1', kind: 'Node' }, { name: 'initco-md-0-w1' }, { direct: true });
        return n?.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
      },
      { timeoutMs: 30_000, what: 'the worker Node Ready' },
    );
    expect(node.metadata.labels?.['node-role.kubernetes.io/control-plane']).to.equal(undefined);
  });
});
