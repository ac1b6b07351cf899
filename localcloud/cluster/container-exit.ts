// How the end of a container run is reported and what follows it, with the kubelet's rules: the exit code (128 +
// signal number when killed), Completed/Error, StartError when container-entry.sh could not set the container up,
// the log tail as message for FallbackToLogsOnError, and whether restartPolicy restarts it.
import { open } from 'node:fs/promises';
import { constants } from 'node:os';
import { metaTime } from '../../lib/kube/meta-time.js';
import type { ExitStatus } from '../process.js';
import type { Container, ContainerStateTerminated, RestartPolicy } from './pod-api.js';

const MESSAGE_LIMIT = 4096;
/** What container-entry.sh prints before exiting 128 when it could not set the container up. */
const SETUP_FAILURE = 'container setup:';

/** The end of a log file: termination messages need the last lines, and logs can be large. */
async function logTail(file: string): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, MESSAGE_LIMIT);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export interface EndedRun {
  startedAt: number;
  id: string;
  logFile: string;
}

export async function terminatedState(container: Container, run: EndedRun, status: ExitStatus, finishedAt = Date.now()): Promise<ContainerStateTerminated> {
  const signal = status.signal ? constants.signals[status.signal] : undefined;
  const exitCode = status.code ?? 128 + (signal ?? 0);
  const log = exitCode === 0 ? '' : await logTail(run.logFile);
  const setupFailed = exitCode === 128 && log.includes(SETUP_FAILURE);
  const message = (container.terminationMessagePolicy === 'FallbackToLogsOnError' || setupFailed) && log.trim() ? log.trim() : undefined;
  return {
    exitCode,
    ...(signal ? { signal } : {}),
    reason: setupFailed ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error',
    ...(message ? { message } : {}),
    startedAt: metaTime(run.startedAt),
    finishedAt: metaTime(finishedAt),
    containerID: run.id,
  };
}

export function restartAllowed(policy: RestartPolicy | undefined, init: boolean, exitCode: number): boolean {
  if (policy === 'Never') return false;
  // Init containers restart only until they succeed, whatever the pod's policy says.
  if (init || policy === 'OnFailure') return exitCode !== 0;
  return true;
}

export function backoffMessage(delayMs: number, container: string, pod: { name?: string; namespace?: string; uid?: string }): string {
  const delay = delayMs >= 60_000 ? `${Math.floor(delayMs / 60_000)}m${Math.round((delayMs % 60_000) / 1000)}s` : `${Math.round(delayMs / 1000)}s`;
  return `back-off ${delay} restarting failed container=${container} pod=${pod.name ?? ''}_${pod.namespace ?? ''}(${pod.uid ?? ''})`;
}
