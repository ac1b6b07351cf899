// The kubelet of a simulated VM, once the node has joined: it waits for the Node's podCIDR (the tenant's
// kube-controller-manager allocates it), builds the VM's pod bridge and keeps host-gw routes to the other Nodes'
// pods (pod-network.ts), runs the pods bound to its Node with the local cluster's pod runner, shared with the
// management nodes, and serves the kubelet API on port 10250 (kubelet-server.ts). It runs inside the virt-launcher
// pod's network namespace, which is the VM's network: everything it creates there vanishes with the VM.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EventRecorder } from '../../lib/controller/event-recorder.js';
import { Informer } from '../../lib/controller/informer.js';
import { RestListWatcher } from '../../lib/controller/list-watcher.js';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { RestTransport } from '../../lib/kube/rest-transport.js';
import { Ipam } from '../../localcloud/cluster/ipam.js';
import type { ClusterDNS } from '../../localcloud/cluster/pod-dns.js';
import { PodRunner } from '../../localcloud/cluster/pod-runner.js';
import { NODE, type Node } from '../../localcloud/node-object.js';
import { clientOn, openTransport } from './connection.js';
import { startCsi } from './csi-volumes.js';
import type { GuestFS } from './guest-fs.js';
import type { RunningNode } from './join.js';
import { clusterDNSOf, KUBELET_CONFIG_MAP } from './kubelet-config.js';
import { KubeletServer, KUBELET_PORT, STREAMING_PATH } from './kubelet-server.js';
import { GuestContainerStreams, type ContainerRef, type PodRef } from './container-streams.js';
import { startCriEndpoint } from './cri-server.js';
import { StreamingServer } from '../../streaming/server.js';
import { DEFAULT_GUEST_CAPACITY } from './node-object.js';
import {
  createPodBridge,
  deletePodBridge,
  podNetworkPlan,
  podRoutes,
  POD_BRIDGE,
  removeRoute,
  replaceRoute,
  routeChanges,
  type PodRoute,
} from './pod-network.js';
import { requestServingCertificate, selfSignedServingCertificate, servingAltNames } from './serving-certificate.js';

export const KUBELET_DIR = '/var/lib/kubelet';
const SERVING_PEM = '/var/lib/kubelet/pki/kubelet-server-current.pem';

export interface KubeletOptions {
  node: RunningNode;
  /** The VM's address: the Node's InternalIP, status.hostIP of its pods, and where port 10250 listens. */
  nodeIP: string;
  fs: GuestFS;
  log: Logger;
  /** Ends the wait for a podCIDR (the VM powers off first). */
  signal: AbortSignal;
}

export interface Kubelet {
  readonly podCIDR: string;
  stop(): Promise<void>;
}

interface Service extends KubeObject {
  spec?: { clusterIP?: string; ports?: { port: number }[] };
}

