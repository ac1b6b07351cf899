// The cloud-node and cloud-node-lifecycle controllers' work on the toolkit, driven by watches on tenant Nodes and
// on the infra VMs/VMIs instead of polling: initialise a Node registered with --cloud-provider=external, keep its
// addresses current, taint it while its VM is shut down, and delete it once its VM is gone.
import { NODE_TYPE, type Node, type Taint } from '../../lib/apis/core.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isForbidden } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import { createMergePatch, type JsonObject } from '../../lib/kube/merge-patch.js';
import { INSTANCE_TYPE_LABEL, REGION_LABEL, SHUTDOWN_TAINT_KEY, UNINITIALIZED_TAINT_KEY, ZONE_LABEL } from '../api/labels.js';
import type { InstancesV2Config } from '../config/cloud-config.js';
import { belongsToCluster } from '../instances/cluster-scope.js';
import { findInstance, instanceIdOf, instanceMetadata, instanceState, nodeAddresses } from '../instances/instance-metadata.js';

export interface NodeControllerDeps {
  /** The infra cluster, reads of VMs and VMIs served from its namespaced cache. */
  infra: Client;
  namespace: string;
  /** Only VMs labelled with this cluster name are this tenant's; the infra namespace may hold other tenants'. */
  clusterName: string;
  config: InstancesV2Config;
}

const SHUTDOWN_TAINT: Taint = { key: SHUTDOWN_TAINT_KEY, effect: 'NoSchedule' };

const hasTaint = (node: Node, key: string): boolean => node.spec?.taints?.some((t) => t.key === key) ?? false;

function withoutTaint(node: Node, key: string): void {
  const taints = (node.spec?.taints ?? []).filter((t) => t.key !== key);
  if (node.spec) node.spec.taints = taints.length > 0 ? taints : undefined;
}

function withoutStatus(node: Node): JsonObject {
  const { status: _status, ...rest } = node;
  return rest;
}

export class NodeReconciler implements Reconciler<Node> {
  /** The foreign VM already reported per Node uid, so a repeat reconcile does not repeat the Event. */
  private readonly refusedNodes = new Map<string, string | undefined>();

  constructor(private readonly deps: NodeControllerDeps) {}

