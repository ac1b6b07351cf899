// Lifecycle hooks as the kubelet runs them. postStart runs right after the container's process started, and the
// pod's next container waits for it; if it fails the container is killed and restarts as its restartPolicy says.
// preStop runs before SIGTERM and takes its time out of the grace period: SIGTERM follows when it ends, fails or
// runs out of time, and a hook that used the whole period leaves the process a short last grace, as the kubelet's
// one-off extension does.
import type { LifecycleHandler } from './pod-api.js';
import { runHookAction, type ProbeTarget } from './probe-actions.js';

/**
 * The kubelet sets no limit on postStart; a hook that never ends would hold the pod's other containers for good, so
 * the local runner ends it after this long and counts it failed.
 */
export const POST_START_LIMIT_MS = 10 * 60_000;
/** What SIGTERM is given at least when preStop used the grace period up. */
export const LAST_GRACE_MS = 2_000;

/** Runs the hook; the message of its failure, or undefined when it succeeded. */
export async function runHook(handler: LifecycleHandler, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
  const result = await runHookAction(handler, target, timeoutMs, signal);
  return result.ok ? undefined : result.message;
}

/** The grace SIGTERM gets once preStop took `hookMs` of `graceMs`. */
export const graceAfterHook = (graceMs: number, hookMs: number): number => Math.max(graceMs - hookMs, Math.min(LAST_GRACE_MS, graceMs));
