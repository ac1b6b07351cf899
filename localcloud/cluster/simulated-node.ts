// A node as the control plane sees a kubelet: it registers its Node object under its own identity
// (system:node:<name>, so the Node authorizer and NodeRestriction treat it as a kubelet), renews its Lease in
// kube-node-lease every 10 seconds, and re-posts its status every minute, so kube-controller-manager keeps it
// Ready and kube-scheduler binds pods to it.
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { EventRecorder } from '../../lib/controller/event-recorder.js';
import { isAlreadyExists } from '../../lib/kube/api-error.js';
import { Client } from '../../lib/kube/client.js';
import { metaTime, microTime } from '../../lib/kube/meta-time.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { upstreamVersion } from '../versions.js';
import { NODE, type Node } from '../node-object.js';
import { buildNode, nodeStatus, type NodeOptions } from './node-object.js';
import type { Quantity } from './pod-api.js';

export const NODE_FIELD_MANAGER = 'kvcloud-node';
const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const LEASE_DURATION_SECONDS = 40;

export interface HeartbeatOptions {
  /** Kubelet: a quarter of the 40s lease, 10s. */
  leaseRenewMs?: number;
  /** Kubelet: 1 minute when nothing changed (nodeStatusReportFrequency is 5m; kept short so gaps show early). */
  statusReportMs?: number;
}

export class SimulatedNode {
  readonly name: string;
  readonly allocatable: Record<string, Quantity>;
  private readonly since = metaTime();
  private readonly timers: NodeJS.Timeout[] = [];
  private uid = '';

  private constructor(
    readonly opts: NodeOptions,
    readonly client: Client,
    readonly events: EventRecorder,
    private readonly transport: RestTransport,
    private readonly hostIP: string,
    private readonly log: Logger,
  ) {
    this.name = opts.name;
    this.allocatable = this.status().allocatable;
  }

  /** Registers the node with the identity in `kubeconfigPath` and starts its heartbeats. */
  static async register(opts: NodeOptions, kubeconfigPath: string, hostIP: string, log: Logger, heartbeat: HeartbeatOptions = {}): Promise<SimulatedNode> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const transport = await RestTransport.fromKubeConfig(kc, { userAgent: `kvcloud-pod-runner/${opts.name}` });
    const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: NODE_FIELD_MANAGER });
    const events = new EventRecorder({ client, reportingController: 'kubelet', reportingInstance: opts.name, log, seriesFlushMs: 5_000 });
    const node = new SimulatedNode(opts, client, events, transport, hostIP, log.child({ node: opts.name }));
    try {
      await node.create();
      await node.renewLease();
    } catch (err) {
      await node.stop();
      throw new Error(`register node ${opts.name}: ${(err as Error).message}`, { cause: err });
    }
    node.every(heartbeat.leaseRenewMs ?? 10_000, () => node.renewLease());
    node.every(heartbeat.statusReportMs ?? 60_000, () => node.postStatus());
    return node;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.events.close();
    this.transport.close();
  }

  private status() {
    return nodeStatus(this.opts, this.hostIP, upstreamVersion('KUBERNETES_VERSION'), metaTime(), this.since);
  }

  private async create(): Promise<void> {
    try {
      // Created Ready, status included, so the node lifecycle controller never taints it not-ready.
      this.uid = (await this.client.create(buildNode(this.opts, this.status()))).metadata.uid ?? '';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      this.uid = (await this.postStatus()).metadata.uid ?? '';
    }
  }

  private postStatus(): Promise<Node> {
    return this.client.apply<Node>({ ...NODE, metadata: { name: this.name }, status: this.status() }, { subresource: 'status' });
  }

  private async renewLease(): Promise<void> {
    await this.client.apply({
      ...LEASE,
      metadata: {
        name: this.name,
        namespace: 'kube-node-lease',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: this.uid }],
      },
      spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() },
    });
  }

  private every(ms: number, beat: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      beat().catch((err: unknown) => {
        this.log.warn({ err }, 'node heartbeat failed');
      });
    }, ms);
    this.timers.push(timer);
  }
}
