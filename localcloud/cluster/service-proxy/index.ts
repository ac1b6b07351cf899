// The local management cluster's service proxy, in-process: a kube-proxy (ClusterIPs, NodePorts and load-balancer
// IPs forwarding to ready endpoints: in userspace, or with kernel NAT where externalTrafficPolicy Local must keep
// the client's address) and a small MetalLB (load-balancer IPs from a pool), two controllers on one toolkit
// manager. It must run inside the cluster network namespace (see ../topology.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { parseManagerFlags } from '../../../lib/controller/manager-flags.js';
import { Manager } from '../../../lib/controller/manager.js';
import { createLogger, type Logger } from '../../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../../lib/observability/metrics.js';
import { waitFor } from '../../wait.js';
import { LOAD_BALANCER_POOL, NODE_IP, SERVICE_DEVICE } from '../topology.js';
import { Dataplane } from './dataplane.js';
import { IPv4Range } from './ipv4-range.js';
import { KernelNat, type IptablesRunner } from './kernel-nat.js';
import { LoadBalancerAllocator } from './loadbalancer-allocator.js';
import { LoadBalancerReconciler } from './loadbalancer-reconciler.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { ServiceProxyReconciler, sliceOwner } from './proxy-reconciler.js';
import { ENDPOINT_SLICE, LOCAL_LOAD_BALANCER_CLASS, SERVICE, type Service } from './service-api.js';
import { ServiceDevice, type IpRunner } from './service-device.js';

export { LOCAL_LOAD_BALANCER_CLASS } from './service-api.js';

export interface ServiceProxyOptions {
  kubeConfig: KubeConfig;
  /** Addresses NodePorts listen on; default the node address on the cluster bridge. */
  nodeAddresses?: readonly string[];
  /**
   * The one Node this proxy serves (a tenant VM's kube-proxy): traffic policies Local send only to its endpoints.
   * Unset on the management cluster, whose simulated nodes all sit behind this one proxy.
   */
  nodeName?: string;
  /** The device ClusterIPs and load-balancer IPs are added to; default kvsvc0. */
  device?: string;
  /** CIDR load-balancer IPs come from; default the topology's pool. */
  loadBalancerPool?: string;
  /** The loadBalancerClass we serve besides class-less Services. */
  loadBalancerClass?: string;
  /**
   * Whether this proxy also hands out load-balancer IPs (the management cluster's MetalLB); default true. A
   * tenant node's kube-proxy only serves the IPs that the tenant's cloud controller manager writes.
   */
  allocateLoadBalancerIPs?: boolean;
  /** Serve Prometheus metrics here ("127.0.0.1:0", "0" to disable, the default). */
  metricsBindAddress?: string;
  /** Runs `ip`; tests may inject one. */
  ip?: IpRunner;
  /** Runs iptables-save and iptables-restore; tests may inject one. */
  iptables?: IptablesRunner;
  log?: Logger;
  metrics?: ToolkitMetrics;
  /** How long start waits for the Service and EndpointSlice caches to fill. */
  syncTimeoutMs?: number;
}

export interface ServiceProxy {
  readonly metrics: ToolkitMetrics;
  /** http://host:port/metrics when metricsBindAddress enabled it. */
  readonly metricsUrl: string | undefined;
  /** Addresses being listened on ("TCP 10.96.0.10:80"), for tests and status output. */
  listening(): string[];
  /** Addresses translated by kernel NAT rules ("TCP 10.255.255.1:80"), for tests and status output. */
  translated(): string[];
  /** Stops both controllers, closes every listener and connection, and removes every NAT rule and address it added. */
  stop(): Promise<void>;
}

export async function startServiceProxy(opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const log = opts.log ?? createLogger({ component: 'service-proxy', level: 'warn' });
  const metrics = opts.metrics ?? new ToolkitMetrics({ defaultMetrics: false });
  const proxyMetrics = new ProxyMetrics(metrics.registry);
  const device = await ServiceDevice.open(opts.device ?? SERVICE_DEVICE, opts.ip);
  const { flags } = parseManagerFlags([
    `--metrics-bind-address=${opts.metricsBindAddress ?? '0'}`,
    '--health-probe-bind-address=0',
    // One worker per controller: the allocator hands out the lowest free IP in reconcile order, and the data
    // plane's address bookkeeping is shared across Services.
    '--concurrency=1',
  ]);
  const manager = await Manager.create({ component: 'service-proxy', flags, kubeConfig: opts.kubeConfig, log, metrics });

  const nat = await KernelNat.open(device.name, opts.iptables);
  const dataplane = new Dataplane({ device, nat, log, metrics: proxyMetrics });
  // Runnables stop after the controllers have drained, so no reconcile reopens what this closes.
  manager.add({ name: 'service-dataplane', needLeaderElection: false, start: () => undefined, stop: () => dataplane.stop() });

  const allocator = opts.allocateLoadBalancerIPs === false ? undefined : new LoadBalancerAllocator(IPv4Range.parse(opts.loadBalancerPool ?? LOAD_BALANCER_POOL));
  if (allocator) {
    // Services waiting for an IP are enqueued again when one is freed.
    const retry = (key: string): void => {
      loadBalancers.queue.add(key);
    };
    const loadBalancers = manager
      .controller<Service>('service-loadbalancer')
      .for(SERVICE)
      .complete(
        new LoadBalancerReconciler({ allocator, loadBalancerClass: opts.loadBalancerClass ?? LOCAL_LOAD_BALANCER_CLASS, retry, metrics: proxyMetrics }),
      );
  }
  manager
    .controller<Service>('service-proxy')
    .for(SERVICE)
    .watches(ENDPOINT_SLICE, sliceOwner)
    .withoutAutomaticPatch()
    .complete(new ServiceProxyReconciler(dataplane, opts.nodeAddresses ?? [NODE_IP], opts.nodeName));

  await manager.start();
  try {
    await waitFor(() => (manager.isReady() ? true : undefined), {
      timeoutMs: opts.syncTimeoutMs ?? 60_000,
      what: 'the service proxy to sync Services and EndpointSlices',
    });
  } catch (err) {
    await manager.stop();
    throw err;
  }
  log.info({ device: device.name, pool: allocator?.pool.cidr }, 'service proxy started');
  return {
    metrics,
    metricsUrl: manager.metricsUrl,
    listening: () => dataplane.listening(),
    translated: () => dataplane.translated(),
    stop: () => manager.stop(),
  };
}
