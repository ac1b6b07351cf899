// The downward API: pod fields (fieldRef) and container resources (resourceFieldRef) as env values and volume
// files, with the kubelet's rules: labels/annotations as sorted key="value" lines, limits that are not set
// reported as the node's allocatable, values divided by the divisor and rounded up.
import type { ObjectFieldSelector, Pod, Quantity, ResourceFieldSelector } from './pod-api.js';
import { divideRoundingUp } from './quantity.js';

/** What the runner knows about a pod that its object may not show yet (the status it has not written). */
export interface PodRuntimeFacts {
  podIP: string;
  hostIP: string;
  nodeAllocatable: Record<string, Quantity>;
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.+)'\]$/;

function formatMap(map: Record<string, string> = {}): string {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${JSON.stringify(map[k])}`)
    .join('\n');
}

export function resolveFieldRef(pod: Pod, ref: ObjectFieldSelector, facts: PodRuntimeFacts): string {
  const m = pod.metadata;
  const sub = SUBSCRIPT.exec(ref.fieldPath);
  if (sub?.[1] && sub[2] !== undefined) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2]] ?? '';
  switch (ref.fieldPath) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      throw new Error(`fieldRef ${ref.fieldPath} is not supported`);
  }
}

export function resolveResourceFieldRef(pod: Pod, ref: ResourceFieldSelector, defaultContainer: string | undefined, facts: PodRuntimeFacts): string {
  const name = ref.containerName ?? defaultContainer;
  const container = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => c.name === name);
  if (!container) throw new Error(`resourceFieldRef ${ref.resource}: no container named "${name ?? ''}"`);
  const [kind, resource] = ref.resource.split('.', 2);
  if (!resource || (kind !== 'limits' && kind !== 'requests')) throw new Error(`resourceFieldRef ${ref.resource} is not supported`);
  const value = kind === 'limits' ? (container.resources?.limits?.[resource] ?? facts.nodeAllocatable[resource]) : (container.resources?.requests?.[resource] ?? 0);
  if (value === undefined) throw new Error(`resourceFieldRef ${ref.resource}: the node has no allocatable ${resource}`);
  return divideRoundingUp(value, ref.divisor ?? 1);
}
