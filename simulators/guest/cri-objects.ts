// The guest runtime's pods and containers as CRI objects (runtime.v1 PodSandbox, Container, ContainerStatus,
// Image), built from what the pod runner reports, so crictl and other CRI clients see the node as a containerd node
// would show it. Ids are sha256 hex of the runner's own ids (a pod UID, a container run), stable across calls;
// labels and annotations are the ones the kubelet puts on what it creates (pkg/kubelet/kuberuntime/labels.go).
import { createHash } from 'node:crypto';
import type { ContainerStatus as PodContainerStatus, Pod } from '../../localcloud/cluster/pod-api.js';
import {
  CONTAINER_NAME_LABEL,
  nanos,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  type ContainerState,
  type CriContainer,
  type CriContainerStatus,
  type CriPodSandbox,
} from '../../streaming/cri/objects.js';
import type { ContainerRef, PodRef } from './container-streams.js';

const RESTART_COUNT_ANNOTATION = 'io.kubernetes.container.restartCount';
const TERMINATION_MESSAGE_PATH_ANNOTATION = 'io.kubernetes.container.terminationMessagePath';
const TERMINATION_MESSAGE_POLICY_ANNOTATION = 'io.kubernetes.container.terminationMessagePolicy';
const TERMINATION_GRACE_ANNOTATION = 'io.kubernetes.pod.terminationGracePeriod';
const DELETION_GRACE_ANNOTATION = 'io.kubernetes.pod.deletionGracePeriod';
const PORTS_ANNOTATION = 'io.kubernetes.container.ports';

export interface SandboxEntry {
  sandbox: CriPodSandbox;
  podIP: string;
  ref: PodRef;
}

export interface ContainerEntry {
  container: CriContainer;
  status: CriContainerStatus;
  ref: ContainerRef;
}

/** A hex id for one of the runner's own ids: what a CRI client can print, truncate and pass back. */
export const criId = (kind: 'sandbox' | 'container' | 'image', key: string): string => createHash('sha256').update(`${kind}\0${key}`).digest('hex');

export function podSandbox(pod: Pod): SandboxEntry {
  const { name = '', namespace = '', uid = '' } = pod.metadata;
  const over = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  const ready = pod.status?.podIP !== undefined && !over;
  return {
    sandbox: {
      id: criId('sandbox', uid),
      metadata: { name, uid, namespace, attempt: 0 },
      state: ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      created_at: nanos(pod.status?.startTime ?? pod.metadata.creationTimestamp),
      labels: { ...pod.metadata.labels, [POD_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: namespace, [POD_UID_LABEL]: uid },
      annotations: { ...pod.metadata.annotations },
      runtime_handler: '',
    },
    podIP: pod.status?.podIP ?? '',
    ref: { namespace, pod: name },
  };
}

/** The run number at the end of a runner container id (kvcloud://<uid>/<name>/<run>). */
const attemptOf = (containerID: string): number => Number(/\/(\d+)$/.exec(containerID)?.[1] ?? 0);

/** Every container the pod's runs left (the current one and the one before, as the kubelet keeps them). */
export function podContainers(pod: Pod, logPath: (container: string, containerID: string) => string = () => ''): ContainerEntry[] {
  const { name = '', namespace = '', uid = '' } = pod.metadata;
  const sandboxId = criId('sandbox', uid);
  const specs = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const entries: ContainerEntry[] = [];
  for (const status of statuses) {
    const spec = specs.find((c) => c.name === status.name);
    const labels = { [POD_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: namespace, [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: status.name };
    const annotations: Record<string, string> = {
      [RESTART_COUNT_ANNOTATION]: String(status.restartCount),
      [TERMINATION_MESSAGE_PATH_ANNOTATION]: '/dev/termination-log',
      [TERMINATION_MESSAGE_POLICY_ANNOTATION]: spec?.terminationMessagePolicy ?? 'File',
    };
    if (pod.spec.terminationGracePeriodSeconds !== undefined) annotations[TERMINATION_GRACE_ANNOTATION] = String(pod.spec.terminationGracePeriodSeconds);
    if (pod.metadata.deletionGracePeriodSeconds !== undefined) annotations[DELETION_GRACE_ANNOTATION] = String(pod.metadata.deletionGracePeriodSeconds);
    if (spec?.ports?.length) annotations[PORTS_ANNOTATION] = JSON.stringify(spec.ports);
    for (const run of runsOf(status)) {
      const id = criId('container', run.containerID);
      const attempt = attemptOf(run.containerID);
      const image = { image: status.image || (spec?.image ?? '') };
      // The image as ImageStatus and ListImages know it, rather than the runner's note of the program it ran.
      const imageId = catalogImage(image.image).id;
      const common = { id, metadata: { name: status.name, attempt }, image, image_ref: imageId, image_id: imageId, labels, annotations };
      entries.push({
        container: { ...common, pod_sandbox_id: sandboxId, state: run.state, created_at: run.startedAt },
        status: {
          ...common,
          state: run.state,
          created_at: run.startedAt,
          started_at: run.startedAt,
          finished_at: run.finishedAt,
          exit_code: run.exitCode,
          reason: run.reason,
          message: run.message,
          log_path: logPath(status.name, run.containerID),
        },
        ref: { namespace, pod: name, container: status.name },
      });
    }
  }
  return entries;
}

interface Run {
  containerID: string;
  state: ContainerState;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
}

/** The runs a status names by container id: the current one (running or exited) and the last terminated one. */
function runsOf(status: PodContainerStatus): Run[] {
  const runs: Run[] = [];
  const { running, terminated } = status.state;
  if (running && status.containerID) {
    runs.push({ containerID: status.containerID, state: 'CONTAINER_RUNNING', startedAt: nanos(running.startedAt), finishedAt: '0', exitCode: 0, reason: '', message: '' });
  }
  for (const t of [terminated, status.lastState.terminated]) {
    if (!t?.containerID || runs.some((r) => r.containerID === t.containerID)) continue;
    runs.push({
      containerID: t.containerID,
      state: 'CONTAINER_EXITED',
      startedAt: nanos(t.startedAt),
      finishedAt: nanos(t.finishedAt),
      exitCode: t.exitCode,
      reason: t.reason ?? '',
      message: t.message ?? '',
    });
  }
  return runs;
}

/** runtime.v1.Image for a reference of the image catalog: the repository:tag it is known by, and a stable id. */
export function catalogImage(reference: string): { id: string; repo_tags: string[]; repo_digests: string[]; size: string; username: string; spec: { image: string }; pinned: boolean } {
  return { id: `sha256:${criId('image', reference)}`, repo_tags: [reference], repo_digests: [], size: '0', username: '', spec: { image: reference }, pinned: false };
}
