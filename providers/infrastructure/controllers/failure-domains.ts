// A KubevirtCluster's failure domains are the zones of the infra cluster's Nodes: a Machine placed in one has its
// VM required onto a Node of that zone.
import { TOPOLOGY_ZONE_LABEL, type Node } from '../../../lib/apis/core.js';
import type { FailureDomain } from '../api/index.js';

/** One failure domain per distinct zone, sorted by name; every zone may host control-plane machines. */
export function failureDomainsFromNodes(nodes: readonly Node[]): FailureDomain[] {
  const zones = new Set<string>();
  for (const node of nodes) {
    const zone = node.metadata.labels?.[TOPOLOGY_ZONE_LABEL];
    if (zone) zones.add(zone);
  }
  return [...zones].sort().map((name) => ({ name, controlPlane: true }));
}
