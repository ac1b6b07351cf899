// The small kubelet: for each node, watches the pods bound to it (with the node's own credentials, as a kubelet
// does) and gives each pod a worker that runs it as local processes until it is deleted. The management
// cluster's simulated nodes share one runner on the cluster bridge; a simulated VM's kubelet runs its own, on the
// VM's pod bridge and pod range (simulators/guest/kubelet.ts).
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Informer } from '../../lib/controller/informer.js';
import { RestListWatcher } from '../../lib/controller/list-watcher.js';
import type { ContainerRun } from './container-record.js';
import { POD, podKey, type Pod } from './pod-api.js';
import type { ClusterDNS } from './pod-dns.js';
import type { PodNetwork } from './pod-sandbox.js';
import type { ClaimVolumes, NodeFilesystem } from './pod-volumes.js';
import { PodWorker, type NodeContext, type PodWorkerDeps } from './pod-worker.js';
import { RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js';
import { ServiceAccountTokens } from './service-account-token.js';

export interface PodRunnerOptions {
  nodes: NodeContext[];
  /** Holds pods/<uid> (volumes, sandbox files) and logs/. */
  dir: string;
  /** The nodes' address: status.hostIP, and the pod address of hostNetwork pods. */
  hostIP: string;
  /** Where pod sandboxes are wired and get their addresses. */
  network: PodNetwork;
  /** What pods get as KUBERNETES_SERVICE_HOST/PORT. */
  apiServer: { host: string; port: number };
  restartBackoff?: RestartBackoffOptions;
  /** The cluster DNS ClusterFirst pods resolve with; without it they keep the machine's resolver. */
  dns?: ClusterDNS | undefined;
  /** The nodes' filesystem when it is not the machine's: a simulated VM's, where hostPaths resolve and may be made. */
  nodeFS?: NodeFilesystem | undefined;
  /** PersistentVolumeClaim volumes, where the nodes serve them (a simulated VM's CSI volumes). */
  claims?: ClaimVolumes | undefined;
  /** How often Secret, ConfigMap, downward API and token volumes are refreshed. Default 10s. */
  volumeRefreshMs?: number;
  log: Logger;
}

export class PodRunner {
  private readonly workers = new Map<string, PodWorker>();
  private readonly informers: Informer<Pod>[] = [];
  private readonly backoff: RestartBackoff;
  private stopping = false;

  constructor(private readonly opts: PodRunnerOptions) {
    this.backoff = new RestartBackoff(opts.restartBackoff);
  }

  async start(): Promise<void> {
    for (const node of this.opts.nodes) {
      const transport = node.client.transport;
      const listWatcher = new RestListWatcher<Pod>({ transport, mapping: await node.client.mapper.mappingFor(POD), fieldSelector: `spec.nodeName=${node.name}` });
      const informer = new Informer<Pod>({ listWatcher, resource: 'Pod.v1', log: this.opts.log, backoff: { initialMs: 200, maxMs: 5_000 } });
      const deps = this.workerDeps(node);
      informer.addEventHandler({
        onAdd: (pod) => {
          this.observe(pod, deps);
        },
        onUpdate: (_old, pod) => {
          this.observe(pod, deps);
        },
        onDelete: (pod) => this.workers.get(pod.metadata.uid ?? '')?.remove(pod),
      });
      informer.start();
      this.informers.push(informer);
    }
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  /** Stops watching, then ends every pod's processes within graceMs and removes their sandboxes. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all([...this.workers.values()].map((w) => w.shutdown(graceMs)));
  }

  /** The current run of a container, for tests that look at or kill its process. */
  containerRun(namespace: string, pod: string, container: string): ContainerRun | undefined {
    return this.worker(namespace, pod)?.container(container);
  }

  /** The log file of a container's latest run (or the one before with `previous`), as the kubelet API serves it. */
  containerLog(namespace: string, pod: string, container: string, previous = false): string | undefined {
    return this.worker(namespace, pod)?.logFile(container, previous);
  }

  /** The pods this runner runs, as last seen from the apiserver (the kubelet's /pods). */
  pods(): Pod[] {
    return [...this.workers.values()].map((w) => w.current);
  }

  private worker(namespace: string, pod: string): PodWorker | undefined {
    for (const worker of this.workers.values()) if (worker.key === `${namespace}/${pod}`) return worker;
    return undefined;
  }

  private workerDeps(node: NodeContext): PodWorkerDeps {
    const { host, port } = this.opts.apiServer;
    return {
      node,
      hostIP: this.opts.hostIP,
      network: this.opts.network,
      podsDir: join(this.opts.dir, 'pods'),
      logsDir: join(this.opts.dir, 'logs'),
      tokens: new ServiceAccountTokens(node.client.transport),
      backoff: this.backoff,
      serviceEnv: {
        KUBERNETES_SERVICE_HOST: host,
        KUBERNETES_SERVICE_PORT: String(port),
        KUBERNETES_SERVICE_PORT_HTTPS: String(port),
        KUBERNETES_PORT: `tcp://${host}:${port}`,
      },
      volumeRefreshMs: this.opts.volumeRefreshMs ?? 10_000,
      dns: this.opts.dns,
      nodeFS: this.opts.nodeFS,
      claims: this.opts.claims,
      log: this.opts.log.child({ node: node.name }),
    };
  }

  private observe(pod: Pod, deps: PodWorkerDeps): void {
    const uid = pod.metadata.uid ?? '';
    let worker = this.workers.get(uid);
    if (!worker) {
      if (this.stopping) return;
      worker = new PodWorker(pod, deps);
      this.workers.set(uid, worker);
      this.opts.log.debug({ pod: podKey(pod), node: deps.node.name }, 'pod assigned');
      void worker.done.then(() => this.workers.delete(uid));
    }
    worker.update(pod);
  }
}
