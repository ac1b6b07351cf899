// What every kvcloud CRI endpoint shares about CRI objects, whatever it maps to them (a node's pods, the management
// cluster's VMs): times in nanoseconds, ids resolved by unique prefix as containerd resolves them (crictl prints
// ids truncated), label selectors, the runtime.v1 messages they build, and the kubelet's label keys that CRI clients
// read to show a pod's name and namespace (crictl ps's POD column, its --namespace filter).

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

/** runtime.v1.PodSandbox, with the proto's field names; int64 timestamps (ns) as decimal strings. */
export interface CriPodSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  state: SandboxState;
  created_at: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtime_handler: string;
}

/** runtime.v1.Container. */
export interface CriContainer {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt: number };
  image: { image: string };
  image_ref: string;
  image_id: string;
  state: ContainerState;
  created_at: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** runtime.v1.ContainerStatus (the fields a runner knows). */
export interface CriContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  created_at: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  image: { image: string };
  image_ref: string;
  image_id: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  log_path: string;
}

/** An RFC 3339 time (or epoch milliseconds) as CRI nanoseconds; "0" when unknown. */
export function nanos(time: string | number | undefined): string {
  const ms = typeof time === 'number' ? time : time ? Date.parse(time) : Number.NaN;
  return Number.isFinite(ms) ? (BigInt(Math.trunc(ms)) * 1_000_000n).toString() : '0';
}

export class AmbiguousIdError extends Error {}

/**
 * The one item whose id is `id` or starts with it, as containerd resolves a truncated id; undefined when none does.
 * Throws when a prefix names several.
 */
export function byIdPrefix<T>(items: T[], id: string, idOf: (item: T) => string): T | undefined {
  if (id === '') return undefined;
  const exact = items.find((i) => idOf(i) === id);
  if (exact) return exact;
  const matches = items.filter((i) => idOf(i).startsWith(id));
  if (matches.length > 1) throw new AmbiguousIdError(`id prefix ${id} matches ${String(matches.length)} objects: give more of it`);
  return matches[0];
}

export interface LabelFilter {
  label_selector?: Record<string, string>;
}

/** A CRI label selector: every key present with that value. */
export function matchesLabels(labels: Record<string, string>, filter: LabelFilter | null | undefined): boolean {
  return Object.entries(filter?.label_selector ?? {}).every(([k, v]) => labels[k] === v);
}
