// What a hosted tenant's users must not notice while its control plane moves between management clusters: a writer
// that creates one ConfigMap per tick through the tenant's endpoint, keeping the names the apiserver acknowledged
// (every one must be readable afterwards, wherever the control plane then runs), and the nodes' Ready conditions
// (none may have changed since before the move).
import { kubectl } from '../../../localcloud/kubectl.js';
import { getJSON } from '../../harness/clusterctl/kvcloud-workload.js';

const NAMESPACE = 'default';
const LABEL = 'kvcloud-e2e/move-write';

export interface TenantWriter {
  /** Stops writing; resolves with the names the apiserver acknowledged and the number of refused or failed writes. */
  stop(): Promise<{ acknowledged: string[]; failed: number }>;
}

export function startTenantWriter(kubeconfig: string, intervalMs = 500): TenantWriter {
  const acknowledged: string[] = [];
  let failed = 0;
  const state = { stopped: false };
  const loop = (async () => {
    for (let n = 0; !state.stopped; n++) {
      const name = `move-write-${String(n)}`;
      const began = Date.now();
      try {
        const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE, labels: { [LABEL]: 'yes' } }, data: { n: String(n) } };
        await kubectl(kubeconfig, ['create', '--request-timeout=5s', '-f', '-'], JSON.stringify(cm));
        acknowledged.push(name);
      } catch {
        failed++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - began))));
    }
  })();
  return {
    async stop() {
      state.stopped = true;
      await loop;
      return { acknowledged, failed };
    },
  };
}

/** The names of the writer's ConfigMaps the tenant holds now. */
export async function writtenNames(kubeconfig: string): Promise<string[]> {
  const list = await getJSON<{ items: { metadata: { name: string } }[] }>(kubeconfig, ['configmaps', '-n', NAMESPACE, '-l', `${LABEL}=yes`]);
  return list.items.map((i) => i.metadata.name);
}

/** Nodes whose Ready condition is not True or changed at or after `since` (an ISO time), with what it says. */
export async function nodesNotSteadilyReady(kubeconfig: string, since: number): Promise<string[]> {
  interface Node {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
  }
  const nodes = await getJSON<{ items: Node[] }>(kubeconfig, ['nodes']);
  return nodes.items.flatMap((n) => {
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const changed = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
    return ready?.status === 'True' && changed < since - 1000 ? [] : [`${n.metadata.name}: Ready=${ready?.status ?? 'missing'} since ${ready?.lastTransitionTime ?? '?'}`];
  });
}
