// Wires one process: kubeconfig, REST transport, informer cache, client, event recorder, controllers, leader
// election, metrics and probes, from the common flags. Shutdown order matters: stop handing out work, let
// in-flight reconciles finish, then release the Lease (so the next leader never overlaps with us), then close
// watches and servers.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Client } from '../kube/client.js';
import { loadKubeConfigSource, type KubeConfigSource } from '../kube/kubeconfig-source.js';
import { describeType, type KubeObject, type TypeMeta } from '../kube/object.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { RestTransport, type Transport } from '../kube/rest-transport.js';
import { parseBindAddress } from '../observability/bind-address.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { ToolkitMetrics } from '../observability/metrics.js';
import { startProbeServer, type Check, type RunningProbeServer } from '../observability/probe-server.js';
import { onShutdownSignal } from '../observability/shutdown-signal.js';
import type { BackoffOptions } from './backoff.js';
import { ControllerBuilder } from './builder.js';
import type { Controller, Watch } from './controller.js';
import { EventRecorder } from './event-recorder.js';
import { InformerCache } from './informer-cache.js';
import { LeaderElector } from './leader-election.js';
import type { ManagerFlags } from './manager-flags.js';
import { ServedKinds } from './served-kinds.js';

/** Anything the manager starts and stops besides controllers (servers, pollers). */
export interface Runnable {
  readonly name: string;
  /** Runnables that act on the cluster should run on the leader only. */
  readonly needLeaderElection: boolean;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ManagerOptions {
  /** e.g. "infrastructure-provider"; names the field manager, the Lease and the event source. */
  component: string;
  flags: ManagerFlags;
  /** Overrides --kubeconfig (tests hand in the harness's). */
  kubeConfig?: KubeConfigSource;
  /** Overrides the connection built from the kubeconfig (unit tests hand in lib/testing's FakeApiServer). */
  transport?: Transport;
  /** How often discovery is asked again for kinds a controller waits for; default 1 s doubling to 10 s. */
  servedKindsPoll?: BackoffOptions;
  log?: Logger;
  metrics?: ToolkitMetrics;
  /** Default: log and exit(1), as controller-runtime does, so the Pod restarts as a clean standby. */
  onLeadershipLost?: () => void;
  identity?: string;
  cacheResyncMs?: number;
  watchIdleTimeoutMs?: number;
  /** Bound on draining queues at shutdown. */
  gracefulShutdownMs?: number;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export class Manager {
  readonly log: Logger;
  readonly metrics: ToolkitMetrics;
  readonly transport: Transport;
  readonly mapper: RestMapper;
  readonly cache: InformerCache;
  readonly client: Client;
  readonly recorder: EventRecorder;
  readonly identity: string;
  readonly elector: LeaderElector | undefined;
  private readonly controllers: Controller<KubeObject>[] = [];
  // Controllers whose informers exist (their kinds are served), and those whose workers run.
  private readonly preparedControllers = new Set<Controller<KubeObject>>();
  private readonly startedControllers = new Set<Controller<KubeObject>>();
  private readonly served: ServedKinds;
  // Ends the waits for kinds that are not served yet.
  private readonly stopSignal = new AbortController();
  private readonly runnables: Runnable[] = [];
  private readonly healthChecks: Check[] = [];
  private readonly readyChecks: Check[] = [];
  private probes: RunningProbeServer | undefined;
  private synced = false;
  private leaderWorkStarted = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly opts: ManagerOptions,
    transport: Transport,
    log: Logger,
    metrics: ToolkitMetrics,
  ) {
    const { flags, component } = opts;
    this.log = log;
    this.metrics = metrics;
    this.transport = transport;
    this.mapper = new RestMapper(transport);
    this.served = new ServedKinds({ mapper: this.mapper, log, poll: opts.servedKindsPoll });
    this.cache = new InformerCache({
      transport,
      mapper: this.mapper,
      namespace: flags.namespace,
      log,
      metrics,
      resyncMs: opts.cacheResyncMs,
      watchIdleTimeoutMs: opts.watchIdleTimeoutMs,
    });
    this.client = new Client({ transport, mapper: this.mapper, fieldManager: `kvcloud-${component}`, cache: this.cache });
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.recorder = new EventRecorder({
      client: this.client,
      reportingController: `kvcloud.io/${component}`,
      reportingInstance: `${component}-${hostname()}`,
      log,
    });
    if (flags.leaderElect) {
      this.elector = new LeaderElector({
        client: this.client,
        namespace: flags.leaderElectionNamespace ?? flags.namespace ?? podNamespace() ?? 'default',
        name: flags.leaderElectionId ?? `kvcloud-${component}`,
        identity: this.identity,
        leaseDurationMs: flags.leaseDurationMs,
        renewDeadlineMs: flags.renewDeadlineMs,
        retryPeriodMs: flags.retryPeriodMs,
        log,
        metrics,
      });
    }
    this.healthChecks.push({ name: 'ping', check: () => undefined });
    this.healthChecks.push({
      name: 'leader-election',
      check: () => (this.elector?.renewOverdue() ? 'leader has not renewed its lease in time' : undefined),
    });
    this.readyChecks.push({
      name: 'informers-synced',
      check: () => {
        if (this.synced) return undefined;
        const { waitingFor } = this.cache.syncedNow();
        return `waiting for ${waitingFor.length > 0 ? waitingFor.join(', ') : 'caches to start'}`;
      },
    });
    if (this.elector) {
      const elector = this.elector;
      this.readyChecks.push({ name: 'leader', check: () => (elector.isLeader() ? undefined : 'not the leader') });
    }
  }

  static async create(opts: ManagerOptions): Promise<Manager> {
    const log = opts.log ?? createLogger({ level: opts.flags.logLevel, component: opts.component });
    const metrics = opts.metrics ?? new ToolkitMetrics();
    const transport =
      opts.transport ??
      (await RestTransport.fromKubeConfig(opts.kubeConfig ?? (await loadKubeConfigSource(opts.flags.kubeconfig)), { metrics, userAgent: `kvcloud-${opts.component}` }));
    return new Manager(opts, transport, log, metrics);
  }

  /** Declares a controller; `complete()` registers it with this manager. */
  controller<T extends KubeObject>(name: string): ControllerBuilder<T> {
    return new ControllerBuilder<T>(
      {
        cache: this.cache,
        client: this.client,
        recorder: this.recorder,
        log: this.log,
        metrics: this.metrics,
        concurrency: this.opts.flags.concurrency,
        register: (c) => this.controllers.push(c),
      },
      name,
    );
  }

  add(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  addHealthCheck(check: Check): void {
    this.healthChecks.push(check);
  }

  addReadyCheck(check: Check): void {
    this.readyChecks.push(check);
  }

  get metricsUrl(): string | undefined {
    return this.probes?.metricsUrl;
  }

  get healthUrl(): string | undefined {
    return this.probes?.healthUrl;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : true;
  }

  isReady(): boolean {
    return this.readyChecks.every((c) => c.check() === undefined);
  }

  /** Serves probes, starts informers and campaigns for leadership; resolves once all of that is under way. */
  async start(): Promise<void> {
    const { flags } = this.opts;
    this.probes = await startProbeServer({
      metrics: parseBindAddress(flags.metricsBindAddress),
      health: parseBindAddress(flags.healthProbeBindAddress),
      registry: this.metrics.registry,
      healthz: () => this.healthChecks,
      readyz: () => this.readyChecks,
    });
    this.log.info({ metrics: this.probes.metricsUrl, health: this.probes.healthUrl }, 'serving metrics and probes');
    this.cache.start();
    // Informers are created and synced in the background: an apiserver that is not reachable yet keeps us
    // not-ready (and says why on /readyz) instead of failing the start. Controllers and watches waiting for
    // their kinds are not part of it.
    void Promise.all(this.controllers.map((c) => this.prepareController(c)))
      .then(() => this.cache.waitForSync())
      .then(
        () => {
          if (this.stopping) return;
          this.synced = true;
          this.log.info('caches synced');
        },
        (err: unknown) => {
          if (!this.stopping) this.log.error({ err }, 'could not start informers');
        },
      );
    for (const r of this.runnables) if (!r.needLeaderElection) await r.start();
    if (this.elector) {
      this.elector.start({
        onStartedLeading: () => {
          void this.startLeaderWork();
        },
        onLostLeadership: () => {
          (this.opts.onLeadershipLost ?? (() => {
            this.log.error('leadership lost, exiting so a restart comes back as a clean standby');
            process.exit(1);
          }))();
        },
      });
    } else {
      void this.startLeaderWork();
    }
  }

  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** start(), then wait for SIGTERM/SIGINT and stop gracefully; what a main.ts calls. */
  async runUntilSignal(): Promise<void> {
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const uninstall = onShutdownSignal(async () => {
      await this.stop();
      stopped();
    }, this.log);
    try {
      await this.start();
      await done;
    } finally {
      uninstall();
    }
  }

  // Controllers start their workers once their informers have synced, which may take a while; failures are
  // logged rather than thrown because nobody awaits this.
  private async startLeaderWork(): Promise<void> {
    if (this.leaderWorkStarted || this.stopping) return;
    this.leaderWorkStarted = true;
    try {
      for (const r of this.runnables) if (r.needLeaderElection) await r.start();
    } catch (err) {
      if (!this.isStopping()) this.log.error({ err }, 'could not start controllers');
      return;
    }
    await Promise.all(this.controllers.map((c) => this.startIfLeading(c)));
  }

  // A controller marked startWhenServed whose kinds are missing is prepared later, by waitForKinds; the others
  // now. Watches marked whenServed are connected now if their kind is served, later otherwise.
  private async prepareController(c: Controller<KubeObject>): Promise<void> {
    if (c.startsWhenServed) {
      const missing = await this.served.missing(c.requiredKinds(), this.stopSignal.signal);
      if (!missing) return;
      if (missing.length > 0) {
        void this.waitForKinds(c, missing);
        return;
      }
    }
    await this.prepareServed(c);
  }

  private async prepareServed(c: Controller<KubeObject>): Promise<void> {
    await c.prepare();
    this.preparedControllers.add(c);
    void this.startIfLeading(c);
    await Promise.all(
      c.lateWatches().map(async (w) => {
        const missing = await this.served.missing([w.type], this.stopSignal.signal);
        if (missing?.length === 0) await c.addWatch(w);
        else if (missing) void this.waitForWatch(c, w);
      }),
    );
  }

  private async waitForKinds(c: Controller<KubeObject>, missing: readonly TypeMeta[]): Promise<void> {
    const fields = { controller: c.name, kinds: missing.map(describeType) };
    this.log.info(fields, 'controller waits for its kinds to be served');
    try {
      if (!(await this.served.waitUntilServed(missing, this.stopSignal.signal))) return;
      await c.prepare();
      this.log.info(fields, 'started controller: its kinds are now served');
      await this.prepareServed(c);
    } catch (err) {
      if (!this.isStopping()) this.log.error({ err, controller: c.name }, 'could not start controller once its kinds were served');
    }
  }

  private async waitForWatch(c: Controller<KubeObject>, w: Watch): Promise<void> {
    const fields = { controller: c.name, kinds: [describeType(w.type)] };
    this.log.info(fields, 'watch waits for its kind to be served');
    try {
      if (!(await this.served.waitUntilServed([w.type], this.stopSignal.signal))) return;
      await c.addWatch(w);
      this.log.info(fields, 'started watch: its kind is now served');
    } catch (err) {
      if (!this.isStopping()) this.log.error({ err, ...fields }, 'could not start watch once its kind was served');
    }
  }

  // Workers start once the controller's informers exist and this process leads, whichever comes last.
  private async startIfLeading(c: Controller<KubeObject>): Promise<void> {
    if (!this.leaderWorkStarted || !this.preparedControllers.has(c) || this.startedControllers.has(c) || this.isStopping()) return;
    this.startedControllers.add(c);
    try {
      await c.start();
    } catch (err) {
      if (!this.isStopping()) this.log.error({ err, controller: c.name }, 'could not start controller');
    }
  }

  // Read through a method: stop() may be called while startLeaderWork awaits, which flow analysis cannot see.
  private isStopping(): boolean {
    return this.stopping !== undefined;
  }

  private async shutdown(): Promise<void> {
    this.stopSignal.abort();
    const grace = this.opts.gracefulShutdownMs ?? 30_000;
    const drained = Promise.all(this.controllers.map((c) => c.stop()));
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => { resolve(true); }, grace).unref()),
    ]);
    if (timedOut) this.log.warn({ graceMs: grace }, 'reconciles still running at the shutdown deadline');
    for (const r of [...this.runnables].reverse()) await r.stop();
    await this.recorder.close();
    await this.elector?.stop();
    await this.cache.stop();
    await this.probes?.close();
    this.transport.close();
    this.log.info('manager stopped');
  }
}
