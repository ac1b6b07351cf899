// Tenant nodes that run workloads: two virt-launcher pods (rendered by the KubeVirt simulator's own builder) boot
// the guest with CABPK-shaped worker userdata, join a real tenant control plane whose kube-controller-manager
// allocates node podCIDRs, and their kubelets run the tenant's pods on each VM's pod bridge, with host-gw routes
// between the VMs. The tenant's kube-proxy and CoreDNS addons (the control plane provider's objects) run on the VMs
// and serve ClusterIPs, NodePorts and Service names. Logs come through the tenant apiserver from the kubelet API on
// port 10250. The fixture (e2e/harness/tenant-nodes.ts) plays Cluster API (it lifts the uninitialized taint); the
// test plays the cluster admin who approves serving certificates.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import type { Cluster } from '../../../localcloud/cluster/cluster.js';
import { TEST_ECHO_IMAGE, TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { TENANT_POD_CIDR, TENANT_SERVICE_CIDR } from '../../../localcloud/cluster/topology.js';
import { binaryPath, buildTool, cacheDir } from '../../../localcloud/binaries.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import type { Node } from '../../../localcloud/node-object.js';
import { waitFor } from '../../../localcloud/wait.js';
import { cidrContains, formatIP, nthAddress, parseCIDR, parseIP } from '../../../lib/net/ip.js';
import { parseVersionsEnv, toolsDir, upstreamVersion } from '../../../localcloud/versions.js';
import { coreDNSObjects } from '../../../providers/controlplane/tenant/coredns.js';
import { kubeProxyObjects } from '../../../providers/controlplane/tenant/kube-proxy.js';
import { KUBELET_SERVING_SIGNER } from '../../../simulators/guest/serving-certificate.js';
import { COMPUTE_CONTAINER, launcherPodName } from '../../../simulators/kubevirt/launcher-pod.js';
import type { TenantPlane } from '../../../simulators/guest/tenant-plane.js';
import { runProgram, runUntil } from '../../harness/run-program.js';
import { startTenantNodes, type TenantNodes } from '../../harness/tenant-nodes.js';

const NAMESPACE = 'default';
const VMS = ['acme-md-0-vm1', 'acme-md-0-vm2'];

interface PodView {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; state: { waiting?: { reason?: string; message?: string } } }[];
  };
}

/** Pids of pod sandbox holders in the run (management pods and, inside the VMs, tenant pods alike). */
function sandboxHolders(): Set<string> {
  const pids = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.startsWith('sleep infinity') || cmdline.includes('unshare --net -- sleep infinity')) pids.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function inCIDR(ip: string | undefined, cidr: string | undefined): boolean {
  const block = parseCIDR(cidr ?? '');
  const address = parseIP(ip ?? '');
  return block !== undefined && address !== undefined && cidrContains(block, address);
}

function peerCertificate(host: string, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate(true));
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** A GET on a kubelet's API as the tenant's admin (its client certificate), or anonymously. */
function kubeletGet(ip: string, path: string, as: KubeConfig | undefined): Promise<{ status: number; body: string }> {
  const user = as?.getCurrentUser();
  const pem = (data: string | undefined, file: string | undefined) => (data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined);
  const cert = pem(user?.certData, user?.certFile);
  const key = pem(user?.keyData, user?.keyFile);
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 10250, path, rejectUnauthorized: false, ...(cert && key ? { cert, key } : {}), timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const runKubectl = (bin: string, kubeconfig: string, args: string[], env: NodeJS.ProcessEnv, input?: string) => runProgram(bin, [`--kubeconfig=${kubeconfig}`, ...args], env, input);

/** Runs `kubectl port-forward <target> :<port>` while `use` talks to the local port it picked. */
async function portForward<T>(bin: string, kubeconfig: string, env: NodeJS.ProcessEnv, target: string, port: number, use: (local: number) => Promise<T>): Promise<T> {
  const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, 'port-forward', target, `:${String(port)}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (seen += d.toString()));
  try {
    const local = await waitFor(() => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen);
      if (child.exitCode !== null) throw new Error(`kubectl port-forward exited: ${seen}`);
      return m ? Number(m[1]) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, what: `kubectl port-forward ${target} to listen (saw: ${seen})` });
    return await use(local);
  } finally {
    child.kill();
  }
}

/** Runs `kubectl attach <pod>` until its output matches `want`, then ends it. */
async function attachUntil(bin: string, kubeconfig: string, env: NodeJS.ProcessEnv, pod: string, want: RegExp): Promise<string> {
  const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, 'attach', pod], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    return await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`kubectl attach exited ${String(child.exitCode)}: ${out} ${err}`);
      return want.test(out) ? out : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, what: `kubectl attach ${pod} output` });
  } finally {
    child.kill();
  }
}

/** A WebSocket session with the tenant apiserver as its admin; resolves with the messages once the server closes. */
function apiWebSocket(kc: KubeConfig, path: string, protocol: string, onOpen: (ws: WebSocket) => void): Promise<{ protocol: string; messages: Buffer[] }> {
  const user = kc.getCurrentUser();
  const cluster = kc.getCurrentCluster();
  const pem = (data: string | undefined, file: string | undefined) => (data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined);
  const ws = new WebSocket(`${(cluster?.server ?? '').replace(/^http/, 'ws')}${path}`, [protocol], {
    cert: pem(user?.certData, user?.certFile),
    key: pem(user?.keyData, user?.keyFile),
    ca: pem(cluster?.caData, cluster?.caFile),
  });
  const messages: Buffer[] = [];
  ws.on('message', (m: Buffer) => messages.push(m));
  ws.on('open', () => {
    onOpen(ws);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${path} (${protocol}): no close within 30s; got ${String(messages.length)} messages`));
    }, 30_000);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve({ protocol: ws.protocol, messages });
    });
    ws.on('error', reject);
  });
}

