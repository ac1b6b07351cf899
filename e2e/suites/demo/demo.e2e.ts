// `make demo` as a user runs it: the `kvcloud demo` command (not library calls) starts the local cloud and a tenant
// cluster and prints commands for the host shell. This suite runs those printed commands from its own network
// namespace, not the demo's (the kubeconfigs point at 127.0.0.1 ports forwarded into the demo's private network),
// with the kubectl of the cluster's version the demo names, scales the tenant's MachineDeployment from 2 to 3 and
// sees 3 Ready Nodes, runs workloads on them (pods on every VM, pod and Service networking, NodePorts, the kubelet
// API through Konnectivity, a LoadBalancer Service served by the tenant's cloud controller manager), scales down to
// 2 and sees Cluster API drain the removed Machine, gives the control plane a second replica and sees every agent
// connect to both Konnectivity servers, then stops it with `kvcloud demo down` and checks that no process,
// namespace, mount or file of it is left.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { cidrContains, parseCIDR, parseIP } from '../../../lib/net/ip.js';
import { cacheDir } from '../../../localcloud/binaries.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { processesReferencing, runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CLI, startDemo, TSX, type DemoRun } from '../../harness/demo-cli.js';
import { applyManifest, ECHO_LABELS, echoDeployment, probeFromManagement as probeFromManagementPod, type Kubectl } from '../../harness/demo-workloads.js';
import { mounts, namespaces } from '../../harness/leftovers.js';

const run = promisify(execFile);
const VERSION = upstreamVersion('KUBERNETES_VERSION');

interface Kubeconfig {
  clusters: { cluster: { server: string; 'tls-server-name'?: string } }[];
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string; podIP?: string; hostIP?: string; conditions?: Condition[] };
}

interface NodeView {
  metadata: { name: string };
  spec?: { podCIDR?: string; unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status?: { conditions?: Condition[]; addresses?: { type: string; address: string }[] };
}

const isReady = (o: { status?: { conditions?: Condition[] } }) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const runningReady = (p: PodView) => p.status?.phase === 'Running' && isReady(p) && !p.metadata.deletionTimestamp;
const internalIP = (n: NodeView) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
const inCIDR = (ip: string | undefined, cidr: string | undefined) => {
  const block = cidr === undefined ? undefined : parseCIDR(cidr);
  const addr = ip === undefined ? undefined : parseIP(ip);
  return block !== undefined && addr !== undefined && cidrContains(block, addr);
};
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The objects `kubectl get --watch -o json` prints one after another, as a list. */
function jsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}

const ECHO_REPLICAS = 6;
const echoServices = [
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { selector: ECHO_LABELS, ports: [{ port: 80, targetPort: 8080 }] } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo-nodeport', namespace: 'default' },
    spec: { type: 'NodePort', selector: ECHO_LABELS, ports: [{ port: 80, targetPort: 8080 }] },
  },
];

