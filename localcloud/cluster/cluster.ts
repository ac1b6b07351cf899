// A local management cluster: the real control plane (etcd, kube-apiserver on the node address, kube-controller-
// manager, kube-scheduler), simulated nodes, the pod runner that runs what the scheduler binds to them as local
// processes in pod network namespaces, and the service proxy that makes their Services reachable. It lives
// inside the cluster network namespace netns.ts creates.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { createLogger } from '../../lib/observability/logger.js';
import { startPlane, type Plane } from '../plane.js';
import { runDir } from '../run-dir.js';
import { waitFor } from '../wait.js';
import { assertInClusterNetns } from './netns.js';
import { NODE, type Node } from '../node-object.js';
import type { NodeOptions } from './node-object.js';
import type { ClusterDNS } from './pod-dns.js';
import { PodRunner } from './pod-runner.js';
import { parseCIDR, podIpam } from './ipam.js';
import type { RestartBackoffOptions } from './restart-backoff.js';
import { startServiceProxy, type ServiceProxy } from './service-proxy/index.js';
import { formatIPv4 } from './service-proxy/ipv4-range.js';
import { SimulatedNode, type HeartbeatOptions } from './simulated-node.js';
import { CLUSTER_BRIDGE, LOAD_BALANCER_POOL, NODE_IP, POD_CIDR, SERVICE_CIDR, SERVICE_DEVICE } from './topology.js';

const run = promisify(execFile);

export interface ClusterOptions {
  /** Default: one node, kvcloud-node-1 in zone-a. */
  nodes?: NodeOptions[];
  /** Container restart backoff; default the kubelet's 10s doubling to 5 minutes. */
  restartBackoff?: RestartBackoffOptions;
  /** Default one of the cluster's network slot (10.96.0.0/16 for the first cluster, 10.97.0.0/16 next...). */
  serviceCIDR?: string;
  /**
   * Where pods reach the apiserver (KUBERNETES_SERVICE_HOST/PORT). Default the kubernetes Service's ClusterIP and
   * 443, through the service proxy, as in production.
   */
  apiServerForPods?: { host: string; port: number };
  heartbeat?: HeartbeatOptions;
  /** How often Secret, ConfigMap, downward API and token volumes are refreshed; default 10s. */
  volumeRefreshMs?: number;
  /**
   * The cluster DNS ClusterFirst pods resolve with (a kube-dns the caller runs at that Service IP), for managers that
   * reach Services by name; by default none, and pods keep the machine's resolver.
   */
  dns?: ClusterDNS;
}

