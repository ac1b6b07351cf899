// A Machine's failure domain is an infra zone: its VM must be scheduled onto a node in that zone, so the
// requirement is added to every node selector term (terms are ORed, so each must carry it).
import { TOPOLOGY_ZONE_LABEL, type Affinity, type NodeSelectorTerm } from '../../../lib/apis/core.js';

export function withZoneAffinity(affinity: Affinity | undefined, zone: string | undefined): Affinity | undefined {
  if (!zone) return affinity;
  const requirement = { key: TOPOLOGY_ZONE_LABEL, operator: 'In' as const, values: [zone] };
  const required = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: NodeSelectorTerm[] = required?.nodeSelectorTerms.length ? required.nodeSelectorTerms : [{}];
  const nodeSelectorTerms = terms.map((t) => ({
    ...t,
    matchExpressions: [...(t.matchExpressions ?? []).filter((e) => e.key !== TOPOLOGY_ZONE_LABEL), requirement],
  }));
  return {
    ...affinity,
    nodeAffinity: {
      ...affinity?.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms },
    },
  };
}
