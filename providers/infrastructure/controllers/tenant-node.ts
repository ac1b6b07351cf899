// The tenant Node of a VM, seen through <cluster>-kubeconfig: found by our providerID or by name (the guest
// names its Node after the VM), given the providerID when the guest registered without one, and cordoned,
// drained and uncordoned around an infra node evacuation.
import { NODE_TYPE, POD_TYPE, type Node, type Pod } from '../../../lib/apis/core.js';
import { ApiError, isNotFound } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export async function findTenantNode(client: Client, vmName: string, providerID: string): Promise<Node | undefined> {
  const byName = await client.get<Node>(NODE_TYPE, { name: vmName });
  if (byName) return byName;
  const all = await client.list<Node>(NODE_TYPE);
  return all.find((n) => n.spec?.providerID === providerID);
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

export async function setProviderID(client: Client, node: Node, providerID: string): Promise<void> {
  await client.mergePatch(NODE_TYPE, { name: node.metadata.name ?? '' }, { spec: { providerID } });
}

export async function setUnschedulable(client: Client, node: Node, unschedulable: boolean): Promise<boolean> {
  if ((node.spec?.unschedulable ?? false) === unschedulable) return false;
  await client.mergePatch(NODE_TYPE, { name: node.metadata.name ?? '' }, { spec: { unschedulable: unschedulable ? true : null } });
  return true;
}

function evictable(pod: Pod): boolean {
  if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return false;
  if (pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.controller === true)) return false;
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export interface DrainProgress {
  /** Pods still on the node that a drain must remove. */
  remaining: number;
  /** Evictions the API refused for now (a PodDisruptionBudget), to be retried. */
  blocked: number;
}

/**
 * One pass of a drain, as `kubectl drain --ignore-daemonsets --delete-emptydir-data` does it: evicts every pod
 * but DaemonSet and mirror pods through the Eviction API, so PodDisruptionBudgets are honoured.
 */
export async function drainPass(client: Client, nodeName: string): Promise<DrainProgress> {
  const pods = (await client.list<Pod>(POD_TYPE, { fieldSelector: `spec.nodeName=${nodeName}`, direct: true })).filter(evictable);
  let blocked = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    try {
      await client.transport.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/eviction`,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace: ns, name } },
      });
    } catch (err) {
      if (isNotFound(err)) continue;
      if (err instanceof ApiError && err.status === 429) {
        blocked++;
        continue;
      }
      throw new Error(`evict pod ${ns}/${name} from tenant node ${nodeName}: ${(err as Error).message}`, { cause: err });
    }
  }
  return { remaining: pods.length, blocked };
}
