// The externalgrpc CloudProvider's behaviour, independent of gRPC: node groups are the MachineDeployments in scope that
// carry the min/max size annotations. Reads come from the informer cache; every change is a patch of a
// MachineDeployment's scale subresource carrying the resourceVersion it was decided on, made under a per-group lock
// from a fresh read, so a decision is never applied to sizes that changed under it.
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MACHINE_DEPLOYMENT_NAME_LABEL, MACHINE_DEPLOYMENT_TYPE, MACHINE_TYPE, type Machine, type MachineDeployment } from '../../lib/apis/cluster-api.js';
import { KUBEVIRT_MACHINE_TYPE, type KubevirtMachineContract } from '../../lib/apis/kubevirt-infrastructure.js';
import type { EventRecorder } from '../../lib/controller/event-recorder.js';
import { isConflict } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import { objectKey, type KubeObject, type TypeMeta } from '../../lib/kube/object.js';
import {
  DELETE_MACHINE_ANNOTATION,
  GPU_LABEL,
  KUBEVIRT_MACHINE_TEMPLATE_TYPE,
  NODE_CLUSTER_NAMESPACE_ANNOTATION,
  NODE_MACHINE_ANNOTATION,
  SCALE_DOWN_REQUESTED_ANNOTATION,
} from './api/annotations.js';
import { encodeNode } from './externalgrpc/protos.js';
import { instanceOf, kubevirtMachineRef, parsePendingMachineId, type Instance } from './instance.js';
import type { AutoscalerMetrics, Decision } from './metrics.js';
import { autoscalingOptions, nodeGroupId, parseNodeGroupId, sizeLimits, type AutoscalingOptions } from './node-group.js';
import { gpuTypes, templateNode, type MachineTemplate } from './template-node.js';

/** A failure with the gRPC status code cluster-autoscaler should see. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: status,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The node as cluster-autoscaler sends it (ExternalGrpcNode). */
export interface GrpcNode {
  providerID?: string;
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NodeGroup {
  id: string;
  minSize: number;
  maxSize: number;
  debug: string;
}

/** Which MachineDeployments may be node groups: those of one namespace and/or of the named Clusters. */
export interface Scope {
  namespace?: string | undefined;
  /** Cluster names; a MachineDeployment's spec.clusterName must be one of them. */
  clusters?: string[] | undefined;
}

/** The informer cache's index of Machines by spec.providerID: NodeGroupForNode, asked for every node, reads one entry. */
export const MACHINE_PROVIDER_ID_INDEX = 'spec.providerID';
export const machineProviderIDs = (machine: Machine): string[] => (machine.spec?.providerID ? [machine.spec.providerID] : []);

export interface CloudProviderDeps {
  /** Reads from the informer cache unless asked to go direct; writes go to the management apiserver. */
  client: Client;
  /** The same cache's Machines under MACHINE_PROVIDER_ID_INDEX. */
  index: { byIndex<T extends KubeObject>(type: TypeMeta, index: string, value: string): Promise<T[]> };
  recorder: EventRecorder;
  metrics: AutoscalerMetrics;
  log: Logger;
  scope?: Scope;
}

interface Group {
  id: string;
  md: MachineDeployment;
  min: number;
  max: number;
}

// A conflicting writer (a user, a ClusterClass topology reconcile) wins a round; we decide again from its result.
const MAX_ATTEMPTS = 5;

const replicasOf = (md: MachineDeployment): number => md.spec?.replicas ?? 0;
const nameOf = (obj: Machine): string => objectKey(obj);

export class CloudProvider {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: CloudProviderDeps) {}