/** Where pods reach the apiserver: the kubernetes Service, as a kubelet sets KUBERNETES_SERVICE_HOST/PORT. */
async function apiServerForPods(client: Client, server: string): Promise<{ host: string; port: number }> {
  const svc = await client.get<Service>({ apiVersion: 'v1', kind: 'Service' }, { namespace: 'default', name: 'kubernetes' }, { direct: true });
  const ip = svc?.spec?.clusterIP;
  if (ip) return { host: ip, port: svc.spec?.ports?.[0]?.port ?? 443 };
  const url = new URL(server);
  return { host: url.hostname, port: Number(url.port || 443) };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The cluster DNS of the cluster's kubelet-config ConfigMap, which kubeadm join reads; none when it has none. */
async function clusterDNS(client: Client, log: Logger): Promise<ClusterDNS | undefined> {
  const { namespace, name, key } = KUBELET_CONFIG_MAP;
  const cm = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace, name }, { direct: true });
  const text = cm?.data?.[key];
  const dns = text === undefined ? undefined : clusterDNSOf(text);
  if (!dns) log.warn(`${namespace}/${name} names no clusterDNS: ClusterFirst pods use the VM's resolver`);
  return dns;
}

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const { node, nodeIP, fs } = opts;
  const log = opts.log.child({ component: 'kubelet', node: node.nodeName });
  const identity = node.identity;
  const transport: RestTransport = await openTransport({
    server: identity.server,
    caPem: identity.caPem,
    credentials: { kind: 'certificate', certPem: identity.certPem, keyPem: identity.keyPem },
    userAgent: `kubelet/${node.nodeName}`,
  });
  const client = clientOn(transport);
  const cleanups: (() => Promise<unknown>)[] = [
    () => {
      transport.close();
      return Promise.resolve();
    },
  ];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => {
        log.warn({ err }, 'kubelet cleanup step failed');
      });
    }
    cleanups.length = 0;
  };
  try {
    const plan = podNetworkPlan(await waitForPodCIDR(client, node.nodeName, opts.signal, log));
    await deletePodBridge();
    await createPodBridge(plan);
    cleanups.push(deletePodBridge);
    log.info({ podCIDR: plan.cidr, bridge: POD_BRIDGE }, 'pod network ready');

    const routes = await startRouteSync(client, node.nodeName, nodeIP, log);
    cleanups.push(() => routes.stop());

    const events = new EventRecorder({ client, reportingController: 'kubelet', reportingInstance: node.nodeName, log, seriesFlushMs: 5_000 });
    cleanups.push(() => events.close());
    // CSI volumes (csi-plugins.ts, csi-volumes.ts): node plugins register through /var/lib/kubelet/plugins_registry,
    // and their Bidirectional mount of /var/lib/kubelet carries their staging and publish mounts here.
    await fs.shareMounts(KUBELET_DIR).catch((err: unknown) => {
      log.warn({ err }, 'cannot make the kubelet directory a shared mount: Bidirectional volume mounts of it will fail');
    });
    const csi = await startCsi({ client, nodeName: node.nodeName, kubeletDir: fs.resolve(KUBELET_DIR), resolve: (p) => fs.resolve(p), env: process.env, log });
    if (csi) cleanups.push(() => csi.stop());
    const runner = new PodRunner({
      nodes: [{ name: node.nodeName, client, events, allocatable: DEFAULT_GUEST_CAPACITY }],
      dir: fs.resolve(KUBELET_DIR),
      hostIP: nodeIP,
      network: { bridge: POD_BRIDGE, gateway: plan.gateway, prefixLength: plan.prefixLength, ipam: new Ipam(plan.cidr, [plan.gateway]) },
      apiServer: await apiServerForPods(client, identity.server),
      dns: await clusterDNS(client, log),
      // hostPath volumes are the VM's paths (kube-proxy's /run/xtables.lock, /lib/modules), not the machine's.
      nodeFS: fs,
      claims: csi?.claims,
      log,
    });
    await runner.start();
    cleanups.push(() => runner.stop());

    const streamingRuntime = new GuestContainerStreams(runner);
    const streaming = new StreamingServer<ContainerRef, PodRef>({
      runtime: streamingRuntime,
      baseURL: `https://${nodeIP}:${String(KUBELET_PORT)}${STREAMING_PATH}`,
      log: log.child({ component: 'streaming' }),
    });
    const altNames = servingAltNames(node.nodeName, [nodeIP]);
    const server = await KubeletServer.start({
      nodeName: node.nodeName,
      address: nodeIP,
      clientCAPem: identity.caPem,
      certificate: await selfSignedServingCertificate(node.nodeName, altNames),
      client,
      pods: {
        pods: () => runner.pods(),
        containerLog: (ns, pod, container, previous) => runner.containerLog(ns, pod, container, previous),
        logActive: (ns, pod, container, file) => runner.containerRun(ns, pod, container)?.logFile === file,
      },
      streaming: { server: streaming, runtime: streamingRuntime },
      log,
    });
    cleanups.push(() => server.close());
    const cri = await startCriEndpoint({ fs, pods: () => runner.pods(), streaming, runtime: streamingRuntime, log: log.child({ component: 'cri' }) });
    cleanups.push(() => cri.close());
    const abort = new AbortController();
    cleanups.push(() => {
      abort.abort();
      return Promise.resolve();
    });
    requestServingCertificate(client, node.nodeName, altNames, abort.signal, log).then(
      async (certificate) => {
        server.useCertificate(certificate);
        await fs.write(SERVING_PEM, certificate.certPem + certificate.keyPem, { mode: 0o600 });
        log.info('serving the kubelet API with the certificate the cluster issued');
      },
      (err: unknown) => {
        if (!abort.signal.aborted) log.warn({ err }, 'no serving certificate from the cluster; keeping the self-signed one');
      },
    );
    log.info({ address: nodeIP }, 'kubelet running');
    return { podCIDR: plan.cidr, stop };
  } catch (err) {
    await stop();
    throw new Error(`start the kubelet of ${node.nodeName}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The Node's podCIDR, however long kube-controller-manager takes: a tenant that does not allocate them
 * (--allocate-node-cidrs off) leaves the node Ready but unable to start pods, said in a warning every minute.
 */
async function waitForPodCIDR(client: Client, nodeName: string, signal: AbortSignal, log: Logger): Promise<string> {
  let warnAt = Date.now() + 60_000;
  for (;;) {
    signal.throwIfAborted();
    const node = await client.get<Node>(NODE, { name: nodeName }, { direct: true }).catch((err: unknown) => {
      log.debug({ err }, 'could not read the Node');
      return undefined;
    });
    const podCIDR = node?.spec?.podCIDR;
    if (podCIDR) return podCIDR;
    if (Date.now() >= warnAt) {
      log.warn('the Node has no podCIDR yet: pods wait until kube-controller-manager allocates one (--allocate-node-cidrs, --cluster-cidr)');
      warnAt = Date.now() + 60_000;
    }
    await delay(500, undefined, { signal });
  }
}

/** Watches every Node (which needs the kvcloud:node-pod-routes grant) and keeps one route per other Node's podCIDR via its InternalIP. */
async function startRouteSync(client: Client, self: string, nodeIP: string, log: Logger): Promise<{ stop(): Promise<void> }> {
  const listWatcher = new RestListWatcher<Node>({ transport: client.transport, mapping: await client.mapper.mappingFor(NODE) });
  const informer = new Informer<Node>({ listWatcher, resource: 'Node.v1', log, backoff: { initialMs: 200, maxMs: 5_000 } });
  let installed: PodRoute[] = [];
  let queue = Promise.resolve();
  const sync = () => {
    queue = queue.then(async () => {
      const wanted = podRoutes(informer.store.list(), self, nodeIP);
      const { replace, remove } = routeChanges(installed, wanted);
      for (const route of remove) await removeRoute(route);
      for (const route of replace) await replaceRoute(route);
      if (replace.length + remove.length > 0) log.info({ replace, remove }, 'updated pod routes');
      installed = wanted;
    }).catch((err: unknown) => {
      log.error({ err }, 'pod route sync failed');
    });
  };
  informer.addEventHandler({ onAdd: sync, onUpdate: sync, onDelete: sync });
  // Not waited for: pods run on this VM even while the Nodes cannot be listed (a tenant without the
  // kvcloud:node-pod-routes grant logs the refusal); only pods on other VMs stay out of reach until then.
  informer.start();
  return {
    async stop() {
      await informer.stop();
      await queue;
      for (const route of installed) await removeRoute(route);
    },
  };
}