/** The payloads a session got on `channel` (binary channel protocols), concatenated. */
const channelText = (messages: Buffer[], channel: number) => Buffer.concat(messages.filter((m) => m[0] === channel).map((m) => m.subarray(1))).toString();

describe('tenant nodes run workloads: the guest kubelet, the tenant pod network and the kubelet API', function () {
  let fixture: TenantNodes | undefined;
  let cluster: Cluster | undefined;
  let tenant: TenantPlane | undefined;
  let mgmt: string;
  let admin: string;
  const holdersBefore = new Set<string>();
  const getJSON = async <T>(kubeconfig: string, args: string[]) => JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
  const nodes = async () => (await getJSON<{ items: Node[] }>(admin, ['nodes'])).items;

  before(async function () {
    this.timeout(5 * 60_000);
    const started = Date.now();
    for (const pid of sandboxHolders()) holdersBefore.add(pid);
    fixture = await startTenantNodes({ clusterName: 'acme', vms: VMS, namespace: NAMESPACE });
    ({ cluster, tenant, mgmt, admin } = fixture);
    console.log(`      (setup: ${Math.round((Date.now() - started) / 1000)}s to two Ready tenant nodes)`);
  });

  // A failing test shows what the guests logged at warning level and above (the pod runner keeps container logs).
  afterEach(function () {
    if (this.currentTest?.state !== 'failed' || !cluster) return;
    const logs = join(cluster.dir, 'logs');
    const files = readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter((p) => p.includes('virt-launcher') && p.endsWith('.log'));
    const lines = files.flatMap((p) => readFileSync(join(logs, p), 'utf8').split('\n')).filter((l) => /"level":(40|50|60)/.test(l));
    console.log(`      guest warnings and errors:\n${lines.slice(-20).join('\n').slice(0, 6000)}`);
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await fixture?.stop();
  });

  it('advertises the kubelet API and serves it with the certificate the tenant issues once the serving CSR is approved', async function () {
    this.timeout(120_000);
    const list = await nodes();
    for (const n of list) expect(n.status?.daemonEndpoints.kubeletEndpoint.Port, n.metadata.name).to.equal(10250);
    interface Csr { metadata: { name: string }; spec: { signerName: string; username: string }; status?: { certificate?: string } }
    const serving = await waitFor(
      async () => {
        const csrs = (await getJSON<{ items: Csr[] }>(admin, ['csr'])).items.filter((c) => c.spec.signerName === KUBELET_SERVING_SIGNER);
        return csrs.length === VMS.length ? csrs : undefined;
      },
      { timeoutMs: 30_000, what: 'a kubelet-serving CSR from each node' },
    );
    expect(serving.map((c) => c.spec.username).sort()).to.deep.equal(VMS.map((vm) => `system:node:${vm}`));
    await kubectl(admin, ['certificate', 'approve', ...serving.map((c) => c.metadata.name)]);
    const tenantCA = new X509Certificate(tenant?.caPem ?? '');
    for (const n of list) {
      const ip = n.status?.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
      const cert = await waitFor(
        async () => {
          const peer = await peerCertificate(ip, 10250);
          const x = new X509Certificate(peer.raw);
          return x.verify(tenantCA.publicKey) ? x : undefined;
        },
        { timeoutMs: 30_000, what: `the kubelet of ${n.metadata.name} to serve the issued certificate` },
      );
      expect(cert.subject).to.include(`CN=system:node:${n.metadata.name ?? ''}`);
      expect(cert.subjectAltName).to.include(`IP Address:${ip}`);
    }
  });

  it('runs a Deployment spread over both VMs: pods Running and Ready by the tenant kubelet, addresses from each Node podCIDR', async function () {
    this.timeout(180_000);
    const started = Date.now();
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo', namespace: 'default' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'echo' } } }],
            containers: [
              {
                name: 'echo',
                image: TEST_ECHO_IMAGE,
                ports: [{ containerPort: 8080 }],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(deployment));
    const pods = await waitFor(
      async () => {
        const items = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items;
        const ready = items.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
        if (ready.length === 4) return ready;
        throw new Error(JSON.stringify(items.map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status?.phase, containers: p.status?.containerStatuses }))));
      },
      { timeoutMs: 120_000, what: 'four echo pods Running and Ready' },
    );
    console.log(`      (4 pods Running and Ready in ${Math.round((Date.now() - started) / 1000)}s)`);
    const byNode = new Map((await nodes()).map((n) => [n.metadata.name ?? '', n]));
    expect(new Set(pods.map((p) => p.spec.nodeName))).to.have.keys(...VMS);
    for (const p of pods) {
      const node = byNode.get(p.spec.nodeName ?? '');
      expect(inCIDR(p.status?.podIP, node?.spec?.podCIDR), `${p.metadata.name} ${p.status?.podIP ?? ''} in ${node?.spec?.podCIDR ?? ''}`).to.be.true;
      expect(p.status?.hostIP).to.equal(node?.status?.addresses.find((a) => a.type === 'InternalIP')?.address);
    }
  });

  it('lets a pod on one VM reach a pod on the other by IP, and the management network reach tenant pods', async function () {
    this.timeout(120_000);
    const pods = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items;
    const target = pods.find((p) => p.spec.nodeName === VMS[1]);
    if (!target?.status?.podIP) throw new Error('no echo pod on the second VM');
    const client = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'curl-across', namespace: 'default' },
      spec: {
        nodeName: VMS[0],
        restartPolicy: 'Never',
        containers: [{ name: 'curl', image: TEST_SHELL_IMAGE, command: ['curl', '-sS', '--max-time', '10', `http://${target.status.podIP}:8080/`] }],
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(client));
    await waitFor(
      async () => {
        const p = await getJSON<PodView>(admin, ['pod', 'curl-across']);
        if (p.status?.phase === 'Failed') throw new Error(`curl failed: ${await kubectl(admin, ['logs', 'curl-across'])}`);
        return p.status?.phase === 'Succeeded' ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the cross-VM curl pod to succeed' },
    );
    // kubectl logs: the tenant apiserver asks the kubelet of the first VM for the container's log.
    const answer = JSON.parse(await kubectl(admin, ['logs', 'curl-across'])) as { pod?: string; ip?: string };
    expect(answer).to.include({ pod: target.metadata.name, ip: target.status.podIP });
    // The management node routes the tenant pod range to the VMs, which answer ARP for their own podCIDR.
    const direct = (await (await fetch(`http://${target.status.podIP}:8080/`, { signal: AbortSignal.timeout(10_000) })).json()) as { pod?: string };
    expect(direct.pod).to.equal(target.metadata.name);
  });

  it('runs the tenant kube-proxy DaemonSet on every VM and CoreDNS from the addon objects the control plane provider makes', async function () {
    this.timeout(180_000);
    const started = Date.now();
    const serviceBlock = parseCIDR(TENANT_SERVICE_CIDR);
    if (!serviceBlock) throw new Error(`bad TENANT_SERVICE_CIDR ${TENANT_SERVICE_CIDR}`);
    const addons = [
      ...kubeProxyObjects({ server: tenant?.server ?? '', clusterCIDR: TENANT_POD_CIDR, kubernetesVersion: upstreamVersion('KUBERNETES_VERSION') }),
      // kubeadm's DNS address: the Service range's tenth, which the kubelet-config ConfigMap gives the kubelets.
      ...coreDNSObjects({ dnsDomain: 'cluster.local', dnsServiceIPs: [formatIP(nthAddress(serviceBlock, 10))] }),
    ];
    await kubectl(admin, ['apply', '-f', '-'], addons.map((o) => stringify(o)).join('---\n'));
    const addonPods = async (app: string) => (await getJSON<{ items: PodView[] }>(admin, ['pods', '-n', 'kube-system', '-l', `k8s-app=${app}`])).items;
    const isReady = (p: PodView) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const proxies = await waitFor(
      async () => {
        const items = await addonPods('kube-proxy');
        const ready = items.filter(isReady);
        if (ready.length === VMS.length) return ready;
        throw new Error(JSON.stringify(items.map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status?.phase, containers: p.status?.containerStatuses }))));
      },
      { timeoutMs: 90_000, what: 'a kube-proxy pod Running on each VM' },
    );
    expect(new Set(proxies.map((p) => p.spec.nodeName))).to.have.keys(...VMS);
    // hostNetwork: the proxy runs in the VM's network namespace, with the VM's address.
    for (const p of proxies) expect(p.status?.podIP).to.equal(p.status?.hostIP);
    for (const p of proxies) {
      await waitFor(async () => ((await kubectl(admin, ['logs', '-n', 'kube-system', p.metadata.name])).includes('kube-proxy serving Services') ? true : undefined), {
        timeoutMs: 60_000,
        what: `${p.metadata.name} to serve Services`,
      });
    }
    await waitFor(
      async () => {
        const items = await addonPods('kube-dns');
        if (items.filter(isReady).length === 2) return true;
        throw new Error(JSON.stringify(items.map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status?.phase, containers: p.status?.containerStatuses }))));
      },
      { timeoutMs: 90_000, what: 'two CoreDNS pods Ready (their kubernetes plugin synced through the kubernetes ClusterIP)' },
    );
    console.log(`      (kube-proxy on both VMs and CoreDNS Ready in ${Math.round((Date.now() - started) / 1000)}s)`);
  });

  it('lets a pod resolve a Service by its DNS name through kube-dns and reach it through the ClusterIP', async function () {
    this.timeout(120_000);
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: 'default' },
      spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(service));
    const clusterIP = (await getJSON<{ spec: { clusterIP: string } }>(admin, ['service', 'echo'])).spec.clusterIP;
    expect(inCIDR(clusterIP, TENANT_SERVICE_CIDR), clusterIP).to.be.true;
    const name = 'echo.default.svc.cluster.local';
    const client = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'curl-by-name', namespace: 'default' },
      spec: {
        nodeName: VMS[0],
        restartPolicy: 'Never',
        containers: [{ name: 'curl', image: TEST_SHELL_IMAGE, command: ['sh', '-c', `getent hosts ${name} && curl -sS --max-time 10 http://${name}/`] }],
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(client));
    await waitFor(
      async () => {
        const p = await getJSON<PodView>(admin, ['pod', 'curl-by-name']);
        if (p.status?.phase === 'Failed') throw new Error(`curl by name failed: ${await kubectl(admin, ['logs', 'curl-by-name'])}`);
        return p.status?.phase === 'Succeeded' ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the curl-by-name pod to succeed' },
    );
    const [resolved = '', body = ''] = (await kubectl(admin, ['logs', 'curl-by-name'])).split('\n');
    expect(resolved.split(/\s+/)).to.deep.equal([clusterIP, name]);
    const echoPods = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items.map((p) => p.metadata.name);
    expect(echoPods).to.include((JSON.parse(body) as { pod?: string }).pod);
  });

  it("answers a NodePort on each VM's address from the management network", async function () {
    this.timeout(90_000);
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo-nodeport', namespace: 'default' },
      spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(service));
    const nodePort = (await getJSON<{ spec: { ports: { nodePort: number }[] } }>(admin, ['service', 'echo-nodeport'])).spec.ports[0]?.nodePort;
    const echoPods = (await getJSON<{ items: PodView[] }>(admin, ['pods', '-l', 'app=echo'])).items.map((p) => p.metadata.name);
    for (const n of await nodes()) {
      const ip = n.status?.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
      const answer = await waitFor(
        async () => (await (await fetch(`http://${ip}:${String(nodePort)}/`, { signal: AbortSignal.timeout(5_000) })).json()) as { pod?: string },
        { timeoutMs: 30_000, what: `NodePort ${String(nodePort)} on ${n.metadata.name ?? ''} (${ip})` },
      );
      expect(echoPods, n.metadata.name).to.include(answer.pod);
    }
  });

  it('streams logs with --follow until the container ends, and serves /healthz and /pods through the node proxy', async function () {
    this.timeout(120_000);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'talker', namespace: 'default' },
      spec: { nodeName: VMS[1], restartPolicy: 'Never', containers: [{ name: 'talk', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'echo first; sleep 3; echo second'] }] },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(pod));
    await waitFor(async () => ((await getJSON<PodView>(admin, ['pod', 'talker'])).status?.phase === 'Running' ? true : undefined), { timeoutMs: 60_000, what: 'talker running' });
    const followed = await kubectl(admin, ['logs', '--follow', 'talker']);
    expect(followed).to.equal('first\nsecond\n');
    expect(await kubectl(admin, ['get', '--raw', `/api/v1/nodes/${VMS[1] ?? ''}/proxy/healthz`])).to.equal('ok');
    const podList = JSON.parse(await kubectl(admin, ['get', '--raw', `/api/v1/nodes/${VMS[1] ?? ''}/proxy/pods`])) as { items: PodView[] };
    expect(podList.items.map((p) => p.metadata.name)).to.include('talker');
    const vmIP = (await nodes()).find((n) => n.metadata.name === VMS[1])?.status?.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
    const plain = await kubeletGet(vmIP, '/exec/default/talker/talk?command=true&output=1', tenant?.plane.kubeConfig);
    expect(plain.status, 'exec without an upgrade').to.equal(400);
    expect(plain.body).to.include('Upgrade request required');
    expect((await kubeletGet(vmIP, '/healthz', undefined)).status, 'no client certificate').to.equal(401);
  });

  it('execs, attaches, port-forwards and copies through the tenant apiserver over WebSocket and over SPDY, with exit codes', async function () {
    this.timeout(240_000);
    const started = Date.now();
    const pods = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'streamer', namespace: 'default' }, spec: { nodeName: VMS[0], containers: [{ name: 'echo', image: TEST_ECHO_IMAGE }] } },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'ticker', namespace: 'default' },
        spec: { nodeName: VMS[1], containers: [{ name: 'tick', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'] }] },
      },
      // One reader per transport: each answers one line on its stdin, then ends (stdinOnce, like `kubectl run -i`).
      ...['websocket', 'spdy'].map((transport, i) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `reader-${transport}`, namespace: 'default' },
        spec: {
          nodeName: VMS[i % VMS.length],
          restartPolicy: 'Never',
          containers: [{ name: 'read', image: TEST_SHELL_IMAGE, stdin: true, stdinOnce: true, command: ['sh', '-c', 'read line; echo got $line'] }],
        },
      })),
    ];
    await kubectl(admin, ['apply', '-f', '-'], pods.map((p) => stringify(p)).join('---\n'));
    for (const name of ['streamer', 'ticker', 'reader-websocket', 'reader-spdy']) {
      await waitFor(async () => ((await getJSON<PodView>(admin, ['pod', name])).status?.phase === 'Running' ? true : undefined), { timeoutMs: 60_000, what: `${name} running` });
    }
    const bin = await binaryPath('kubectl');
    const payload = randomBytes(7.5 * 1024 * 1024).toString('base64'); // 10 MiB of text
    const work = mkdtempSync(join(tmpdir(), 'kvcloud-streaming-'));
    const transports = [
      { name: 'WebSocket', env: {} },
      { name: 'SPDY', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
    ];
    try {
      for (const t of transports) {
        const env = { ...process.env, ...t.env };
        const k = (args: string[], input?: string) => runKubectl(bin, admin, args, env, input);
        const at = Date.now();
        const out = await k(['exec', 'streamer', '--', 'sh', '-c', 'echo out; echo err >&2']);
        expect(out, `${t.name}: ${JSON.stringify(out)}`).to.deep.include({ code: 0, stdout: 'out\n', stderr: 'err\n' });
        const failed = await k(['exec', 'streamer', '--', 'sh', '-c', 'exit 3']);
        expect(failed.code, `${t.name}: exit code ${JSON.stringify(failed)}`).to.equal(3);
        expect(await k(['exec', '-i', 'streamer', '--', 'sh', '-c', 'cat; echo " done"'], 'hello'), `${t.name}: stdin closed`).to.deep.include({ code: 0, stdout: 'hello done\n' });
        // A tty needs a terminal on kubectl's side too: script gives it one.
        const tty = await runProgram('script', ['-qec', `${bin} --kubeconfig=${admin} exec -it streamer -- sh -c 'tty; exit 7'`, '/dev/null'], env);
        expect(tty.stdout, `${t.name}: tty ${JSON.stringify(tty)}`).to.match(/\/dev\/pts\/\d+/);
        expect(tty.code, `${t.name}: tty exit code`).to.equal(7);
        const local = join(work, `${t.name}.txt`);
        writeFileSync(local, payload);
        const remote = `/tmp/kvcloud-streaming-${t.name}.txt`;
        expect((await k(['cp', local, `default/streamer:${remote}`])).code, `${t.name}: cp to the pod`).to.equal(0);
        expect((await k(['cp', `default/streamer:${remote}`, `${local}.back`])).code, `${t.name}: cp from the pod`).to.equal(0);
        expect(readFileSync(`${local}.back`, 'utf8') === payload, `${t.name}: cp round trip intact`).to.be.true;
        const forwarded = await portForward(bin, admin, env, 'pod/streamer', 8080, async (port) => {
          const res = await fetch(`http://127.0.0.1:${String(port)}/file?path=${encodeURIComponent(remote)}`, { signal: AbortSignal.timeout(60_000) });
          return ((await res.json()) as { content?: string }).content;
        });
        expect(forwarded?.length, `${t.name}: port-forward size`).to.equal(payload.length);
        expect(forwarded === payload, `${t.name}: port-forward carried 10 MiB intact`).to.be.true;
        await k(['exec', 'streamer', '--', 'rm', '-f', remote]);
        const attached = await attachUntil(bin, admin, env, 'ticker', /tick \d+\n.*tick \d+/s);
        expect(attached, `${t.name}: attach`).to.match(/tick \d+/);
        const answered = await k(['attach', '-i', `reader-${t.name.toLowerCase()}`], 'hello\n');
        expect(answered, `${t.name}: attach -i ${JSON.stringify(answered)}`).to.deep.include({ code: 0, stdout: 'got hello\n' });
        console.log(`      (${t.name}: exec, tty, stdin, cp and port-forward of 10 MiB, attach and attach -i in ${String(Math.round((Date.now() - at) / 1000))}s)`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // kubectl's WebSocket requests reached the kubelet as WebSocket: the apiserver proxied them (the Node declares
    // ExtendWebSocketsToKubelet) instead of translating them to SPDY.
    const metrics = await kubectl(admin, ['get', '--raw', '/metrics']);
    for (const sub of ['exec', 'attach', 'portforward']) {
      expect(metrics, `${sub} proxied to the kubelet`).to.match(new RegExp(`apiserver_websocket_streaming_requests_total\\{proxy_type="proxied_to_kubelet",subresource="${sub}"\\} [1-9]`));
    }
    expect(metrics).to.not.include('proxy_type="translated_at_apiserver"');
    // Older WebSocket clients, straight through the apiserver to the kubelet's streaming server.
    const kc = tenant?.plane.kubeConfig;
    if (!kc) throw new Error('no tenant kubeconfig');
    const execPath = (cmd: string) => `/api/v1/namespaces/default/pods/streamer/exec?container=echo&stdout=true&stderr=true&command=sh&command=-c&command=${encodeURIComponent(cmd)}`;
    const v4 = await apiWebSocket(kc, execPath('echo v4; exit 5'), 'v4.channel.k8s.io', () => undefined);
    expect(v4.protocol).to.equal('v4.channel.k8s.io');
    expect(channelText(v4.messages, 1)).to.equal('v4\n');
    expect(JSON.parse(channelText(v4.messages, 3))).to.deep.include({ reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '5' }] } });
    const b64 = await apiWebSocket(kc, execPath('echo base64 >&2'), 'base64.channel.k8s.io', () => undefined);
    const stderrText = b64.messages.map((m) => m.toString()).filter((m) => m.startsWith('2')).map((m) => Buffer.from(m.slice(1), 'base64').toString()).join('');
    expect(stderrText, 'base64.channel.k8s.io').to.equal('base64\n');
    const pf = await apiWebSocket(kc, '/api/v1/namespaces/default/pods/streamer/portforward?ports=8080', 'v4.channel.k8s.io', (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /healthz HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n')]));
    });
    const data = pf.messages.filter((m) => m[0] === 0).map((m) => m.subarray(1));
    expect(data[0], 'the port first, little-endian').to.deep.equal(Buffer.from([0x90, 0x1f]));
    expect(Buffer.concat(data.slice(1)).toString(), 'v4 channel port-forward').to.match(/^HTTP\/1.1 200/);
    console.log(`      (streaming over both transports in ${String(Math.round((Date.now() - started) / 1000))}s)`);
  });

  it('serves the CRI on the containerd socket in the VM: crictl lists, execs (sync, streaming, tty, WebSocket), attaches and port-forwards', async function () {
    this.timeout(180_000);
    buildTool('cri-tools');
    const started = Date.now();
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cri-target', namespace: 'default', labels: { app: 'cri-target' } },
      spec: {
        nodeName: VMS[0],
        containers: [
          { name: 'web', image: TEST_ECHO_IMAGE, ports: [{ containerPort: 8080 }] },
          { name: 'tick', image: TEST_SHELL_IMAGE, command: ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'] },
        ],
      },
    };
    await kubectl(admin, ['apply', '-f', '-'], stringify(pod));
    await waitFor(async () => ((await getJSON<PodView>(admin, ['pod', 'cri-target'])).status?.phase === 'Running' ? true : undefined), { timeoutMs: 60_000, what: 'cri-target running' });
    // crictl runs in the VM: the guest's mount namespace (its /run/containerd) and network (the stream server's
    // loopback address), found through the launcher pod's process.
    const guestPid = cluster?.runner.containerRun(NAMESPACE, launcherPodName(VMS[0] ?? '', `uid-${VMS[0] ?? ''}`), COMPUTE_CONTAINER)?.process.pid;
    if (guestPid === undefined) throw new Error(`no guest process for ${VMS[0] ?? ''}`);
    const crictlBin = join(cacheDir(), 'bin', `cri-tools-${parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('CRI_TOOLS_VERSION') ?? ''}`, 'crictl');
    const inVM = (argv: string[], namespaces = ['-m', '-n']) => ['nsenter', '-t', String(guestPid), ...namespaces, '--', ...argv];
    const crictl = (args: string[], input?: string) => {
      const [command = '', ...rest] = inVM([crictlBin, ...args]);
      return runProgram(command, rest, process.env, input);
    };
    const json = async <T>(args: string[]) => {
      const ran = await crictl([...args, '-o', 'json']);
      if (ran.code !== 0) throw new Error(`crictl ${args.join(' ')}: ${JSON.stringify(ran)}`);
      return JSON.parse(ran.stdout) as T;
    };

    // No --runtime-endpoint: crictl finds the runtime at containerd's default socket.
    const pods = await json<{ items: { id: string; state: string; metadata: { name: string; namespace: string }; labels: Record<string, string> }[] }>(['pods', '--name', 'cri-target']);
    expect(pods.items.map((p) => [p.metadata.namespace, p.metadata.name, p.state, p.labels.app, p.labels['io.kubernetes.pod.namespace']])).to.deep.equal([['default', 'cri-target', 'SANDBOX_READY', 'cri-target', 'default']]);
    const podId = pods.items[0]?.id ?? '';
    const ps = await json<{ containers: { id: string; podSandboxId: string; state: string; metadata: { name: string }; labels: Record<string, string> }[] }>(['ps', '--pod', podId]);
    expect(ps.containers.map((c) => [c.metadata.name, c.state, c.podSandboxId, c.labels['io.kubernetes.container.name'], c.labels['io.kubernetes.pod.name']]).sort()).to.deep.equal([
      ['tick', 'CONTAINER_RUNNING', podId, 'tick', 'cri-target'],
      ['web', 'CONTAINER_RUNNING', podId, 'web', 'cri-target'],
    ]);
    const tick = ps.containers.find((c) => c.metadata.name === 'tick')?.id ?? '';
    const table = await crictl(['ps']);
    expect(table.stdout, 'crictl ps, truncated ids').to.match(new RegExp(`${tick.slice(0, 13)}\\s.*\\sRunning\\s+tick\\s`));

    // ExecSync: crictl prints the command's stdout, then its stderr, each with a newline of its own, on its stdout,
    // and reports a non-zero exit as an error.
    const sync = await crictl(['exec', '-s', tick, 'sh', '-c', 'echo sync; echo err >&2']);
    expect([sync.code, sync.stdout], `exec -s ${JSON.stringify(sync)}`).to.deep.equal([0, 'sync\n\nerr\n\n']);
    const syncFailed = await crictl(['exec', '-s', tick, 'sh', '-c', 'exit 4']);
    expect(syncFailed.code, `exec -s exit 4 ${JSON.stringify(syncFailed)}`).to.not.equal(0);
    expect(syncFailed.stderr).to.match(/exited with 4/);
    // Both transports at once: each check is a few short processes in the VM, so they overlap well.
    await Promise.all(
      ['spdy', 'websocket'].map(async (transport) => {
        const t = ['--transport', transport];
        const out = await crictl(['exec', ...t, tick, 'sh', '-c', 'echo out; echo err >&2']);
        expect([out.code, out.stdout], `${transport}: exec ${JSON.stringify(out)}`).to.deep.equal([0, 'out\n']);
        expect(out.stderr, `${transport}: exec stderr`).to.include('err\n');
        expect(await crictl(['exec', '-i', ...t, tick, 'sh', '-c', 'cat; echo " done"'], 'hello'), `${transport}: stdin closed`).to.deep.include({ code: 0, stdout: 'hello done\n' });
        const failed = await crictl(['exec', ...t, tick, 'sh', '-c', 'exit 3']);
        expect(failed.code, `${transport}: a failed command fails crictl`).to.not.equal(0);
        expect(failed.stderr, `${transport}: exit code reported`).to.match(/exit code 3/);
        // A tty needs a terminal on crictl's side too: script gives it one.
        const tty = await runProgram('script', ['-qec', inVM([crictlBin, 'exec', '-it', ...t, tick, 'sh', '-c', 'tty']).join(' '), '/dev/null'], process.env);
        expect(tty.stdout, `${transport}: tty ${JSON.stringify(tty)}`).to.match(/\/dev\/pts\/\d+/);
        const attached = await runUntil(inVM([crictlBin, 'attach', ...t, tick]), /tick \d+\n.*tick \d+/s);
        expect(attached, `${transport}: attach`).to.match(/tick \d+/);
        const forwarded = await runUntil(inVM([crictlBin, 'port-forward', ...t, podId, ':8080']), /Forwarding from 127\.0\.0\.1:(\d+)/, async (seen) => {
          const local = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen)?.[1] ?? '';
          const script = 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET /healthz HTTP/1.0\\r\\nHost: pod\\r\\n\\r\\n" >&3; cat <&3';
          const [command = '', ...rest] = inVM(['bash', '-c', script, 'get', local], ['-n']);
          return (await runProgram(command, rest, process.env)).stdout;
        });
        expect(forwarded, `${transport}: port-forward`).to.match(/^HTTP\/1.1 200/);
      }),
    );
    console.log(`      (crictl: pods, ps, exec sync and streaming over SPDY and WebSocket, tty, attach, port-forward in ${String(Math.round((Date.now() - started) / 1000))}s)`);
  });

  it('shows ErrImagePull naming an image that has no local program', async function () {
    this.timeout(60_000);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-such-image', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'example.com/no/such-image:1.0' }] } };
    await kubectl(admin, ['apply', '-f', '-'], stringify(pod));
    const waiting = await waitFor(
      async () => {
        const w = (await getJSON<PodView>(admin, ['pod', 'no-such-image'])).status?.containerStatuses?.[0]?.state.waiting;
        return w?.reason === 'ErrImagePull' ? w : undefined;
      },
      { timeoutMs: 45_000, what: 'ErrImagePull on the pod' },
    );
    expect(waiting.message).to.include('example.com/no/such-image:1.0');
  });

  it('leaves no tenant pod process or sandbox behind once the VMs are powered off', async function () {
    this.timeout(120_000);
    await kubectl(mgmt, ['delete', 'pod', '-n', NAMESPACE, '-l', 'kubevirt.io=virt-launcher', '--wait=true', '--timeout=90s']);
    const left = await waitFor(
      () => {
        const now = [...sandboxHolders()].filter((pid) => !holdersBefore.has(pid));
        return now.length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the sandboxes of the tenant pods to be gone' },
    );
    expect(left).to.be.true;
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).to.not.include('kvcloud-copy');
  });
});