  async nodeGroups(): Promise<NodeGroup[]> {
    const mds = await this.deps.client.list<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, { namespace: this.deps.scope?.namespace });
    const groups: NodeGroup[] = [];
    for (const md of mds) {
      const group = this.asGroup(md);
      if (group && !('problem' in group)) groups.push(view(group));
    }
    return groups.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The group of the node's Machine; undefined for nodes that are not ours or not in an autoscaled group. */
  async nodeGroupForNode(node: GrpcNode | null | undefined): Promise<NodeGroup | undefined> {
    const machine = await this.findMachine(requireNode(node), false);
    const mdName = machine?.metadata.labels?.[MACHINE_DEPLOYMENT_NAME_LABEL];
    if (!machine || !mdName) return undefined;
    const md = await this.deps.client.get<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, { namespace: machine.metadata.namespace, name: mdName });
    const group = md ? this.asGroup(md) : undefined;
    return group && !('problem' in group) ? view(group) : undefined;
  }

  async targetSize(id: string): Promise<number> {
    return replicasOf((await this.group(id, false)).md);
  }

  async increaseSize(id: string, delta: number): Promise<void> {
    if (!Number.isInteger(delta) || delta <= 0) throw new RpcError(status.INVALID_ARGUMENT, `increase size of ${id}: delta must be positive, got ${String(delta)}`);
    await this.locked(id, async () => {
      for (let attempt = 1; ; attempt++) {
        const group = await this.group(id, true);
        const from = replicasOf(group.md);
        const to = from + delta;
        if (to > group.max) this.reject(group, 'increase_size', `increase size by ${String(delta)} to ${String(to)} would exceed max size ${String(group.max)}`);
        try {
          await this.patchReplicas(group.md, to);
        } catch (err) {
          if (isConflict(err) && attempt < MAX_ATTEMPTS) continue;
          throw this.failed(group, 'increase_size', `increase size to ${String(to)}`, err);
        }
        this.executed(group, 'increase_size', from, to, 'ScaledUp', 'IncreaseSize', `cluster-autoscaler asked for ${String(delta)} more node(s)`);
        return;
      }
    });
  }

  async deleteNodes(id: string, nodes: (GrpcNode | null)[] | undefined): Promise<void> {
    if (!nodes || nodes.length === 0) throw new RpcError(status.INVALID_ARGUMENT, `delete nodes of ${id}: no nodes named`);
    const requested = nodes.map(requireNode);
    await this.locked(id, async () => {
      const group = await this.group(id, true);
      const machines = new Map<string, { machine: Machine; node: string }>();
      for (const node of requested) {
        const machine = await this.findMachine(node, true);
        const label = [node.name, node.providerID].find((s) => s) ?? '';
        if (!machine) throw new RpcError(status.NOT_FOUND, `delete nodes of ${id}: node ${label} has no Machine`);
        if (machine.metadata.namespace !== group.md.metadata.namespace || machine.metadata.labels?.[MACHINE_DEPLOYMENT_NAME_LABEL] !== group.md.metadata.name) {
          throw new RpcError(status.INVALID_ARGUMENT, `delete nodes of ${id}: node ${label} (Machine ${nameOf(machine)}) is not in this node group`);
        }
        machines.set(nameOf(machine), { machine, node: label });
      }
      // A Machine already going away, or whose scale-down we made before, is paid for: asking again changes nothing.
      const fresh = [...machines.values()].filter(({ machine }) => !machine.metadata.deletionTimestamp && machine.metadata.annotations?.[SCALE_DOWN_REQUESTED_ANNOTATION] === undefined);
      if (fresh.length === 0) {
        this.deps.metrics.decisions.inc({ node_group: id, decision: 'delete_nodes', result: 'unchanged' });
        return;
      }
      const what = `delete node(s) ${fresh.map((f) => `${f.node} (Machine ${f.machine.metadata.name ?? ''})`).join(', ')}`;
      await this.scaleDownMarked(group, fresh.map((f) => f.machine), 'delete_nodes', what, 'ScaledDown', 'DeleteNodes');
    });
  }

  async decreaseTargetSize(id: string, delta: number): Promise<void> {
    if (!Number.isInteger(delta) || delta >= 0) throw new RpcError(status.INVALID_ARGUMENT, `decrease target size of ${id}: delta must be negative, got ${String(delta)}`);
    await this.locked(id, async () => {
      const group = await this.group(id, true);
      const live = (await this.machinesOf(group, true)).filter((m) => !m.metadata.deletionTimestamp && m.metadata.annotations?.[SCALE_DOWN_REQUESTED_ANNOTATION] === undefined);
      const from = replicasOf(group.md);
      if (from + delta < group.min) this.reject(group, 'decrease_target_size', `decrease target size by ${String(-delta)} to ${String(from + delta)} would be below min size ${String(group.min)}`);
      // Replicas without a Machine yet are cancelled by lowering the count alone; beyond them, the Machines whose
      // node never registered are marked so the MachineSet removes those and no registered node.
      const unfulfilled = Math.max(0, from - live.length);
      const needed = Math.max(0, -delta - unfulfilled);
      const unregistered = live
        .filter((m) => !m.status?.nodeRef?.name)
        .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
      if (unregistered.length < needed) {
        this.reject(group, 'decrease_target_size', `decrease target size by ${String(-delta)} would remove registered nodes: ${String(unfulfilled + unregistered.length)} requested node(s) have not registered`, status.FAILED_PRECONDITION);
      }
      await this.scaleDownMarked(group, unregistered.slice(0, needed), 'decrease_target_size', `decrease target size by ${String(-delta)}`, 'TargetSizeDecreased', 'DecreaseTargetSize', -delta);
    });
  }

  async nodes(id: string): Promise<Instance[]> {
    const group = await this.group(id, false);
    const instances: Instance[] = [];
    for (const machine of await this.machinesOf(group, false)) instances.push(instanceOf(machine, await this.kubevirtMachineOf(machine)));
    return instances.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The template node, proto-encoded; UNIMPLEMENTED (which the protocol allows) when the template cannot say. */
  async templateNodeInfo(id: string): Promise<Uint8Array> {
    const group = await this.group(id, false);
    const template = await this.templateOf(group);
    const built = templateNode(group.md, template);
    if ('missing' in built) throw new RpcError(status.UNIMPLEMENTED, `template node of ${id}: ${built.missing}`);
    return encodeNode(built.node);
  }

  async options(id: string, defaults: AutoscalingOptions | null | undefined): Promise<AutoscalingOptions> {
    const group = await this.group(id, false);
    const { options, problems } = autoscalingOptions(defaults ?? ZERO_OPTIONS, group.md);
    if (problems.length > 0) {
      this.deps.recorder.event(typed(group.md), { type: 'Warning', reason: 'InvalidAutoscalingOption', action: 'GetOptions', note: `ignored: ${problems.join('; ')}` });
    }
    return options;
  }

  gpuLabel(): string {
    return GPU_LABEL;
  }

  /** The GPU types any node group's template passes through to its VMs. */
  async availableGpuTypes(): Promise<string[]> {
    const types = new Set<string>();
    for (const g of await this.nodeGroups()) {
      const group = await this.group(g.id, false);
      const template = await this.templateOf(group).catch(() => undefined);
      for (const t of template ? gpuTypes(template) : []) types.add(t);
    }
    return [...types].sort();
  }

  /** Called before each autoscaler loop: makes sure the cache has listed what the loop will ask about. */
  async refresh(): Promise<void> {
    const namespace = this.deps.scope?.namespace;
    await this.deps.client.list(MACHINE_DEPLOYMENT_TYPE, { namespace });
    const machines = await this.deps.client.list<Machine>(MACHINE_TYPE, { namespace });
    // Only where Machines name KubevirtMachines: a management cluster without the kind has no informer to start.
    if (machines.some((m) => kubevirtMachineRef(m))) await this.deps.client.list(KUBEVIRT_MACHINE_TYPE, { namespace });
  }

  /** The Machine's KubevirtMachine from the informer cache: its VMProvisioned reason tells why a VM is not up. */
  private async kubevirtMachineOf(machine: Machine): Promise<KubevirtMachineContract | undefined> {
    const ref = kubevirtMachineRef(machine);
    return ref ? this.deps.client.get<KubevirtMachineContract>(KUBEVIRT_MACHINE_TYPE, ref) : undefined;
  }

  private asGroup(md: MachineDeployment): Group | { problem: string } | undefined {
    if (md.metadata.deletionTimestamp || !this.inScope(md)) return undefined;
    const limits = sizeLimits(md);
    if (!limits) return undefined;
    if ('problem' in limits) return limits;
    return { id: nodeGroupId({ namespace: md.metadata.namespace, name: md.metadata.name ?? '' }), md, ...limits };
  }

  private inScope(md: MachineDeployment): boolean {
    const scope = this.deps.scope;
    if (scope?.namespace !== undefined && md.metadata.namespace !== scope.namespace) return false;
    return scope?.clusters === undefined || scope.clusters.includes(md.spec?.clusterName ?? '');
  }

  private async group(id: string, direct: boolean): Promise<Group> {
    if (!id) throw new RpcError(status.INVALID_ARGUMENT, 'no node group id given');
    const ref = parseNodeGroupId(id);
    if (!ref) throw new RpcError(status.INVALID_ARGUMENT, `node group id "${id}" is not of the form MachineDeployment/<namespace>/<name>`);
    const md = await this.deps.client.get<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, ref, { direct });
    const group = md ? this.asGroup(md) : undefined;
    if (!group) throw new RpcError(status.NOT_FOUND, `node group ${id} not found: no autoscaled MachineDeployment ${ref.namespace}/${ref.name} in scope`);
    if ('problem' in group) throw new RpcError(status.FAILED_PRECONDITION, `node group ${id}: ${group.problem}`);
    return group;
  }

  private machinesOf(group: Group, direct: boolean): Promise<Machine[]> {
    return this.deps.client.list<Machine>(MACHINE_TYPE, {
      namespace: group.md.metadata.namespace,
      labelSelector: `${MACHINE_DEPLOYMENT_NAME_LABEL}=${group.md.metadata.name ?? ''}`,
      direct,
    });
  }

  private async templateOf(group: Group): Promise<MachineTemplate> {
    const ref = group.md.spec?.template.spec.infrastructureRef;
    if (ref?.kind !== KUBEVIRT_MACHINE_TEMPLATE_TYPE.kind) {
      throw new RpcError(status.UNIMPLEMENTED, `template node of ${group.id}: its infrastructureRef is a ${ref?.kind ?? 'nothing'}, not a ${KUBEVIRT_MACHINE_TEMPLATE_TYPE.kind}`);
    }
    const template = await this.deps.client.get<MachineTemplate>(KUBEVIRT_MACHINE_TEMPLATE_TYPE, { namespace: group.md.metadata.namespace, name: ref.name });
    if (!template) throw new RpcError(status.FAILED_PRECONDITION, `template node of ${group.id}: ${ref.kind} ${group.md.metadata.namespace ?? ''}/${ref.name} not found`);
    return template;
  }

  /**
   * The Machine behind a node: by providerID (a real one, or the placeholder id of a Machine whose VM never came up),
   * else by the annotations Cluster API puts on Nodes.
   */
  private async findMachine(node: GrpcNode, direct: boolean): Promise<Machine | undefined> {
    const providerID = node.providerID ?? '';
    const pending = parsePendingMachineId(providerID);
    if (pending) return this.deps.client.get<Machine>(MACHINE_TYPE, pending, { direct });
    const annotations = node.annotations ?? {};
    const namespace = annotations[NODE_CLUSTER_NAMESPACE_ANNOTATION];
    if (providerID !== '') {
      const scoped = this.deps.scope?.namespace;
      const candidates = direct
        ? await this.deps.client.list<Machine>(MACHINE_TYPE, { namespace: scoped, direct })
        : await this.deps.index.byIndex<Machine>(MACHINE_TYPE, MACHINE_PROVIDER_ID_INDEX, providerID);
      const matches = candidates.filter((m) => m.spec?.providerID === providerID && (scoped === undefined || m.metadata.namespace === scoped));
      const narrowed = matches.length > 1 && namespace ? matches.filter((m) => m.metadata.namespace === namespace) : matches;
      if (narrowed.length > 1) throw new RpcError(status.FAILED_PRECONDITION, `node ${node.name ?? providerID}: providerID ${providerID} is on ${String(narrowed.length)} Machines`);
      return narrowed[0];
    }
    const machineName = annotations[NODE_MACHINE_ANNOTATION];
    return machineName && namespace ? this.deps.client.get<Machine>(MACHINE_TYPE, { namespace, name: machineName }, { direct }) : undefined;
  }

  /**
   * Marks the Machines for deletion, then lowers the replicas by `count` (default: one per Machine). The mark comes
   * first so the MachineSet, choosing what to delete when the count drops, picks exactly these; if the count cannot
   * be lowered the marks are taken back, so no later scale-down deletes them by surprise.
   */
  private async scaleDownMarked(group: Group, machines: Machine[], decision: Decision, what: string, reason: string, action: string, count = machines.length): Promise<void> {
    const from = replicasOf(group.md);
    if (from - count < group.min) this.reject(group, decision, `${what}: ${String(from - count)} would be below min size ${String(group.min)}`);
    const marked: { machine: Machine; hadDelete: boolean }[] = [];
    try {
      for (const machine of machines) {
        await this.mark(machine);
        marked.push({ machine, hadDelete: machine.metadata.annotations?.[DELETE_MACHINE_ANNOTATION] !== undefined });
      }
      let md = group.md;
      for (let attempt = 1; ; attempt++) {
        const to = replicasOf(md) - count;
        if (to < group.min) this.reject(group, decision, `${what}: ${String(to)} would be below min size ${String(group.min)}`);
        try {
          await this.patchReplicas(md, to);
          this.executed(group, decision, replicasOf(md), to, reason, action, what);
          return;
        } catch (err) {
          if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
          md = (await this.group(group.id, true)).md;
        }
      }
    } catch (err) {
      for (const { machine, hadDelete } of marked) {
        await this.unmark(machine, hadDelete).catch((e: unknown) => { this.deps.log.error({ machine: nameOf(machine), err: e }, 'could not take back the delete mark'); });
      }
      if (err instanceof RpcError) throw err;
      throw this.failed(group, decision, what, err);
    }
  }

  private async mark(machine: Machine): Promise<void> {
    const now = new Date().toISOString();
    await this.deps.client.mergePatch(MACHINE_TYPE, { namespace: machine.metadata.namespace, name: machine.metadata.name ?? '' }, {
      metadata: { annotations: { [DELETE_MACHINE_ANNOTATION]: machine.metadata.annotations?.[DELETE_MACHINE_ANNOTATION] ?? now, [SCALE_DOWN_REQUESTED_ANNOTATION]: now } },
    });
  }

  private async unmark(machine: Machine, keepDelete: boolean): Promise<void> {
    await this.deps.client.mergePatch(MACHINE_TYPE, { namespace: machine.metadata.namespace, name: machine.metadata.name ?? '' }, {
      metadata: { annotations: { [SCALE_DOWN_REQUESTED_ANNOTATION]: null, ...(keepDelete ? {} : { [DELETE_MACHINE_ANNOTATION]: null }) } },
    });
  }

  /** Through the scale subresource, as any autoscaler writes, and only if nobody wrote since we read. */
  private async patchReplicas(md: MachineDeployment, replicas: number): Promise<void> {
    await this.deps.client.mergePatch(
      MACHINE_DEPLOYMENT_TYPE,
      { namespace: md.metadata.namespace, name: md.metadata.name ?? '' },
      { metadata: { resourceVersion: md.metadata.resourceVersion }, spec: { replicas } },
      { subresource: 'scale' },
    );
  }

  private executed(group: Group, decision: Decision, from: number, to: number, reason: string, action: string, what: string): void {
    this.deps.metrics.decisions.inc({ node_group: group.id, decision, result: 'executed' });
    this.deps.metrics.replicaChanges.inc({ node_group: group.id, direction: to > from ? 'up' : 'down' }, Math.abs(to - from));
    const note = `${what}: replicas ${String(from)} -> ${String(to)}`;
    this.deps.recorder.event(typed(group.md), { type: 'Normal', reason, action, note });
    this.deps.log.info({ nodeGroup: group.id, decision, from, to }, 'scaled node group');
  }

  private reject(group: Group, decision: Decision, message: string, code: status = status.OUT_OF_RANGE): never {
    this.deps.metrics.decisions.inc({ node_group: group.id, decision, result: 'rejected' });
    this.deps.recorder.event(typed(group.md), { type: 'Warning', reason: 'ScaleRejected', action: actionOf(decision), note: message });
    throw new RpcError(code, `node group ${group.id}: ${message}`);
  }

  private failed(group: Group, decision: Decision, what: string, err: unknown): Error {
    this.deps.metrics.decisions.inc({ node_group: group.id, decision, result: 'failed' });
    const message = `node group ${group.id}: ${what}: ${(err as Error).message}`;
    this.deps.recorder.event(typed(group.md), { type: 'Warning', reason: 'ScaleFailed', action: actionOf(decision), note: message });
    return isConflict(err) ? new RpcError(status.ABORTED, `${message} (the MachineDeployment kept changing; try again)`, { cause: err }) : new Error(message, { cause: err });
  }

  /** Runs `fn` after every earlier change of the same group has finished. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}

const ZERO_OPTIONS: AutoscalingOptions = {
  scaleDownUtilizationThreshold: 0,
  scaleDownGpuUtilizationThreshold: 0,
  zeroOrMaxNodeScaling: false,
  ignoreDaemonSetsUtilization: false,
  scaleDownUnneededDuration: null,
  scaleDownUnreadyDuration: null,
  MaxNodeProvisionDuration: null,
};

function view(group: Group): NodeGroup {
  const md = group.md;
  const debug = `MachineDeployment ${md.metadata.namespace ?? ''}/${md.metadata.name ?? ''} of Cluster ${md.spec?.clusterName ?? ''}: replicas ${String(replicasOf(md))}, min ${String(group.min)}, max ${String(group.max)}`;
  return { id: group.id, minSize: group.min, maxSize: group.max, debug };
}

function requireNode(node: GrpcNode | null | undefined): GrpcNode {
  if (!node) throw new RpcError(status.INVALID_ARGUMENT, 'no node given');
  if (!node.providerID && !node.name) throw new RpcError(status.INVALID_ARGUMENT, 'the node has neither a providerID nor a name');
  return node;
}

function typed(md: MachineDeployment): MachineDeployment {
  return { ...md, ...MACHINE_DEPLOYMENT_TYPE };
}

function actionOf(decision: Decision): string {
  return { increase_size: 'IncreaseSize', decrease_target_size: 'DecreaseTargetSize', delete_nodes: 'DeleteNodes' }[decision];
}
