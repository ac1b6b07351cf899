// The life of one pod on a node, as a kubelet pod worker lives it: sandbox, volumes, init containers one by one,
// then the containers, with restarts, backoff and probes; status written through pods/status whenever what it
// reports changes; and on deletion SIGTERM, the grace period, SIGKILL, the sandbox removed, and the pod object
// finally deleted. All steps run one at a time per pod (sync is serialised), so events never interleave.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { EventRecorder, EventType } from '../../lib/controller/event-recorder.js';
import { isConflict, isNotFound } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import { metaTime } from '../../lib/kube/meta-time.js';
import type { ExitStatus } from '../process.js';
import { backoffMessage, restartAllowed, terminatedState } from './container-exit.js';
import { graceAfterHook, POST_START_LIMIT_MS, runHook } from './container-hooks.js';
import { ContainerProber, type ProberListener } from './container-prober.js';
import { containerSetUp, startContainerProcess } from './container-process.js';
import { ContainerRecord, type ContainerRun } from './container-record.js';
import { ContainerStdin } from './container-stdin.js';
import { classifyStartFailure, prepareStart } from './container-start.js';
import type { ObjectLookup } from './container-env.js';
import type { PodRuntimeFacts } from './downward-api.js';
import { CONFIG_MAP, POD, SECRET, podKey, type ConfigMap, type ContainerStateTerminated, type Pod, type PodStatus, type Quantity, type Secret } from './pod-api.js';
import type { ClusterDNS } from './pod-dns.js';
import type { ClaimVolumes, NodeFilesystem } from './pod-volumes.js';
import { PodResources } from './pod-resources.js';
import { podStatus, type PodObservation } from './pod-status.js';
import type { RestartBackoff } from './restart-backoff.js';
import type { PodNetwork } from './pod-sandbox.js';
import type { ServiceAccountTokens } from './service-account-token.js';

export interface NodeContext {
  name: string;
  /** Acts as the node (system:node:<name>), so the Node authorizer and NodeRestriction apply as to a kubelet. */
  client: Client;
  events: EventRecorder;
  allocatable: Record<string, Quantity>;
}

export interface PodWorkerDeps {
  node: NodeContext;
  hostIP: string;
  network: PodNetwork;
  /** Pod directories: <podsDir>/<uid>. */
  podsDir: string;
  /** Container logs: <logsDir>/<namespace>_<pod>_<uid>/<container>/<run>.log, kept after the pod is gone. */
  logsDir: string;
  tokens: ServiceAccountTokens;
  backoff: RestartBackoff;
  /** KUBERNETES_SERVICE_HOST and friends. */
  serviceEnv: Record<string, string>;
  volumeRefreshMs: number;
  dns: ClusterDNS | undefined;
  nodeFS: NodeFilesystem | undefined;
  claims: ClaimVolumes | undefined;
  log: Logger;
}