const DEFAULT_NODES: NodeOptions[] = [{ name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' }];

export interface Cluster {
  /** Holds the runner's pods/, logs/ and cluster.log (the plane keeps its own directory). */
  readonly dir: string;
  readonly plane: Plane;
  readonly nodes: readonly SimulatedNode[];
  readonly runner: PodRunner;
  readonly serviceProxy: ServiceProxy;
  /** The Service ClusterIP range, and where ClusterIPs and load-balancer IPs are bound. */
  readonly network: ClusterNetwork;
  /** Ends every pod (2s grace), the nodes, the control plane, and removes every file. */
  stop(): Promise<void>;
}

export interface ClusterNetwork {
  readonly serviceCIDR: string;
  readonly serviceDevice: string;
  readonly loadBalancerPool: string;
}

/**
 * Clusters started at the same time share the run's network namespace and bridge (pod IPs come from one
 * allocator), but each gets a slot of its own for what a service proxy binds: the first uses the topology's
 * service range, kvsvc0 and load-balancer pool; the n-th 10.(96+n).0.0/16, a device kvsvc<n> it creates, and
 * 10.255.(255-n).0/24. Two proxies must not share a device: each adopts and prunes the addresses on its own.
 */
const slotsInUse = new Set<number>();
const MAX_SLOTS = 8;

function networkOf(slot: number): ClusterNetwork {
  if (slot === 0) return { serviceCIDR: SERVICE_CIDR, serviceDevice: SERVICE_DEVICE, loadBalancerPool: LOAD_BALANCER_POOL };
  return { serviceCIDR: `10.${96 + slot}.0.0/16`, serviceDevice: `kvsvc${slot}`, loadBalancerPool: `10.255.${255 - slot}.0/24` };
}

/** The kubernetes Service's ClusterIP: the first address of the range. */
export function kubernetesServiceIP(serviceCIDR: string): string {
  return formatIPv4(parseCIDR(serviceCIDR).base + 1);
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  assertInClusterNetns();
  let slot = 0;
  while (slotsInUse.has(slot)) slot++;
  if (slot >= MAX_SLOTS) throw new Error(`at most ${MAX_SLOTS} local clusters run at once`);
  slotsInUse.add(slot);
  const network = { ...networkOf(slot), ...(opts.serviceCIDR ? { serviceCIDR: opts.serviceCIDR } : {}) };
  let dir: string;
  try {
    if (slot > 0) await ip('link', 'add', network.serviceDevice, 'type', 'bridge');
    if (slot > 0) await ip('link', 'set', network.serviceDevice, 'up');
    dir = await mkdtemp(join(runDir(), 'cluster-'));
  } catch (err) {
    await releaseSlot(slot, network);
    throw err;
  }
  const logFile = pino.destination({ dest: join(dir, 'cluster.log'), sync: true });
  const log = createLogger({ component: 'local-cluster', destination: logFile });
  let plane: Plane | undefined;
  const nodes: SimulatedNode[] = [];
  let runner: PodRunner | undefined;
  let serviceProxy: ServiceProxy | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await runner?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await serviceProxy?.stop();
    await plane?.stop();
    // end() closes the file asynchronously: wait for it, so the close is not left in flight past the stop.
    await new Promise<void>((resolve) => {
      logFile.once('close', () => {
        resolve();
      });
      logFile.end();
    });
    await rm(dir, { recursive: true, force: true });
    await releaseSlot(slot, network);
  };
  try {
    plane = await startPlane({
      bindAddress: NODE_IP,
      advertiseAddress: NODE_IP,
      serviceCIDR: network.serviceCIDR,
      scheduler: true,
      // With per-controller credentials kube-controller-manager makes ~100 requests before its controllers run;
      // at the default 20 QPS that alone takes 5 seconds.
      controllerManagerArgs: ['--kube-api-qps=500', '--kube-api-burst=1000'],
    });
    serviceProxy = await startServiceProxy({
      kubeConfig: plane.kubeConfig,
      device: network.serviceDevice,
      loadBalancerPool: network.loadBalancerPool,
      log: log.child({ component: 'service-proxy' }),
    });
    for (const nodeOpts of opts.nodes ?? DEFAULT_NODES) {
      const kubeconfig = await plane.kubeconfigFor(`system:node:${nodeOpts.name}`, ['system:nodes']);
      nodes.push(await SimulatedNode.register(nodeOpts, kubeconfig, NODE_IP, log, opts.heartbeat));
    }
    runner = new PodRunner({
      nodes,
      dir,
      hostIP: NODE_IP,
      network: { bridge: CLUSTER_BRIDGE, gateway: NODE_IP, prefixLength: parseCIDR(POD_CIDR).prefix, ipam: podIpam },
      apiServer: opts.apiServerForPods ?? { host: kubernetesServiceIP(network.serviceCIDR), port: 443 },
      log,
      ...(opts.restartBackoff ? { restartBackoff: opts.restartBackoff } : {}),
      ...(opts.volumeRefreshMs ? { volumeRefreshMs: opts.volumeRefreshMs } : {}),
      ...(opts.dns ? { dns: opts.dns } : {}),
    });
    await runner.start();
    await waitUntilUsable(plane, nodes);
    return { dir, plane, nodes, runner, serviceProxy, network, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function releaseSlot(slot: number, network: ClusterNetwork): Promise<void> {
  try {
    if (slot > 0) await ip('link', 'del', network.serviceDevice);
  } catch {
    // Never created, or already gone.
  } finally {
    slotsInUse.delete(slot);
  }
}

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

/**
 * Waits for what the first pod needs: the nodes schedulable (the TaintNodesByCondition admission plugin taints a
 * new node not-ready until kube-controller-manager sees it Ready) and the default ServiceAccount, without which
 * admission rejects pods.
 */
async function waitUntilUsable(plane: Plane, nodes: SimulatedNode[]): Promise<void> {
  const transport = await RestTransport.fromKubeConfig(plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-local-cluster' });
  try {
    await waitFor(
      async () => {
        for (const { name } of nodes) {
          const node = await client.get<Node>(NODE, { name }, { direct: true });
          const taint = node?.spec?.taints?.find((t) => t.key === NOT_READY_TAINT);
          if (taint) throw new Error(`node ${name} still has the ${NOT_READY_TAINT} taint`);
        }
        return (await client.get({ apiVersion: 'v1', kind: 'ServiceAccount' }, { namespace: 'default', name: 'default' }, { direct: true })) ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the nodes to be schedulable and the default ServiceAccount to exist' },
    );
  } finally {
    transport.close();
  }
}