describe('kvcloud demo: the main job in one command, reached from the host shell', () => {
  let stateDir: string;
  let demo: DemoRun | undefined;
  const output = () => demo?.output() ?? '';
  let commands: { management: string[]; tenantNodes: string[]; scale: string[] } | undefined;
  let cacheDirForKubectl: string;
  const baseline = { namespaces: new Set<string>(), mounts: [] as string[] };

  let manifestDir: string;
  const printed = () => {
    if (!commands) throw new Error(`the demo printed no commands (see the first test); its output:\n${output()}`);
    return commands;
  };
  /** Runs one printed kubectl command line, with a private discovery cache so the test writes nothing in HOME. */
  const kubectl = async (argv: string[], ...more: string[]) => {
    const [bin, ...args] = argv;
    if (!bin) throw new Error('empty command');
    return (await run(bin, [...args, ...more, `--cache-dir=${cacheDirForKubectl}`], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  };

  before(async () => {
    stateDir = await mkdtemp(join(runDir(), 'demo-'));
    cacheDirForKubectl = await mkdtemp(join(runDir(), 'kubectl-cache-'));
    manifestDir = await mkdtemp(join(runDir(), 'demo-manifests-'));
  });
  after(async function () {
    this.timeout(5 * 60_000);
    // Only when a test failed half-way: the last test stops the demo itself.
    if (demo?.child.exitCode === null) {
      await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]).catch((err: unknown) => { console.log(`      demo down: ${(err as Error).message}`); });
      demo.child.kill('SIGKILL');
    }
    await rm(cacheDirForKubectl, { recursive: true, force: true });
    await rm(manifestDir, { recursive: true, force: true });
  });

  /** kubectl with the printed tenant kubeconfig (`<kubectl> --kubeconfig <file>` of the get-nodes command). */
  const tenantKubectl = (...args: string[]) => kubectl(printed().tenantNodes.slice(0, 3), ...args);
  const managementKubectl = (...args: string[]) => kubectl(printed().management.slice(0, 3), ...args);
  const applyTo = (run: Kubectl, name: string, objects: object[]) => applyManifest(run, manifestDir, name, objects);
  const tenantNodeList = async () => (JSON.parse(await tenantKubectl('get', 'nodes', '-o', 'json')) as { items: NodeView[] }).items;
  const echoPods = async () => (JSON.parse(await tenantKubectl('get', 'pods', '-n', 'default', '-l', 'app=echo', '-o', 'json')) as { items: PodView[] }).items;
  const describePods = (pods: PodView[]) => pods.map((p) => `${p.metadata.name}@${p.spec.nodeName ?? '-'}:${p.status?.phase ?? '?'}${isReady(p) ? '/Ready' : ''}`).join(', ');
  /** Waits for a run-to-completion tenant pod and returns its log, read through the tenant apiserver. */
  const podOutput = async (name: string, timeoutMs: number) => {
    const run = tenantKubectl;
    await waitFor(
      async () => {
        const phase = (JSON.parse(await run('get', 'pod', '-n', 'default', name, '-o', 'json')) as PodView).status?.phase;
        if (phase === 'Failed') throw new Error(`pod ${name} failed: ${await run('logs', '-n', 'default', name)}`);
        return phase === 'Succeeded' ? true : undefined;
      },
      { timeoutMs, intervalMs: 500, what: `pod ${name} to succeed` },
    );
    return run('logs', '-n', 'default', name);
  };

  const probeFromManagement = (name: string, urls: string[], names: string[]) => probeFromManagementPod(managementKubectl, manifestDir, name, urls, names);

  it('`kvcloud demo` shows its steps, the clusterctl describe tree and commands for the host shell, then its ready line', async function () {
    this.timeout(30 * 60_000);
    baseline.namespaces = namespaces();
    baseline.mounts = mounts();
    const begun = Date.now();
    demo = startDemo(['--state-dir', stateDir]);
    await demo.ready(28 * 60_000);
    const output = demo.output();
    console.log(`      kvcloud demo ready after ${((Date.now() - begun) / 1000).toFixed(1)} s; it printed:\n${output.replace(/^/gm, '        ')}`);

    // The task list: each step done, with its time.
    for (const step of [
      /✓ management cluster \(.*\) \(\d+\.\d s\)/,
      /✓ clusterctl init --infrastructure kubevirt --control-plane kamaji \(\d+\.\d s\)/,
      /✓ KubeVirt\/CDI simulator/,
      /✓ DataStore "default" on a shared etcd/,
      /✓ tenant acme: hosted control plane \(\d+\.\d s\)/,
      /✓ tenant acme: 2 workers/,
      /✓ tenant acme: Konnectivity agents connected \(\d+\.\d s\)/,
      /✓ tenant acme: Cluster Available/,
      /✓ host access: 127\.0\.0\.1 ports forwarded into the cluster network/,
    ]) {
      expect(output, String(step)).to.match(step);
    }
    expect(output, 'the clusterctl describe tree').to.match(/^Cluster tenants\/acme\s+3\/3\b/m);
    expect(output).to.match(/MachineDeployment tenants\/acme-md-0, v\d+\.\d+\.\d+\s+2\/2\b/);

    const line = (pattern: RegExp) => {
      const found = output.split('\n').find((l) => pattern.test(l));
      if (!found) throw new Error(`no printed command matching ${String(pattern)}`);
      return found.trim().split(/\s+/);
    };
    commands = {
      management: line(/--kubeconfig \S+ get clusters -A$/),
      tenantNodes: line(/--kubeconfig \S+ get nodes$/),
      scale: line(/--kubeconfig \S+ scale machinedeployment -n tenants acme-md-0 --replicas=3$/),
    };
  });

  it('the printed kubeconfigs point at 127.0.0.1 and work from this network namespace, with kubectl of the cluster\'s version', async function () {
    this.timeout(2 * 60_000);
    const { management, tenantNodes } = printed();
    const kubectlBin = management[0] ?? '';
    expect(kubectlBin, 'the kubectl the commands use').to.equal(join(cacheDir(), 'bin', `kubernetes-${VERSION}`, 'kubectl'));
    const client = JSON.parse(await kubectl([kubectlBin, 'version', '--client', '-o', 'json'])) as { clientVersion: { gitVersion: string } };
    expect(client.clientVersion.gitVersion).to.equal(VERSION);

    for (const argv of [management, tenantNodes]) {
      const path = argv[2] ?? '';
      expect(path.startsWith(`${stateDir}/`), `${path} is in the demo's state directory`).to.equal(true);
      const config = parse(readFileSync(path, 'utf8')) as Kubeconfig;
      expect(config.clusters[0]?.cluster.server, path).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(config.clusters[0]?.cluster['tls-server-name'], `${path}: the address the certificate was issued for`).to.match(/^10\.\d+\.\d+\.\d+$/);
    }
    // The demo's cluster network is not ours: its addresses are not reachable from here, only the forwarded ports.
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { serverPid: number };
    expect(readlinkSync(`/proc/${state.serverPid.toString()}/ns/net`), 'the demo runs in this network namespace').to.not.equal(readlinkSync('/proc/self/ns/net'));

    expect(await kubectl(management, '-o', 'name')).to.match(/^cluster\.cluster\.x-k8s\.io\/acme$/m);
    const nodes = JSON.parse(await kubectl(tenantNodes, '-o', 'json')) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    expect(nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')), 'Ready tenant Nodes').to.have.length(2);
  });

  it('the printed scale command takes the tenant from 2 to 3 workers, and 3 Nodes are Ready', async function () {
    this.timeout(15 * 60_000);
    const { scale, tenantNodes } = printed();
    const begun = Date.now();
    expect(await kubectl(scale)).to.match(/machinedeployment\.cluster\.x-k8s\.io\/acme-md-0 scaled/);
    let last = '';
    await waitFor(
      async () => {
        const nodes = JSON.parse(await kubectl(tenantNodes, '-o', 'json')) as { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] };
        const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        last = nodes.items.map((n) => `${n.metadata.name}:${ready.includes(n) ? 'Ready' : 'NotReady'}`).join(', ');
        return ready.length === 3 && nodes.items.length === 3 ? true : undefined;
      },
      { timeoutMs: 14 * 60_000, intervalMs: 2000, what: '3 Ready tenant Nodes' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; nodes: ${last}`, { cause: err });
    });
    console.log(`      3 Ready tenant Nodes ${((Date.now() - begun) / 1000).toFixed(1)} s after scaling (${last})`);
  });

  it('a Deployment of 6 echo pods runs on all 3 VMs, Running and Ready by the tenant kubelets, with addresses from each Node podCIDR', async function () {
    this.timeout(4 * 60_000);
    const begun = Date.now();
    // A Node that just turned Ready may keep the not-ready taint for a few seconds more (the node lifecycle
    // controller lifts it); spreading over 3 VMs needs all 3 to take pods.
    let taints = '';
    await waitFor(
      async () => {
        const nodes = await tenantNodeList();
        taints = nodes.map((n) => `${n.metadata.name}: ${(n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(' ') || 'none'}`).join(', ');
        return nodes.length === 3 && nodes.every((n) => !n.spec?.unschedulable && !(n.spec?.taints ?? []).some((t) => t.effect !== 'PreferNoSchedule')) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: '3 Nodes without NoSchedule or NoExecute taints' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; taints: ${taints}`, { cause: err });
    });
    console.log(`      3 Nodes schedulable after ${seconds(begun)} (${taints})`);
    await applyTo(tenantKubectl, 'echo', [echoDeployment(ECHO_REPLICAS), ...echoServices]);
    let last: PodView[] = [];
    const pods = await waitFor(
      async () => {
        last = await echoPods();
        const ready = last.filter(runningReady);
        return ready.length === ECHO_REPLICAS ? ready : undefined;
      },
      { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `${ECHO_REPLICAS.toString()} echo pods Running and Ready` },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; pods: ${describePods(last)}`, { cause: err });
    });
    console.log(`      ${ECHO_REPLICAS.toString()} echo pods Ready in ${seconds(begun)} (${describePods(pods)})`);
    const nodes = await tenantNodeList();
    expect(new Set(pods.map((p) => p.spec.nodeName)), 'the Nodes the pods run on').to.have.keys(...nodes.map((n) => n.metadata.name));
    for (const p of pods) {
      const node = nodes.find((n) => n.metadata.name === p.spec.nodeName);
      expect(inCIDR(p.status?.podIP, node?.spec?.podCIDR), `${p.metadata.name} ${p.status?.podIP ?? ''} in ${node?.spec?.podCIDR ?? ''}`).to.equal(true);
      expect(p.status?.hostIP, `${p.metadata.name}: the VM's address`).to.equal(node ? internalIP(node) : undefined);
    }
  });

  it('the tenant apiserver reaches the kubelets through Konnectivity: agents connected on every VM, node proxy and logs go through them', async function () {
    this.timeout(3 * 60_000);
    const begun = Date.now();
    // The egress selector sends every apiserver connection to nodes, pods and Services to the konnectivity-server.
    const tcp = JSON.parse(await managementKubectl('get', 'deployment', '-n', 'tenants', 'acme', '-o', 'json')) as {
      spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } };
    };
    const containers = tcp.spec.template.spec.containers;
    expect(containers.map((c) => c.name)).to.include('konnectivity-server');
    expect(containers.find((c) => c.name === 'kube-apiserver')?.args?.some((a) => a.startsWith('--egress-selector-config-file='))).to.equal(true);

    // The third VM's agent connects after it joins: its readiness probe passes only with a server connection.
    let agents: PodView[] = [];
    await waitFor(
      async () => {
        agents = (JSON.parse(await tenantKubectl('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=konnectivity-agent', '-o', 'json')) as { items: PodView[] }).items;
        return agents.filter(runningReady).length === 3 ? true : undefined;
      },
      { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'a Ready konnectivity-agent on each of the 3 VMs' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; agents: ${describePods(agents)}`, { cause: err });
    });
    const nodes = await tenantNodeList();
    expect(new Set(agents.map((a) => a.spec.nodeName))).to.have.keys(...nodes.map((n) => n.metadata.name));
    console.log(`      3 konnectivity agents connected ${seconds(begun)} into this test`);

    // Each agent counts the connections it opens for the server; what the apiserver does for us must add to them.
    const dials = async () => {
      let sum = 0;
      for (const a of agents) {
        const metrics = await tenantKubectl('get', '--raw', `/api/v1/namespaces/kube-system/pods/${a.metadata.name}:8134/proxy/metrics`);
        // The histogram appears with an agent's first dial.
        sum += Number(/^konnectivity_network_proxy_agent_dial_duration_seconds_count (\d+)/m.exec(metrics)?.[1] ?? '0');
      }
      return sum;
    };
    const before = await dials();
    for (const n of nodes) {
      expect(await tenantKubectl('get', '--raw', `/api/v1/nodes/${n.metadata.name}/proxy/healthz`), `${n.metadata.name} healthz through the node proxy`).to.equal('ok');
    }
    const pod = (await echoPods()).find(runningReady);
    if (!pod) throw new Error('no Ready echo pod');
    expect(await tenantKubectl('logs', '-n', 'default', pod.metadata.name), `kubectl logs ${pod.metadata.name}`).to.include(`echo: serving on :8080 as ${pod.metadata.name} (${pod.status?.podIP ?? ''})`);
    // Nothing asked a kubelet for anything before this test, so each VM's first request opened a connection
    // through an agent; later ones may reuse it (the apiserver keeps kubelet connections alive).
    const opened = (await dials()) - before;
    expect(opened, 'connections the agents opened for the apiserver').to.be.at.least(nodes.length);

    const connects: string[] = [];
    for (const a of agents) {
      const log = await tenantKubectl('logs', '-n', 'kube-system', a.metadata.name);
      const servers = [...log.matchAll(/"Connect to server" serverID="([^"]+)"/g)].map((m) => m[1] ?? '');
      expect(servers, `${a.metadata.name} on ${a.spec.nodeName ?? ''}: its log of the server connection`).to.not.be.empty;
      connects.push(`${a.spec.nodeName ?? ''}: ${servers.join(' ')}`);
    }
    console.log(`      node proxy and logs through ${opened.toString()} new agent connections in ${seconds(begun)}; agents connected to servers ${connects.join('; ')}`);
  });

  it('a tenant pod reaches a pod on another VM by IP and a Service by its DNS name', async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    const pods = (await echoPods()).filter(runningReady);
    const from = pods[0]?.spec.nodeName;
    const target = pods.find((p) => p.spec.nodeName !== from);
    if (!from || !target?.status?.podIP) throw new Error(`no two echo pods on different VMs: ${describePods(pods)}`);
    const name = 'echo.default.svc.cluster.local';
    const client = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'curl-across', namespace: 'default' },
      spec: {
        nodeName: from,
        restartPolicy: 'Never',
        containers: [
          {
            name: 'curl',
            image: TEST_SHELL_IMAGE,
            command: ['sh', '-c', `set -e; curl -sS --max-time 10 http://${target.status.podIP}:8080/; echo; getent hosts ${name}; curl -sS --max-time 10 http://${name}/; echo`],
          },
        ],
      },
    };
    await applyTo(tenantKubectl, 'curl-across', [client]);
    const [byIP = '', resolved = '', byName = ''] = (await podOutput('curl-across', 90_000)).trim().split('\n');
    expect((JSON.parse(byIP) as { pod?: string }).pod, `the echo pod at ${target.status.podIP} on ${target.spec.nodeName ?? ''}, from ${from}`).to.equal(target.metadata.name);
    const clusterIP = (JSON.parse(await tenantKubectl('get', 'service', '-n', 'default', 'echo', '-o', 'json')) as { spec: { clusterIP: string } }).spec.clusterIP;
    expect(resolved.split(/\s+/), `${name} resolved by the tenant's CoreDNS`).to.deep.equal([clusterIP, name]);
    expect(pods.map((p) => p.metadata.name)).to.include((JSON.parse(byName) as { pod?: string }).pod);
    console.log(`      pod to pod across VMs and Service by name in ${seconds(begun)}`);
  });

  it("a NodePort answers on each VM's address from the management network (a pod in the management cluster)", async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    // This suite is in another network namespace than the demo, which forwards only the apiservers: the probe runs
    // where a management-side client would, as a pod of the management cluster.
    const nodePort = (JSON.parse(await tenantKubectl('get', 'service', '-n', 'default', 'echo-nodeport', '-o', 'json')) as { spec: { ports: { nodePort: number }[] } }).spec.ports[0]?.nodePort;
    if (nodePort === undefined) throw new Error('the echo-nodeport Service has no nodePort');
    const addresses = (await tenantNodeList()).map(internalIP);
    const names = (await echoPods()).filter(runningReady).map((p) => p.metadata.name);
    await probeFromManagement('nodeport-probe', addresses.map((ip) => `http://${ip}:${nodePort.toString()}/`), names);
    console.log(`      NodePort ${nodePort.toString()} answered on ${addresses.join(', ')} in ${seconds(begun)}`);
  });

  it("the tenant's CCM runs in its namespace of the management cluster: Nodes initialised by it, a LoadBalancer Service answering from the management network", async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    // The default template's CCM: a Deployment beside the tenant's control plane, with its own ServiceAccount.
    const ccm = JSON.parse(await managementKubectl('get', 'deployment', '-n', 'tenants', 'acme-ccm', '-o', 'json')) as {
      spec: { template: { spec: { serviceAccountName?: string } } };
      status?: { readyReplicas?: number };
    };
    expect(ccm.status?.readyReplicas, 'Ready CCM replicas').to.equal(1);
    expect(ccm.spec.template.spec.serviceAccountName).to.equal('acme-ccm');
    // The kubelets run with --cloud-provider=external: the CCM gave each Node its VM's providerID and lifted the taint.
    for (const n of (await tenantNodeList()) as (NodeView & { spec?: { providerID?: string } })[]) {
      expect(n.spec?.providerID, n.metadata.name).to.equal(`kubevirt://${n.metadata.name}`);
      expect((n.spec?.taints ?? []).map((t) => t.key), n.metadata.name).to.not.include('node.cloudprovider.kubernetes.io/uninitialized');
      expect(internalIP(n), `${n.metadata.name}: InternalIP`).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    }

    const lb = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo-lb', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: ECHO_LABELS, ports: [{ port: 80, targetPort: 8080 }] } };
    await applyTo(tenantKubectl, 'echo-lb', [lb]);
    let seen = '';
    const ip = await waitFor(
      async () => {
        const svc = JSON.parse(await tenantKubectl('get', 'service', '-n', 'default', 'echo-lb', '-o', 'json')) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] }; conditions?: Condition[] } };
        seen = JSON.stringify(svc.status);
        return svc.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'an address for the tenant LoadBalancer Service echo-lb' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; its status: ${seen}`, { cause: err });
    });
    // The infra Service the CCM made for it, in the tenant's namespace, labelled with the tenant's name.
    const infra = JSON.parse(await managementKubectl('get', 'services', '-n', 'tenants', '-l', 'cluster.x-k8s.io/tenant-service-name=echo-lb', '-o', 'json')) as {
      items: { metadata: { labels?: Record<string, string> }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[];
    };
    expect(infra.items, 'infra Services of echo-lb').to.have.length(1);
    expect(infra.items[0]?.metadata.labels).to.include({ 'cluster.x-k8s.io/cluster-name': 'acme' });
    expect(infra.items[0]?.status?.loadBalancer?.ingress?.[0]?.ip).to.equal(ip);

    // A client in the management network (a management pod, as for the NodePort) gets an echo pod's answer.
    const names = (await echoPods()).filter(runningReady).map((p) => p.metadata.name);
    await probeFromManagement('lb-probe', [`http://${ip}/`], names);
    console.log(`      CCM-initialised Nodes; LoadBalancer ${ip} answered from the management network in ${seconds(begun)}`);
  });

  it('scaling the MachineDeployment from 3 to 2 drains the Machine: its pods are evicted and run again on the remaining Nodes', async function () {
    this.timeout(6 * 60_000);
    const begun = Date.now();
    const before = await tenantNodeList();
    // Every change to the echo pods while it happens: the evictions show as the DisruptionTarget condition.
    const watch = spawn(printed().tenantNodes[0] ?? '', [...printed().tenantNodes.slice(1, 3), 'get', 'pods', '-n', 'default', '-l', 'app=echo', '--watch', '--output-watch-events', '-o', 'json', `--cache-dir=${cacheDirForKubectl}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let watched = '';
    watch.stdout.on('data', (d: Buffer) => (watched += d.toString()));
    try {
      const scale = printed().scale.map((a) => (a === '--replicas=3' ? '--replicas=2' : a));
      expect(await kubectl(scale)).to.match(/machinedeployment\.cluster\.x-k8s\.io\/acme-md-0 scaled/);
      let removed: string | undefined;
      let lastPods: PodView[] = [];
      let lastNodes: NodeView[] = [];
      await waitFor(
        async () => {
          lastNodes = await tenantNodeList();
          lastPods = await echoPods();
          if (lastNodes.length !== 2 || !lastNodes.every(isReady)) return undefined;
          removed = before.find((n) => !lastNodes.some((m) => m.metadata.name === n.metadata.name))?.metadata.name;
          const ready = lastPods.filter(runningReady);
          return ready.length === ECHO_REPLICAS && lastPods.length === ECHO_REPLICAS ? true : undefined;
        },
        { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `2 Ready Nodes and ${ECHO_REPLICAS.toString()} Ready echo pods on them` },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; nodes: ${lastNodes.map((n) => n.metadata.name).join(', ')}; pods: ${describePods(lastPods)}`, { cause: err });
      });
      if (!removed) throw new Error('no Node was removed');
      expect(lastPods.map((p) => p.spec.nodeName), `none on the removed Node ${removed}`).to.not.include(removed);
      expect(new Set(lastPods.map((p) => p.spec.nodeName))).to.have.keys(...lastNodes.map((n) => n.metadata.name));

      // The pods the drain moved: evicted through the Eviction API (which marks them before deleting them).
      const events = jsonStream(watched) as { type: string; object: PodView }[];
      const onRemoved = new Set(events.filter((e) => e.object.spec.nodeName === removed).map((e) => e.object.metadata.name));
      expect(onRemoved.size, `echo pods that ran on ${removed}`).to.be.greaterThan(0);
      for (const name of onRemoved) {
        const evicted = events.some((e) => e.object.metadata.name === name && e.object.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.reason === 'EvictionByEvictionAPI'));
        expect(evicted, `${name} on ${removed} evicted by the drain`).to.equal(true);
      }
      console.log(`      drained ${removed} (${[...onRemoved].join(', ')} evicted); ${ECHO_REPLICAS.toString()} pods Ready on ${lastNodes.map((n) => n.metadata.name).join(', ')} ${seconds(begun)} after scaling`);
    } finally {
      watch.kill();
    }
  });

  it('with 2 control plane replicas every agent connects to both konnectivity servers, so each apiserver reaches the kubelets', async function () {
    this.timeout(7 * 60_000);
    const begun = Date.now();
    await managementKubectl('patch', 'kamajicontrolplane', '-n', 'tenants', 'acme', '--type=merge', '-p', '{"spec":{"replicas":2}}');
    interface Deployment {
      spec: { replicas?: number; template: { spec: { containers: { name: string; args?: string[] }[] } } };
      status?: { replicas?: number; updatedReplicas?: number; readyReplicas?: number };
    }
    let rollout = '';
    await waitFor(
      async () => {
        const d = JSON.parse(await managementKubectl('get', 'deployment', '-n', 'tenants', 'acme', '-o', 'json')) as Deployment;
        const server = d.spec.template.spec.containers.find((c) => c.name === 'konnectivity-server');
        rollout = `replicas ${String(d.status?.replicas)}, updated ${String(d.status?.updatedReplicas)}, ready ${String(d.status?.readyReplicas)}; ${server?.args?.find((a) => a.startsWith('--server-count')) ?? 'no --server-count'}`;
        const done = d.spec.replicas === 2 && d.status?.replicas === 2 && d.status.updatedReplicas === 2 && d.status.readyReplicas === 2;
        return done && server?.args?.includes('--server-count=2') ? true : undefined;
      },
      { timeoutMs: 3 * 60_000, intervalMs: 1000, what: 'the tenant control plane rolled out to 2 replicas' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; ${rollout}`, { cause: err });
    });
    const rolledOut = seconds(begun);

    // Each agent learns the server count from the servers and dials through the Service until it holds that many.
    const nodes = await tenantNodeList();
    const failures: string[] = [];
    let connections = '';
    await waitFor(
      async () => {
        // The agent of the VM the drain removed still shows Running until the tenant's pod garbage collector
        // deletes it (about a minute and a half here): it counts for nothing, its VM is gone.
        const agents = (JSON.parse(await tenantKubectl('get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=konnectivity-agent', '-o', 'json')) as { items: PodView[] }).items.filter(
          (p) => runningReady(p) && nodes.some((n) => n.metadata.name === p.spec.nodeName),
        );
        const counts: number[] = [];
        for (const a of agents) {
          const metrics = await tenantKubectl('get', '--raw', `/api/v1/namespaces/kube-system/pods/${a.metadata.name}:8134/proxy/metrics`).catch((err: unknown) => {
            failures.push((err as Error).message.split('\n').find((l) => l.startsWith('Error')) ?? (err as Error).message);
            return '';
          });
          counts.push(Number(/^konnectivity_network_proxy_agent_open_server_connections (\d+)/m.exec(metrics)?.[1] ?? '0'));
        }
        connections = counts.join(', ');
        return agents.length === nodes.length && counts.every((c) => c === 2) ? true : undefined;
      },
      // Agents re-dial every 5-10 s (--sync-forever) and the load balancer spreads those dials over both servers,
      // so this takes seconds after the rollout. (With a fixed rotation two agents dialling in turn each reached
      // one server for good: this test waited 4 minutes in vain.)
      { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'every agent connected to both servers' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; server connections per agent: ${connections}; failures: ${failures.join(' | ')}`, { cause: err });
    });
    // Each kubectl call is a new connection, which the Service sends to either replica.
    for (let i = 0; i < 12; i++) {
      const node = nodes[i % nodes.length]?.metadata.name ?? '';
      expect(await tenantKubectl('get', '--raw', `/api/v1/nodes/${node}/proxy/healthz`), `healthz of ${node} through the node proxy, call ${String(i + 1)}`).to.equal('ok');
    }
    console.log(
      `      rolled out to 2 replicas in ${rolledOut}; agents connected to both servers at ${seconds(begun)} (${String(failures.length)} requests failed meanwhile${failures[0] ? `, e.g. ${failures[0]}` : ''}); 12 node proxy calls answered`,
    );
  });

  it('`kvcloud demo down` ends the demo: its command exits 0, and no process, namespace, mount or file of it is left', async function () {
    this.timeout(5 * 60_000);
    const begun = Date.now();
    const down = await run(TSX, [CLI, 'demo', 'down', '--state-dir', stateDir]);
    expect(down.stdout).to.match(/kvcloud demo: stopped/);
    expect(await demo?.exited, 'the exit code of `kvcloud demo`').to.equal(0);
    console.log(`      stopped in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    expect(output()).to.match(/^kvcloud demo: stopped$/m);

    expect(existsSync(stateDir), `${stateDir} (state, logs, sockets, kubeconfigs, the cluster's files)`).to.equal(false);
    expect(processesReferencing(stateDir), 'processes of the demo').to.deep.equal([]);
    const left = [...namespaces()].filter((ns) => !baseline.namespaces.has(ns));
    expect(left, 'namespaces the demo made').to.deep.equal([]);
    expect(mounts(), 'mounts').to.deep.equal(baseline.mounts);
  });
});
