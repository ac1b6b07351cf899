// Who the node plugin is, from its tenant Node: the node ID (<infra namespace>/<vm>, from the providerID and the
// cluster-namespace annotation) and the zone it reports as its topology (the topology.kubernetes.io/zone label the
// CCM copies from the infra Node the VM runs on). Both are the cloud provider's to set, in the same write that lifts
// the uninitialized taint, and the DaemonSet's pod may start before that: it waits for them rather than register
// a Node without its zone (the kubelet keeps a plugin's topology keys until it registers again).
import { TOPOLOGY_ZONE_LABEL } from '../../lib/apis/core.js';
import type { Logger } from '../../lib/observability/logger.js';
import { nodeIdOf } from '../controller/node-id.js';
import { pollUntil } from '../poll.js';

/** Set by a kubelet with --cloud-provider=external until the cloud provider has initialised the Node. */
export const UNINITIALIZED_TAINT = 'node.cloudprovider.kubernetes.io/uninitialized';

export interface TenantNode {
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { providerID?: string; taints?: { key: string }[] };
}

export interface NodeIdentity {
  nodeId: string;
  /** Undefined: the Node has no zone, and the plugin reports no topology. */
  zone: string | undefined;
}

/** The identity a Node gives, or why it cannot give one yet. `nodeId` (--node-id) wins over the Node's. */
export function identityOf(node: TenantNode | undefined, name: string, nodeId: string | undefined): { done: true; value: NodeIdentity } | { done: false; seen: string } {
  if (!node) return { done: false, seen: `no tenant Node ${name}` };
  if (node.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT)) return { done: false, seen: `tenant Node ${name} not initialised by the cloud provider yet (${UNINITIALIZED_TAINT})` };
  const id = nodeId ?? nodeIdOf(node.spec?.providerID, node.metadata.annotations);
  if (!id) throw new Error(`tenant Node ${name} names no VM: no providerID kubevirt://<vm> and no csi.kubevirt.io/infra-vm-name annotation`);
  // An empty label names no zone.
  const zone = node.metadata.labels?.[TOPOLOGY_ZONE_LABEL];
  return { done: true, value: { nodeId: id, zone: zone === '' ? undefined : zone } };
}

export interface AwaitIdentityOptions {
  name: string;
  nodeId: string | undefined;
  getNode: () => Promise<TenantNode | undefined>;
  log: Logger;
  timeoutMs?: number;
  intervalMs?: number;
}

/** Polls the Node until it gives an identity; fails after `timeoutMs` (10 minutes), for the pod to start again. */
export async function awaitNodeIdentity(opts: AwaitIdentityOptions): Promise<NodeIdentity> {
  let logged = false;
  const identity = await pollUntil(
    async () => {
      const r = identityOf(await opts.getNode(), opts.name, opts.nodeId);
      if (!r.done && !logged) {
        opts.log.info({ node: opts.name, waiting: r.seen }, 'waiting for the tenant Node');
        logged = true;
      }
      return r;
    },
    { timeoutMs: opts.timeoutMs ?? 600_000, intervalMs: opts.intervalMs ?? 2_000, what: `tenant Node ${opts.name}'s identity` },
  );
  opts.log.info({ node: opts.name, nodeId: identity.nodeId, zone: identity.zone }, 'node identity');
  return identity;
}
