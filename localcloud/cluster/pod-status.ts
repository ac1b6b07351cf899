// The status the runner reports for a pod, computed from what it observed: phase, conditions and container
// statuses with the kubelet's rules. Pure, so the rules are table-tested without processes.
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from './pod-api.js';

export interface PodObservation {
  hostIP: string;
  /** Undefined until the sandbox has an address. */
  podIP: string | undefined;
  startTime: string;
  sandboxReady: boolean;
  initContainers: ContainerStatus[];
  containers: ContainerStatus[];
  /** Every init container has completed. */
  initialized: boolean;
  /** The containers were stopped for good (the pod is being deleted). */
  stopped: boolean;
  /** A pod-level failure (e.g. its volumes cannot be set up). */
  message?: string;
}

const isRunning = (s: ContainerState) => s.running !== undefined;
const exitedOK = (s: ContainerState) => s.terminated?.exitCode === 0;
const everRan = (c: ContainerStatus) => c.state.running !== undefined || c.state.terminated !== undefined || c.lastState.terminated !== undefined;

export function podPhase(pod: Pod, o: PodObservation): PodPhase {
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (policy === 'Never' && o.initContainers.some((c) => c.state.terminated && !exitedOK(c.state))) return 'Failed';
  if (!o.initialized) return 'Pending';
  if (o.containers.some((c) => !everRan(c))) return 'Pending';
  if (o.containers.some((c) => isRunning(c.state))) return 'Running';
  // Every container has exited at least once; those waiting are about to be restarted.
  const restarting = o.containers.some((c) => c.state.waiting !== undefined);
  if (restarting && !o.stopped) return 'Running';
  const allOK = o.containers.every((c) => exitedOK(c.state) || (c.state.waiting !== undefined && c.lastState.terminated?.exitCode === 0));
  if (o.stopped || policy === 'Never') return allOK ? 'Succeeded' : 'Failed';
  if (policy === 'OnFailure') return allOK ? 'Succeeded' : 'Running';
  return 'Running';
}

function condition(previousStatus: PodStatus | undefined, type: string, ok: boolean, now: string, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const previous = previousStatus?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

const names = (list: ContainerStatus[]) => `[${list.map((c) => c.name).join(' ')}]`;

/** `previous` is the status last reported, whose transition times stay while a condition keeps its value. */
export function podStatus(pod: Pod, o: PodObservation, now: string, previous: PodStatus | undefined): PodStatus {
  const phase = podPhase(pod, o);
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const incompleteInit = o.initContainers.filter((c) => !exitedOK(c.state));
  const unready = o.containers.filter((c) => !c.ready);
  const gates = (pod.spec.readinessGates ?? []).filter((g) => pod.status?.conditions?.find((c) => c.type === g.conditionType)?.status !== 'True');
  const containersReady = unready.length === 0 && !completed;
  const conditions = [
    condition(previous, 'PodReadyToStartContainers', o.sandboxReady, now),
    condition(previous, 'Initialized', o.initialized, now, o.initialized ? undefined : 'ContainersNotInitialized', o.initialized ? undefined : `containers with incomplete status: ${names(incompleteInit)}`),
    condition(previous, 'ContainersReady', containersReady, now, ...notReady(completed, unready)),
    gates.length > 0 && containersReady
      ? condition(previous, 'Ready', false, now, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${gates[0]?.conditionType ?? ''}" does not exist or is not True`)
      : condition(previous, 'Ready', containersReady, now, ...notReady(completed, unready)),
  ];
  return {
    phase,
    conditions,
    hostIP: o.hostIP,
    hostIPs: [{ ip: o.hostIP }],
    ...(o.podIP ? { podIP: o.podIP, podIPs: [{ ip: o.podIP }] } : {}),
    startTime: o.startTime,
    ...(o.message ? { message: o.message } : {}),
    ...(o.initContainers.length > 0 ? { initContainerStatuses: o.initContainers } : {}),
    containerStatuses: o.containers,
  };
}

function notReady(completed: boolean, unready: ContainerStatus[]): [string | undefined, string | undefined] {
  if (completed) return ['PodCompleted', undefined];
  return unready.length > 0 ? ['ContainersNotReady', `containers with unready status: ${names(unready)}`] : [undefined, undefined];
}