const RETRY_MS = 2_000;
export class PodWorker {
  readonly uid: string;
  readonly done: Promise<void>;
  private pod: Pod;
  private readonly dir: string;
  private readonly log: Logger;
  private readonly init: ContainerRecord[];
  private readonly containers: ContainerRecord[];
  private readonly startTime = metaTime();
  private readonly resources: PodResources;
  /** The pod object is gone (or the runner shuts down): write nothing more to the API. */
  private offline = false;
  private shutdownGraceMs: number | undefined;
  private terminating = false;
  /** Status writes while terminating (a readiness change), which the final status waits for. */
  private terminationWrites: Promise<unknown> = Promise.resolve();
  private finished = false;
  private lastStatus: PodStatus | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Exit handlers still recording how a run ended; termination waits for them. */
  private readonly exitHandlers = new Set<Promise<void>>();
  /** Ends a postStart hook under way when the pod is deleted: it holds the sync queue that termination waits in. */
  private readonly postStarts = new AbortController();
  private resolveDone!: () => void;

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.dir = join(deps.podsDir, this.uid);
    this.log = deps.log.child({ pod: podKey(pod) });
    const initial = (pod.spec.initContainers ?? []).length > 0 ? 'PodInitializing' : 'ContainerCreating';
    this.init = (pod.spec.initContainers ?? []).map((c) => new ContainerRecord(c, true));
    this.containers = pod.spec.containers.map((c) => {
      const record = new ContainerRecord(c, false);
      record.waiting(initial);
      return record;
    });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.resources = new PodResources({
      dir: join(deps.podsDir, this.uid),
      hostIP: deps.hostIP,
      network: deps.network,
      tokens: deps.tokens,
      volumeRefreshMs: deps.volumeRefreshMs,
      dns: deps.dns,
      nodeFS: deps.nodeFS,
      claims: deps.claims,
      pod: () => this.pod,
      lookup: () => this.lookup(),
      facts: () => this.facts(),
      hostname: () => this.hostname(),
      refreshFailed: (message) => {
        this.event('Warning', 'FailedMount', 'MountVolume', message);
      },
    });
  }

  get key(): string {
    return podKey(this.pod);
  }

  get current(): Pod {
    return this.pod;
  }

  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) this.postStarts.abort();
    this.kick();
  }

  /** The pod object was deleted outright: stop with the grace it carried, without writing to the API. */
  remove(pod: Pod): void {
    this.pod = pod;
    this.offline = true;
    this.postStarts.abort();
    this.kick();
  }

  /** The runner stops: end every process within graceMs, release everything, leave the API alone. */
  async shutdown(graceMs: number): Promise<void> {
    this.offline = true;
    this.shutdownGraceMs = graceMs;
    this.postStarts.abort();
    this.kick();
    await this.done;
  }

  container(name: string): ContainerRun | undefined {
    return this.record(name)?.run;
  }

  /** The log of the container's latest run, or of the run before it; undefined when there is none. */
  logFile(name: string, previous: boolean): string | undefined {
    const record = this.record(name);
    if (!record) return undefined;
    const run = record.runs - (previous ? 2 : 1);
    return run < 0 ? undefined : this.logPath(record.name, run);
  }

  private record(name: string): ContainerRecord | undefined {
    return [...this.init, ...this.containers].find((r) => r.name === name);
  }

  private logPath(container: string, run: number): string {
    return join(this.deps.logsDir, `${this.pod.metadata.namespace ?? ''}_${this.pod.metadata.name ?? ''}_${this.uid}`, container, `${run}.log`);
  }

  private kick(): void {
    if (this.queued || this.finished) return;
    this.queued = true;
    this.queue = this.queue.then(async () => {
      this.queued = false;
      try {
        await this.sync();
      } catch (err) {
        this.log.error({ err }, 'pod sync failed');
        this.retryIn(RETRY_MS);
      }
    });
  }

  private retryIn(ms: number): void {
    if (this.terminating) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.kick();
    }, ms);
    this.timers.add(timer);
  }

  private async sync(): Promise<void> {
    if (this.finished) return;
    if (this.offline || this.pod.metadata.deletionTimestamp) {
      await this.terminate();
      return;
    }
    const phase = this.pod.status?.phase;
    // A pod that finished before this runner saw it is never started again.
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.everStarted()) return;
    if ((await this.ensureSandbox()) && (await this.ensureVolumes())) {
      if (await this.syncInitContainers()) await this.syncContainers();
    }
    const status = await this.writeStatus(false);
    // A pod that completed keeps its object until deleted but needs its network no more.
    if (status.phase === 'Succeeded' || status.phase === 'Failed') await this.resources.releaseNetwork();
  }

  private everStarted(): boolean {
    return [...this.init, ...this.containers].some((r) => r.everRan);
  }

  private facts(): PodRuntimeFacts {
    return { podIP: this.resources.podIP ?? '', hostIP: this.deps.hostIP, nodeAllocatable: this.deps.node.allocatable };
  }

  private lookup(): ObjectLookup {
    const { client } = this.deps.node;
    const namespace = this.pod.metadata.namespace;
    return {
      configMap: (name) => client.get<ConfigMap>(CONFIG_MAP, { namespace, name }, { direct: true }),
      secret: (name) => client.get<Secret>(SECRET, { namespace, name }, { direct: true }),
    };
  }

  private event(type: EventType, reason: string, action: string, note: string): void {
    this.deps.node.events.event(this.pod, { type, reason, action, note });
  }

  private hostname(): string {
    return (this.pod.spec.hostname ?? this.pod.metadata.name ?? 'pod').slice(0, 63);
  }

  private async ensureSandbox(): Promise<boolean> {
    try {
      await this.resources.ensureNetwork();
      return true;
    } catch (err) {
      this.failPending(`FailedCreatePodSandBox: ${(err as Error).message}`, 'FailedCreatePodSandBox', 'CreatePodSandbox');
      return false;
    }
  }

  private async ensureVolumes(): Promise<boolean> {
    try {
      await this.resources.ensureVolumes();
      return true;
    } catch (err) {
      this.failPending((err as Error).message, 'FailedMount', 'MountVolume');
      return false;
    }
  }

  /** Shows a pod-level failure on the containers that have not started and retries soon. */
  private failPending(message: string, reason: string, action: string): void {
    this.log.warn({ reason, message }, 'pod setup failed');
    this.event('Warning', reason, action, message);
    for (const r of [...this.init, ...this.containers]) if (!r.everRan) r.waiting(r.state.waiting?.reason ?? 'ContainerCreating', message);
    this.retryIn(RETRY_MS);
  }

  /** True once every init container has succeeded. */
  private async syncInitContainers(): Promise<boolean> {
    for (const record of this.init) {
      if (record.succeeded) continue;
      if (!record.run && !record.state.terminated) await this.startWhenDue(record);
      return false;
    }
    return true;
  }

  private async syncContainers(): Promise<void> {
    for (const record of this.containers) if (!record.run && !record.state.terminated) await this.startWhenDue(record);
  }

  private async startWhenDue(record: ContainerRecord): Promise<void> {
    const wait = (record.restartAt ?? 0) - Date.now();
    if (wait > 0) {
      this.retryIn(wait);
      return;
    }
    await this.start(record);
  }

  private async start(record: ContainerRecord): Promise<void> {
    const run = record.runs;
    const logFile = this.logPath(record.name, run);
    let prepared;
    try {
      prepared = await prepareStart({
        pod: this.pod,
        container: record.spec,
        lookup: this.lookup(),
        facts: this.facts(),
        baseEnv: { ...this.deps.serviceEnv, HOSTNAME: this.hostname(), HOME: this.resources.home },
        volumePaths: this.resources.volumePaths ?? new Map<string, string>(),
        etcHosts: this.resources.etcHosts,
        resolvConf: this.resources.resolvConf,
        writableHostPaths: this.deps.nodeFS !== undefined,
      });
      record.imageID = prepared.image.id ?? `kvcloud-local://${prepared.image.entrypoint[0] ?? ''}`;
      await mkdir(dirname(logFile), { recursive: true });
      const specDir = join(this.dir, 'containers', `${record.name}-${run}`);
      const proc = await startContainerProcess({
        name: `${podKey(this.pod)}/${record.name}`,
        specDir,
        logFile,
        argv: prepared.argv,
        env: prepared.env,
        mounts: prepared.mounts,
        workingDir: prepared.workingDir,
        root: prepared.root,
        hostname: this.hostname(),
        netnsPath: this.resources.sandbox?.netnsPath,
        stdin: record.spec.stdin === true,
      });
      const image = prepared.image;
      const containerRun: ContainerRun = {
        process: proc,
        target: {
          podIP: this.resources.podIP ?? '',
          ports: record.spec.ports ?? [],
          pid: proc.pid,
          env: prepared.env,
          resolveCommand: ([name = '', ...rest]) => [...(image.findProgram(name) ?? [name]), ...rest],
        },
        prober: undefined,
        startedAt: Date.now(),
        id: `kvcloud://${this.uid}/${record.name}/${run}`,
        logFile,
        stdin: proc.stdin ? new ContainerStdin(proc.stdin, record.spec.stdinOnce === true) : undefined,
      };
      record.started(containerRun);
      const handler = proc.exited.then((status) => this.exited(record, containerRun, status));
      this.exitHandlers.add(handler);
      void handler.finally(() => this.exitHandlers.delete(handler));
      this.event('Normal', 'Started', 'StartContainer', `Started container ${record.name}`);
      const postStart = record.spec.lifecycle?.postStart;
      if (postStart) {
        const failure = (await containerSetUp(specDir, proc))
          ? await runHook(postStart, containerRun.target, POST_START_LIMIT_MS, this.postStarts.signal)
          : 'the container exited, or was not set up in time, before its postStart hook could run';
        if (failure !== undefined && !this.postStarts.signal.aborted) {
          this.event('Warning', 'FailedPostStartHook', 'StartContainer', `PostStartHook failed: ${failure}`);
          void this.stopRun(record, containerRun, this.containerGraceMs());
          return;
        }
      }
      if (!record.init) {
        containerRun.prober = new ContainerProber(record.spec, containerRun.target, this.proberListener(record, containerRun));
        containerRun.prober.start();
      }
    } catch (err) {
      const failure = classifyStartFailure(err);
      this.event('Warning', 'Failed', 'StartContainer', `Error: ${failure.message}`);
      if (failure.kind === 'waiting') {
        record.waiting(failure.reason, failure.message);
        record.restartAt = Date.now() + failure.retryMs;
        this.retryIn(failure.retryMs);
        return;
      }
      const now = metaTime();
      this.ended(record, { exitCode: 128, reason: 'StartError', message: failure.message, startedAt: now, finishedAt: now }, 0, true);
    }
  }

  private proberListener(record: ContainerRecord, run: ContainerRun): ProberListener {
    return {
      changed: () => {
        // terminate() holds the sync queue until every container has stopped; a readiness change in the meantime
        // is written at once, as the kubelet's status manager does, so the pod's Ready follows it.
        if (!this.terminating) {
          this.kick();
          return;
        }
        this.terminationWrites = this.terminationWrites
          .then(() => this.writeStatus(false))
          .catch((err: unknown) => {
            this.log.warn({ err }, 'could not write the status of the terminating pod');
          });
      },
      unhealthy: (kind, message) => {
        this.event('Warning', 'Unhealthy', 'ProbeContainer', `${kind} probe failed: ${message}`);
      },
      failed: (kind, message, probe) => {
        if (record.run !== run) return;
        this.log.info({ container: record.name, kind, message }, 'probe failed, killing container');
        this.event('Normal', 'Killing', 'KillContainer', `Container ${record.name} failed ${kind.toLowerCase()} probe, will be restarted`);
        void this.stopRun(record, run, (probe.terminationGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
      },
    };
  }

  private containerGraceMs(): number {
    return (this.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  /** Stops one run as the kubelet kills a container: its preStop hook first, in the grace period, then the signals. */
  private async stopRun(record: ContainerRecord, run: ContainerRun, graceMs: number): Promise<void> {
    const preStop = record.spec.lifecycle?.preStop;
    let hookMs = 0;
    if (preStop && run.process.exitStatus === undefined) {
      const began = Date.now();
      const failure = await runHook(preStop, run.target, graceMs, new AbortController().signal);
      hookMs = Date.now() - began;
      if (failure !== undefined) this.event('Warning', 'FailedPreStopHook', 'KillContainer', `PreStopHook failed: ${failure}`);
    }
    await run.process.stop(graceAfterHook(graceMs, hookMs));
  }

  private async exited(record: ContainerRecord, run: ContainerRun, status: ExitStatus): Promise<void> {
    if (record.run !== run) return;
    const terminated = await terminatedState(record.spec, run, status);
    this.log.info({ container: record.name, exitCode: terminated.exitCode, reason: terminated.reason }, 'container exited');
    this.ended(record, terminated, Date.now() - run.startedAt, false);
  }

  private ended(record: ContainerRecord, terminated: ContainerStateTerminated, ranForMs: number, neverStarted: boolean): void {
    if (neverStarted) record.startFailed();
    const restart = !this.terminating && restartAllowed(this.pod.spec.restartPolicy, record.init, terminated.exitCode);
    let restartAt: number | undefined;
    let message = '';
    if (restart) {
      const delay = this.deps.backoff.delayAfterExit(`${this.uid}/${record.name}`, ranForMs);
      restartAt = Date.now() + delay;
      message = backoffMessage(delay, record.name, this.pod.metadata);
      if (delay > 0) this.event('Warning', 'BackOff', 'RestartContainer', `Back-off restarting failed container ${record.name} in pod ${this.pod.metadata.name ?? ''}`);
    }
    record.exited(terminated, restartAt, message);
    this.kick();
  }

  private async terminate(): Promise<void> {
    this.terminating = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const graceSeconds = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
    const graceMs = this.shutdownGraceMs ?? graceSeconds * 1000;
    const running = [...this.init, ...this.containers].flatMap((r) => (r.run ? [{ name: r.name, record: r, run: r.run }] : []));
    for (const r of running) {
      // Readiness goes on while the container shuts down; startup and liveness probes stop.
      r.run.prober?.terminating();
      this.event('Normal', 'Killing', 'KillContainer', `Stopping container ${r.name}`);
    }
    // preStop, SIGTERM, SIGKILL when the grace period is over; exited() records each end.
    await Promise.all(running.map((r) => this.stopRun(r.record, r.run, graceMs)));
    await Promise.all([...this.exitHandlers]);
    for (const r of running) r.run.prober?.stop();
    await this.terminationWrites;
    // Each step runs even when an earlier one failed, and the worker always finishes: a runner that stops
    // waits for it.
    const step = (what: string, fn: () => Promise<unknown>) =>
      fn().catch((err: unknown) => {
        this.log.error({ err }, `could not ${what}`);
      });
    await step('write the final status', () => this.writeStatus(true));
    await step('release the sandbox and the pod directory', () => this.resources.release());
    this.deps.tokens.forget(this.uid);
    this.deps.backoff.forget(`${this.uid}/`);
    if (!this.offline) await step('confirm the deletion', () => this.confirmDeletion());
    this.log.info('pod stopped and removed');
    this.finished = true;
    this.resolveDone();
  }

  /** The kubelet's last word on a gracefully deleted pod: everything is stopped, the object may go. */
  private async confirmDeletion(): Promise<void> {
    const { namespace, name = '' } = this.pod.metadata;
    try {
      await this.deps.node.client.delete(POD, { namespace, name }, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
    } catch (err) {
      if (isConflict(err)) return; // a newer pod of the same name: not ours to delete
      this.event('Warning', 'FailedDelete', 'DeletePod', `could not delete the stopped pod: ${(err as Error).message}`);
      throw err;
    }
  }

  private observation(stopped: boolean): PodObservation {
    const status = (r: ContainerRecord) => r.status(r.spec.image ?? '');
    return {
      hostIP: this.deps.hostIP,
      podIP: this.resources.podIP,
      startTime: this.startTime,
      sandboxReady: this.resources.networkReady,
      initContainers: this.init.map(status),
      containers: this.containers.map(status),
      initialized: this.init.every((r) => r.succeeded),
      stopped,
    };
  }

  /** Applies the status when it differs from the last one written; returns it. */
  private async writeStatus(stopped: boolean): Promise<PodStatus> {
    const status = podStatus(this.pod, this.observation(stopped), metaTime(), this.lastStatus ?? this.pod.status);
    if (this.offline || JSON.stringify(status) === JSON.stringify(this.lastStatus)) return status;
    const { name, namespace } = this.pod.metadata;
    try {
      await this.deps.node.client.apply({ ...POD, metadata: { name, namespace, uid: this.uid }, status }, { subresource: 'status' });
      this.lastStatus = status;
    } catch (err) {
      if (isNotFound(err)) return status;
      this.log.warn({ err }, 'could not write pod status');
      this.retryIn(RETRY_MS);
    }
    return status;
  }
}
