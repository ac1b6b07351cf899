// The guest kubelet's CSI plugin manager: it watches /var/lib/kubelet/plugins_registry for registration sockets
// (served by node-driver-registrar, or by kvcloud's node plugin itself), asks each for its driver name and CSI
// endpoint with the kubelet plugin registration API, asks the driver for its node ID, records the driver in the
// node's CSINode and the csi.volume.kubernetes.io/nodeid annotation (what external-attacher reads), and tells the
// plugin the verdict. A socket that goes away unregisters its driver.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, Metadata, type CallOptions, type Client as GrpcClient, type ServiceDefinition } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Client } from '../../lib/kube/client.js';
import { isNotFound } from '../../lib/kube/api-error.js';
import { retryOnConflict } from '../../lib/kube/conflict-retry.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { loadRegistrationService, type PluginInfo } from '../../csi/registration.js';
import { loadCsiServices } from '../../csi/spec.js';
import { NODE, type Node } from '../../localcloud/node-object.js';
import { CONTROLLER_MANAGED_ATTACH_DETACH, NODE_ID_ANNOTATION, nodeIdAnnotation, withCSINodeDriver, type CSINodeDriver } from './csi-volume-layout.js';

const CSI_NODE = { apiVersion: 'storage.k8s.io/v1', kind: 'CSINode' } as const;
interface CSINode extends KubeObject {
  /** drivers is null, not [], on a CSINode created without any. */
  spec: { drivers: CSINodeDriver[] | null };
}

type Unary = GrpcClient & Record<string, (req: object, metadata: Metadata, options: CallOptions, cb: (err: Error | null, res: unknown) => void) => void>;

/** One unary call with a deadline, so a plugin that accepts but never answers cannot stall the kubelet. */
export function unary<T>(client: GrpcClient, rpc: string, req: object, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const method = (client as Unary)[rpc];
    if (!method) {
      reject(new Error(`no rpc ${rpc}`));
      return;
    }
    method.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(err);
      else resolve(res as T);
    });
  });
}

/** A registered CSI driver: its Node service client and what it said about itself. */
export interface CsiDriver {
  name: string;
  nodeID: string;
  node: GrpcClient;
  /** NodeStage/NodeUnstage are served (STAGE_UNSTAGE_VOLUME). */
  stages: boolean;
  /** NodeExpandVolume is served (EXPAND_VOLUME): the kubelet grows filesystems of volumes whose PV grew. */
  expands: boolean;
}

export interface CsiPluginsOptions {
  /** The kubelet's own client (system:node:<name>): CSINode and its Node are what the node authorizer lets it write. */
  client: Client;
  nodeName: string;
  /** /var/lib/kubelet as seen by this process. */
  kubeletDir: string;
  /** Where a plugin's endpoint (a guest path) is for this process. */
  resolve(path: string): string;
  csiProto: string;
  registrationProto: string;
  log: Logger;
  /** How often the registry directory is read; default 1 s (the kubelet watches it with inotify). */
  pollMs?: number;
}

