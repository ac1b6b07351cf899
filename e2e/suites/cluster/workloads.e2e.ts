// Workloads on the local cluster the way a user runs them: a Deployment goes through kube-controller-manager and
// the real kube-scheduler onto simulated nodes, and the pod runner runs its pods as processes in their own
// network namespaces, restarting them with backoff and stopping them when they are deleted.
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { DEPLOYMENT_TYPE } from '../../../lib/apis/apps.js';
import { SERVICE_TYPE } from '../../../lib/apis/core.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { hostDeviceName } from '../../../localcloud/cluster/pod-sandbox.js';
import { POD, type Pod } from '../../../localcloud/cluster/pod-api.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace, describePod, echoContainer, getJSON, isReady, podObject, processAlive, waitForPod } from './support.js';

interface Deployment extends KubeObject {
  status?: { availableReplicas?: number; conditions?: { type: string; status: string }[] };
}

interface NodeObject extends KubeObject {
  spec?: { taints?: unknown[] };
  status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
}

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; renewTime?: string };
}

interface Echo {
  pod: string;
  ip: string;
  hostname: string;
  pid: number;
}

interface Service extends KubeObject {
  spec?: { clusterIP?: string; ports?: { nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}
const ENDPOINT_SLICE = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' };
type EndpointSlice = KubeObject;
const ZONES = ['zone-a', 'zone-b'];

function linkNames(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

describe('local cluster: nodes, the real scheduler and workloads', () => {
  const suite = clusterSuite({
    nodes: ZONES.map((zone, i) => ({ name: `node-${String.fromCharCode(97 + i)}`, zone, region: 'kvcloud-local' })),
    restartBackoff: { initialMs: 1000, maxMs: 8000 },
    heartbeat: { leaseRenewMs: 1000 },
  });
  let ns: string;
  let echoPods: Pod[] = [];

  before(async () => {
    ns = await createNamespace(suite.client, 'workloads');
  });

  it('registers Ready, untainted nodes with topology labels and keeps renewing their Leases', async () => {
    const nodes = await suite.client.list<NodeObject>({ apiVersion: 'v1', kind: 'Node' }, { direct: true });
    expect(nodes.map((n) => n.metadata.labels?.['topology.kubernetes.io/zone']).sort()).to.deep.equal(ZONES);
    for (const node of nodes) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, node.metadata.name).to.equal('True');
      expect(node.spec?.taints ?? []).to.deep.equal([]);
      expect(node.status?.addresses).to.deep.include({ type: 'InternalIP', address: NODE_IP });
      expect(node.metadata.labels?.['kubernetes.io/hostname']).to.equal(node.metadata.name);
    }
    const lease = () => suite.client.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, { namespace: 'kube-node-lease', name: 'node-a' }, { direct: true });
    const first = await lease();
    expect(first?.spec?.holderIdentity).to.equal('node-a');
    await waitFor(async () => ((await lease())?.spec?.renewTime !== first?.spec?.renewTime ? true : undefined), { timeoutMs: 10_000, what: 'the Lease of node-a to be renewed' });
  });

  it('runs a Deployment of the test image until Available, spread over the zones, each pod answering at its pod IP', async () => {
    const started = Date.now();
    await suite.client.create({
      ...DEPLOYMENT_TYPE,
      metadata: { name: 'echo', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            containers: [echoContainer()],
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'echo' } } },
            ],
            terminationGracePeriodSeconds: 5,
          },
        },
      },
    });
    await waitFor(
      async () => {
        const d = await suite.client.get<Deployment>(DEPLOYMENT_TYPE, { namespace: ns, name: 'echo' }, { direct: true });
        if (d?.status?.availableReplicas === 2 && d.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True')) return true;
        throw new Error(`status ${JSON.stringify(d?.status)}`);
      },
      { timeoutMs: 60_000, what: 'Deployment echo to become Available' },
    );
    console.log(`      Deployment of 2 replicas Available ${((Date.now() - started) / 1000).toFixed(1)} s after it was created`);

    echoPods = await suite.client.list<Pod>(POD, { namespace: ns, labelSelector: 'app=echo', direct: true });
    expect(echoPods).to.have.length(2);
    expect(new Set(echoPods.map((p) => p.spec.nodeName))).to.deep.equal(new Set(['node-a', 'node-b']));
    for (const pod of echoPods) {
      expect(isReady(pod), describePod(pod)).to.be.true;
      expect(pod.status?.hostIP).to.equal(NODE_IP);
      expect(pod.status?.podIP).to.match(/^10\.244\.\d+\.\d+$/);
      const echo = await getJSON<Echo>(`http://${pod.status?.podIP ?? ''}:8080/`);
      expect(echo).to.deep.include({ pod: pod.metadata.name, ip: pod.status?.podIP, hostname: pod.metadata.name });
    }
  });


  it('reaches the Deployment through its Service: ClusterIP, NodePort and LoadBalancer IP, over endpoints kube-controller-manager published', async () => {
    await suite.client.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: ns },
      spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const service = await waitFor(
      async () => {
        const svc = await suite.client.get<Service>(SERVICE_TYPE, { namespace: ns, name: 'echo' }, { direct: true });
        return svc?.status?.loadBalancer?.ingress?.[0]?.ip ? svc : undefined;
      },
      { timeoutMs: 30_000, what: 'Service echo to get a LoadBalancer ingress IP' },
    );
    const slices = await suite.client.list<EndpointSlice>(ENDPOINT_SLICE, { namespace: ns, labelSelector: 'kubernetes.io/service-name=echo', direct: true });
    expect(slices.map((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'])).to.include('endpointslice-controller.k8s.io');
    const podNames = new Set(echoPods.map((p) => p.metadata.name));
    const nodePort = service.spec?.ports?.[0]?.nodePort ?? 0;
    const addresses = [`${service.spec?.clusterIP ?? ''}:80`, `${service.status?.loadBalancer?.ingress?.[0]?.ip ?? ''}:80`, `${NODE_IP}:${nodePort}`];
    expect(addresses[1]).to.match(/^10\.255\.255\.\d+:80$/);
    for (const address of addresses) {
      // Each round of two connections reaches both ready endpoints: a few requests reach both pods.
      const answered = await waitFor(
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 4; i++) seen.add((await getJSON<Echo>(`http://${address}/`)).pod);
          return seen.size === 2 ? seen : undefined;
        },
        { timeoutMs: 30_000, what: `both echo pods to answer through ${address}` },
      );
      expect(answered).to.deep.equal(podNames);
    }
  });
  it('restarts a killed container in the same sandbox: restartCount grows and a new process answers', async () => {
    const pod = echoPods[0];
    if (!pod?.metadata.name) throw new Error('the Deployment test did not leave a pod');
    const ip = pod.status?.podIP ?? '';
    const before = await getJSON<Echo>(`http://${ip}:8080/`);
    process.kill(before.pid, 'SIGKILL');
    const restarted = await waitForPod(
      suite.client,
      ns,
      pod.metadata.name,
      (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && isReady(p),
      'the killed container to be restarted and Ready',
    );
    const status = restarted.status?.containerStatuses?.[0];
    expect(status?.lastState.terminated).to.deep.include({ exitCode: 137, reason: 'Error' });
    expect(status?.state.running).to.not.equal(undefined);
    expect(restarted.status?.podIP).to.equal(ip);
    const after = await getJSON<Echo>(`http://${ip}:8080/`);
    expect(after.pod).to.equal(before.pod);
    expect(after.pid).to.not.equal(before.pid);
  });

  it('backs off a crashing container: CrashLoopBackOff with growing delays and the exit code in lastState', async () => {
    await suite.client.create(podObject(ns, 'crasher', { containers: [echoContainer({ args: ['--exit=3'] })] }));
    const delays: number[] = [];
    const crashing = await waitForPod(
      suite.client,
      ns,
      'crasher',
      (p) => {
        const waiting = p.status?.containerStatuses?.[0]?.state.waiting;
        const seconds = /^back-off (\d+)s restarting failed container=echo/.exec(waiting?.message ?? '')?.[1];
        if (waiting?.reason === 'CrashLoopBackOff' && seconds && delays.at(-1) !== Number(seconds)) delays.push(Number(seconds));
        return delays.length >= 2;
      },
      'CrashLoopBackOff to show two different back-off delays',
    );
    expect(delays[1]).to.be.greaterThan(delays[0] ?? Infinity);
    const status = crashing.status?.containerStatuses?.[0];
    expect(status?.restartCount).to.be.at.least(2);
    expect(status?.lastState.terminated).to.deep.include({ exitCode: 3, reason: 'Error' });
    expect(crashing.status?.phase).to.equal('Running');
  });

  it('stops every process of a deleted Deployment and frees its pod addresses', async () => {
    const pods = await suite.client.list<Pod>(POD, { namespace: ns, labelSelector: 'app=echo', direct: true });
    const pids = pods.map((p) => suite.cluster.runner.containerRun(ns, p.metadata.name ?? '', 'echo')?.process.pid);
    expect(pids.every((pid) => pid !== undefined && processAlive(pid))).to.be.true;
    const ips = pods.map((p) => p.status?.podIP ?? '');
    await suite.client.delete(DEPLOYMENT_TYPE, { namespace: ns, name: 'echo' }, { propagationPolicy: 'Background' });
    await waitFor(
      async () => {
        const left = await suite.client.list<Pod>(POD, { namespace: ns, labelSelector: 'app=echo', direct: true });
        if (left.length === 0) return true;
        throw new Error(left.map(describePod).join(' | '));
      },
      { timeoutMs: 60_000, what: 'the Deployment pods to be gone' },
    );
    for (const pid of pids) expect(processAlive(pid ?? 0), `pid ${pid ?? '?'}`).to.be.false;
    const links = linkNames();
    for (const ip of ips) expect(links).to.not.include(hostDeviceName(ip));
  });
});