  async reconcile(node: Node, ctx: ReconcileContext): Promise<Result> {
    const before = structuredClone(node);
    const vmis = await this.deps.infra.list<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: this.deps.namespace });
    const found = findInstance(node, vmis);
    const vmName = found?.metadata.name ?? instanceIdOf(node);
    const vm = vmName ? await this.deps.infra.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: this.deps.namespace, name: vmName }) : undefined;
    // A Node's name and instance-id label are the tenant's to choose: one naming another cluster's VM must neither
    // take that VM's identity and addresses, nor be tainted or deleted by what that VM does.
    const foreign = [found, vm].find((o) => o !== undefined && !belongsToCluster(o, this.deps.clusterName));
    if (foreign) {
      if (this.refusedNodes.get(node.metadata.uid ?? '') !== foreign.metadata.name) {
        this.refusedNodes.set(node.metadata.uid ?? '', foreign.metadata.name);
        ctx.events.warning('RefusedInstance', 'InitializeNode', `${foreign.kind ?? 'VirtualMachine'} ${this.deps.namespace}/${foreign.metadata.name ?? ''} belongs to another cluster; Node ${node.metadata.name ?? ''} is left alone`);
      }
      return done();
    }
    this.refusedNodes.delete(node.metadata.uid ?? '');
    const vmi = found;

    if (hasTaint(node, UNINITIALIZED_TAINT_KEY)) {
      if (!vmi) {
        ctx.events.warning('InstanceNotFound', 'InitializeNode', `no VirtualMachineInstance for Node ${node.metadata.name ?? ''} in infra namespace ${this.deps.namespace}; it stays uninitialized`);
        return done(); // a VMI appearing wakes us through the infra watch
      }
      await this.initialize(node, vmi, ctx);
    } else if (vmName) {
      const state = instanceState(vm, vmi);
      if (state === 'Gone') {
        // Unlike upstream's lifecycle controller we do not wait for the Node to turn NotReady: the infra cache is
        // synced and says the VM is gone, so its kubelet will never come back.
        await ctx.client.delete(NODE_TYPE, { name: node.metadata.name ?? '' }, { preconditions: { uid: node.metadata.uid ?? '' } });
        ctx.log.info({ vm: vmName }, 'deleted Node whose VM is gone');
        ctx.events.normal('DeletingNode', 'DeleteNode', `VirtualMachine ${this.deps.namespace}/${vmName} no longer exists`);
        return done();
      }
      if (state === 'Shutdown' && !hasTaint(node, SHUTDOWN_TAINT_KEY)) {
        (node.spec ??= {}).taints = [...(node.spec.taints ?? []), SHUTDOWN_TAINT];
        ctx.events.normal('InstanceShutdown', 'TaintNode', `VirtualMachine ${this.deps.namespace}/${vmName} is shut down`);
      } else if (state === 'Running') {
        withoutTaint(node, SHUTDOWN_TAINT_KEY);
      }
      if (vmi && node.status) node.status.addresses = nodeAddresses(vmi, node);
    }
    await this.write(before, node, ctx);
    return done();
  }

  private async initialize(node: Node, vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<void> {
    const infraNode = this.deps.config.zoneAndRegionEnabled ? await this.infraNode(vmi, ctx) : undefined;
    const meta = instanceMetadata(vmi, node, infraNode);
    node.spec ??= {};
    // The kubelet's --provider-id wins, as with the upstream cloud-node controller.
    node.spec.providerID ??= meta.providerID;
    const labels = (node.metadata.labels ??= {});
    if (meta.instanceType) labels[INSTANCE_TYPE_LABEL] = meta.instanceType;
    if (meta.zone) labels[ZONE_LABEL] = meta.zone;
    if (meta.region) labels[REGION_LABEL] = meta.region;
    (node.status ??= {}).addresses = meta.addresses;
    withoutTaint(node, UNINITIALIZED_TAINT_KEY);
    ctx.log.info({ vmi: vmi.metadata.name, providerID: node.spec.providerID, zone: meta.zone }, 'initialized Node');
  }

  // The infra Node is read directly, and only while initialising: the CCM watches no infra Nodes, and RBAC may
  // grant it none, in which case the Node goes without zone and region.
  private async infraNode(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<Node | undefined> {
    const name = vmi.status?.nodeName;
    if (!name) return undefined;
    try {
      return await this.deps.infra.get<Node>(NODE_TYPE, { name }, { direct: true });
    } catch (err) {
      if (!isForbidden(err)) throw new Error(`read infra Node ${name}: ${(err as Error).message}`, { cause: err });
      ctx.events.warning('ZoneUnknown', 'InitializeNode', `may not read infra Node ${name} for its zone and region; set instancesV2.zoneAndRegionEnabled: false or grant get on nodes`);
      return undefined;
    }
  }

  // Status (addresses) first, then labels, providerID and taints in one patch locked on the version we read: the
  // taint list travels whole, so a taint another controller added meanwhile must not be dropped.
  private async write(before: Node, after: Node, ctx: ReconcileContext): Promise<void> {
    const ref = { name: before.metadata.name ?? '' };
    let resourceVersion = before.metadata.resourceVersion;
    const addresses = after.status?.addresses;
    if (addresses && createMergePatch({ a: before.status?.addresses ?? [] }, { a: addresses })) {
      const written = await ctx.client.mergePatch<Node>(NODE_TYPE, ref, { status: { addresses } }, { subresource: 'status' });
      resourceVersion = written.metadata.resourceVersion;
    }
    const main = createMergePatch(withoutStatus(before), withoutStatus(after));
    if (main) {
      main.metadata = { ...(main.metadata as JsonObject | undefined), resourceVersion };
      await ctx.client.mergePatch(NODE_TYPE, ref, main);
    }
  }
}