export class CsiPlugins {
  private readonly drivers = new Map<string, CsiDriver & { socket: string }>();
  /** Sockets tried and failed, so one broken plugin is not retried every poll. */
  private readonly failed = new Set<string>();
  /** Topology segments the registered plugins reported, kept as Node labels. */
  private readonly topologyLabels: Record<string, string> = {};
  private readonly registration: ServiceDefinition;
  private readonly nodeService: ServiceDefinition;
  private readonly meta: Client;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: CsiPluginsOptions) {
    this.registration = loadRegistrationService(opts.registrationProto);
    this.nodeService = loadCsiServices(opts.csiProto).Node;
    // Its own field manager: the Node's registration and heartbeat own other fields of the same object.
    this.meta = new Client({ transport: opts.client.transport, mapper: opts.client.mapper, fieldManager: 'kubelet-csi' });
    this.log = opts.log.child({ component: 'csi-plugins' });
  }

  /** The driver registered under `name`, if any. */
  driver(name: string): CsiDriver | undefined {
    return this.drivers.get(name);
  }

  /** Creates the node's CSINode (as the kubelet does at start, drivers or not), then watches the registry. */
  async start(): Promise<void> {
    // The kubelet makes the registry directory; node plugin DaemonSets mount it from the host.
    await mkdir(this.registryDir, { recursive: true });
    await this.updateCSINode(undefined, undefined);
    await this.applyNodeAnnotations();
    this.timer = setInterval(() => {
      this.scanning = this.scanning.then(() => this.scan());
    }, this.opts.pollMs ?? 1_000);
    this.scanning = this.scan();
    await this.scanning;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
    for (const d of this.drivers.values()) d.node.close();
    this.drivers.clear();
  }

  private get registryDir(): string {
    return join(this.opts.kubeletDir, 'plugins_registry');
  }

  private async scan(): Promise<void> {
    const names = await readdir(this.registryDir).catch(() => [] as string[]);
    const sockets = new Set(names.filter((n) => n.endsWith('.sock')).map((n) => join(this.registryDir, n)));
    for (const socket of sockets) {
      if ([...this.drivers.values()].some((d) => d.socket === socket) || this.failed.has(socket)) continue;
      await this.register(socket).catch((err: unknown) => {
        this.failed.add(socket);
        this.log.error({ err, socket }, 'plugin registration failed');
      });
    }
    for (const [name, d] of this.drivers) {
      if (sockets.has(d.socket)) continue;
      this.drivers.delete(name);
      d.node.close();
      await this.unregister(name).catch((err: unknown) => {
        this.log.error({ err, driver: name }, 'could not remove the driver from CSINode');
      });
    }
    for (const socket of this.failed) if (!sockets.has(socket)) this.failed.delete(socket);
  }

  private async register(socket: string): Promise<void> {
    const Registration = makeGenericClientConstructor(this.registration, 'Registration');
    const reg = new Registration(`unix://${socket}`, credentials.createInsecure());
    try {
      const info = await unary<PluginInfo>(reg, 'GetInfo', {}, 10_000);
      const refusal = refusalOf(info);
      if (refusal) {
        await unary(reg, 'NotifyRegistrationStatus', { plugin_registered: false, error: refusal }, 10_000);
        throw new Error(`${socket}: ${refusal}`);
      }
      const Node = makeGenericClientConstructor(this.nodeService, 'Node');
      const node = new Node(`unix://${this.opts.resolve(info.endpoint)}`, credentials.createInsecure());
      try {
        const nodeInfo = await unary<{ node_id?: string; max_volumes_per_node?: number; accessible_topology?: { segments?: Record<string, string> } }>(node, 'NodeGetInfo', {});
        if (!nodeInfo.node_id) throw new Error(`driver ${info.name}: NodeGetInfo returned no node_id`);
        const segments = nodeInfo.accessible_topology?.segments ?? {};
        await this.refuseTopologyCollision(info.name, segments);
        const caps = await unary<{ capabilities?: { rpc?: { type?: string } }[] }>(node, 'NodeGetCapabilities', {});
        const entry: CSINodeDriver = {
          name: info.name,
          nodeID: nodeInfo.node_id,
          topologyKeys: nodeInfo.accessible_topology?.segments ? Object.keys(nodeInfo.accessible_topology.segments) : null,
          ...(nodeInfo.max_volumes_per_node ? { allocatable: { count: nodeInfo.max_volumes_per_node } } : {}),
        };
        await this.updateCSINode(info.name, entry);
        const served = (type: string) => caps.capabilities?.some((c) => c.rpc?.type === type) ?? false;
        this.drivers.set(info.name, { name: info.name, nodeID: entry.nodeID, node, stages: served('STAGE_UNSTAGE_VOLUME'), expands: served('EXPAND_VOLUME'), socket });
        Object.assign(this.topologyLabels, segments);
        await this.applyNodeAnnotations();
      } catch (err) {
        node.close();
        await unary(reg, 'NotifyRegistrationStatus', { plugin_registered: false, error: (err as Error).message }, 10_000).catch(() => undefined);
        throw err;
      }
      await unary(reg, 'NotifyRegistrationStatus', { plugin_registered: true, error: '' }, 10_000);
      this.log.info({ driver: info.name, endpoint: info.endpoint, socket }, 'registered CSI driver');
    } finally {
      reg.close();
    }
  }

  private async unregister(name: string): Promise<void> {
    await this.updateCSINode(name, undefined);
    await this.applyNodeAnnotations();
    this.log.info({ driver: name }, 'unregistered CSI driver');
  }

  /** CSINode <node> with `name`'s entry set (or removed); created owned by the Node, as the kubelet makes it. */
  private async updateCSINode(name: string | undefined, entry: CSINodeDriver | undefined): Promise<void> {
    const { client, nodeName } = this.opts;
    await retryOnConflict(async () => {
      const current = await client.get<CSINode>(CSI_NODE, { name: nodeName }, { direct: true });
      if (!current) {
        const node = await client.get<Node>(NODE, { name: nodeName }, { direct: true });
        if (!node?.metadata.uid) throw new Error(`Node ${nodeName} not found`);
        await client.create<CSINode>({
          ...CSI_NODE,
          metadata: { name: nodeName, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid }] },
          spec: { drivers: name && entry ? [entry] : [] },
        });
        return;
      }
      if (name === undefined) return;
      await client.update<CSINode>({ ...current, spec: { drivers: withCSINodeDriver(current.spec.drivers, name, entry) } });
    });
  }

  /**
   * Refuses a plugin whose topology segment contradicts a label the Node already has, as the kubelet does before it
   * labels its Node with the segments (the external-provisioner reads a Node's topology from those labels).
   */
  private async refuseTopologyCollision(driver: string, segments: Record<string, string>): Promise<void> {
    if (Object.keys(segments).length === 0) return;
    const labels = (await this.opts.client.get<Node>(NODE, { name: this.opts.nodeName }, { direct: true }))?.metadata.labels ?? {};
    for (const [key, value] of Object.entries(segments)) {
      const existing = labels[key] ?? this.topologyLabels[key];
      if (existing !== undefined && existing !== value) throw new Error(`driver ${driver}: detected topology value collision: driver reported ${key}:${value} but existing label is ${key}:${existing}`);
    }
  }

  /** The node ID annotation for every registered driver, the attach-detach controller's, and the topology labels. */
  private async applyNodeAnnotations(): Promise<void> {
    let ids: string | undefined;
    for (const d of this.drivers.values()) ids = nodeIdAnnotation(ids, d.name, d.nodeID);
    // Topology labels stay once set, as the kubelet leaves them when a plugin goes.
    const labels = { ...this.topologyLabels };
    await this.meta
      .apply({ ...NODE, metadata: { name: this.opts.nodeName, ...(Object.keys(labels).length > 0 ? { labels } : {}), annotations: { [CONTROLLER_MANAGED_ATTACH_DETACH]: 'true', ...(ids ? { [NODE_ID_ANNOTATION]: ids } : {}) } } })
      .catch((err: unknown) => {
        if (isNotFound(err)) throw new Error(`Node ${this.opts.nodeName} not found`, { cause: err });
        throw err;
      });
  }
}

/** Why the kubelet refuses a plugin: another type (device plugins are not served here) or no CSI 1.x version. */
export function refusalOf(info: PluginInfo): string | undefined {
  if (info.type !== 'CSIPlugin') return `plugin type ${info.type} is not supported by this kubelet (CSIPlugin only)`;
  if (!info.name) return 'plugin has no name';
  if (!info.endpoint) return `CSI plugin ${info.name} gave no endpoint`;
  if (!info.supported_versions.some((v) => /^v?1(\.|$)/.test(v))) return `CSI plugin ${info.name} supports none of the CSI versions this kubelet speaks (1.x): ${info.supported_versions.join(', ')}`;
  return undefined;
}
