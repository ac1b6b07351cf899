// The Node a new member of a node group will be, for cluster-autoscaler's scale-up simulation when the group has no
// node to copy (scale from zero): resources from the KubevirtMachineTemplate's status.capacity, OS and architecture
// from its status.nodeInfo, labels and taints as the Node will get them, shaped as the v1.Node proto message.
import type { MachineDeployment } from '../../lib/apis/cluster-api.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { CAPACITY_LABELS_ANNOTATION, CAPACITY_MAX_PODS_ANNOTATION, CAPACITY_TAINTS_ANNOTATION, GPU_LABEL, GPU_RESOURCE } from './api/annotations.js';

/** The parts of a KubevirtMachineTemplate read here (this component does not import the infrastructure provider). */
export interface MachineTemplate extends KubeObject {
  spec?: { template?: { spec?: { virtualMachineTemplate?: { spec?: { template?: { spec?: { domain?: { devices?: { gpus?: { deviceName: string }[]; hostDevices?: { deviceName: string }[] } } } } } } } } };
  status?: { capacity?: Record<string, string | number>; nodeInfo?: { architecture?: string; operatingSystem?: string } };
}

// The kubelet's default --max-pods, what a node of ours registers with unless the group says otherwise.
const DEFAULT_MAX_PODS = 110;
// Labels Cluster API copies from a Machine to its Node.
const PROPAGATED_LABEL_PREFIXES = ['node-role.kubernetes.io/', 'node-restriction.kubernetes.io/', 'node.cluster.x-k8s.io/'];
const PROPAGATED_LABEL_DOMAINS = ['node-role.kubernetes.io', 'node-restriction.kubernetes.io', 'node.cluster.x-k8s.io'];
const TAINT_EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

export type TemplateNode = { node: Record<string, unknown> } | { missing: string };

/** The GPU types a template's VMs get: the NVIDIA device names passed through, without the vendor prefix. */
export function gpuTypes(template: MachineTemplate): string[] {
  const devices = template.spec?.template?.spec?.virtualMachineTemplate?.spec?.template?.spec?.domain?.devices;
  const names = [...(devices?.gpus ?? []), ...(devices?.hostDevices ?? [])].map((d) => d.deviceName).filter((n) => n.startsWith('nvidia.com/'));
  return [...new Set(names.map((n) => n.slice('nvidia.com/'.length)))].sort();
}

export function templateNode(md: MachineDeployment, template: MachineTemplate): TemplateNode {
  const capacity = template.status?.capacity ?? {};
  for (const resource of ['cpu', 'memory']) {
    if (capacity[resource] === undefined) return { missing: `${template.kind ?? 'template'} ${template.metadata.name ?? ''} has no status.capacity.${resource}` };
  }
  const annotations = md.metadata.annotations ?? {};
  const maxPods = /^\d+$/.test(annotations[CAPACITY_MAX_PODS_ANNOTATION] ?? '') ? Number(annotations[CAPACITY_MAX_PODS_ANNOTATION]) : DEFAULT_MAX_PODS;
  const resources: Record<string, { string: string }> = { pods: { string: String(maxPods) } };
  for (const [name, value] of Object.entries(capacity)) resources[name] = { string: String(value) };

  const name = `${md.metadata.name ?? 'node-group'}-template`;
  const os = template.status?.nodeInfo?.operatingSystem ?? 'linux';
  const arch = template.status?.nodeInfo?.architecture ?? 'amd64';
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': os, 'kubernetes.io/arch': arch };
  for (const [key, value] of Object.entries(md.spec?.template.metadata?.labels ?? {})) if (isPropagated(key)) labels[key] = value;
  Object.assign(labels, parsePairs(annotations[CAPACITY_LABELS_ANNOTATION]));
  const gpus = Number(capacity[GPU_RESOURCE] ?? 0);
  const [gpuType] = gpuTypes(template);
  if (gpus > 0) labels[GPU_LABEL] = gpuType ?? 'nvidia';

  return {
    node: {
      metadata: { name, labels },
      spec: { taints: parseTaints(annotations[CAPACITY_TAINTS_ANNOTATION]) },
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'template node of a node group' }],
        nodeInfo: { operatingSystem: os, architecture: arch },
      },
    },
  };
}

function isPropagated(key: string): boolean {
  const domain = key.split('/')[0] ?? '';
  return PROPAGATED_LABEL_PREFIXES.some((p) => key.startsWith(p)) || PROPAGATED_LABEL_DOMAINS.some((d) => domain.endsWith(`.${d}`));
}

/** "k1=v1,k2=v2", the clusterapi provider's format for the labels annotation. */
export function parsePairs(text: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    const [key, ...value] = item.trim().split('=');
    if (key) pairs[key] = value.join('=');
  }
  return pairs;
}

/** "key=value:Effect,key2:Effect": the taints annotation; malformed entries are skipped. */
export function parseTaints(text: string | undefined): { key: string; value: string; effect: string }[] {
  const taints: { key: string; value: string; effect: string }[] = [];
  for (const item of (text ?? '').split(',')) {
    const m = /^([^=:\s]+)(?:=([^:\s]*))?:(\w+)$/.exec(item.trim());
    if (m?.[1] && m[3] && TAINT_EFFECTS.has(m[3])) taints.push({ key: m[1], value: m[2] ?? '', effect: m[3] });
  }
  return taints;
}
