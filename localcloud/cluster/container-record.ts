// What the runner knows about one container of a pod across its runs: the current state (waiting, running,
// terminated), the previous termination, the restart count, and the running process with its prober.
import { metaTime } from '../../lib/kube/meta-time.js';
import type { ManagedProcess } from '../process.js';
import type { ContainerProber } from './container-prober.js';
import type { ContainerStdin } from './container-stdin.js';
import type { ProbeTarget } from './probe-actions.js';
import type { Container, ContainerState, ContainerStateTerminated, ContainerStatus } from './pod-api.js';

export interface ContainerRun {
  process: ManagedProcess;
  /** Where probes and lifecycle hooks act: the pod's address, the process whose namespaces exec enters. */
  target: ProbeTarget;
  prober: ContainerProber | undefined;
  startedAt: number;
  id: string;
  logFile: string;
  /** Present when the container's spec has stdin: true. */
  stdin: ContainerStdin | undefined;
}

export class ContainerRecord {
  state: ContainerState;
  lastState: ContainerState = {};
  restartCount = 0;
  run: ContainerRun | undefined;
  /** When a pending restart may happen (CrashLoopBackOff until then). */
  restartAt: number | undefined;
  imageID = '';
  /** Runs started so far, which numbers log files and spec directories. */
  runs = 0;

  constructor(
    readonly spec: Container,
    readonly init: boolean,
  ) {
    this.state = { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } };
  }

  get name(): string {
    return this.spec.name;
  }

  get everRan(): boolean {
    return this.runs > 0;
  }

  get succeeded(): boolean {
    return this.state.terminated?.exitCode === 0;
  }

  waiting(reason: string, message?: string): void {
    this.state = { waiting: { reason, ...(message ? { message } : {}) } };
  }

  started(run: ContainerRun): void {
    if (this.everRan) this.restartCount++;
    this.runs++;
    this.run = run;
    this.restartAt = undefined;
    this.state = { running: { startedAt: metaTime(run.startedAt) } };
  }

  /** A run that never got a process (StartError) counts like one that exited at once. */
  startFailed(): void {
    if (this.everRan) this.restartCount++;
    this.runs++;
  }

  /** The run ended; with `restartAt` the container waits for its restart, else it stays terminated. */
  exited(terminated: ContainerStateTerminated, restartAt: number | undefined, backoffMessage: string): void {
    this.run?.prober?.stop();
    this.run = undefined;
    if (restartAt === undefined) {
      this.state = { terminated };
      return;
    }
    this.lastState = { terminated };
    this.restartAt = restartAt;
    if (restartAt > Date.now()) this.waiting('CrashLoopBackOff', backoffMessage);
    else this.waiting('ContainerCreating');
  }

  status(imageName: string): ContainerStatus {
    const running = this.state.running !== undefined;
    return {
      name: this.name,
      state: this.state,
      lastState: this.lastState,
      ready: this.init ? this.succeeded : running && (this.run?.prober?.ready ?? false),
      restartCount: this.restartCount,
      image: imageName,
      imageID: this.imageID,
      ...(this.run ? { containerID: this.run.id } : this.state.terminated?.containerID ? { containerID: this.state.terminated.containerID } : {}),
      started: running && (this.run?.prober?.started ?? false),
    };
  }
}
