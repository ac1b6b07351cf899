// Runs one reconciler: informer events become keys in a work queue, workers take keys (never one key twice at
// once), reconcile a private copy of the cached object, patch what changed, and requeue on error or request.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { inCauseChain, isConflict, isNotFound } from '../kube/api-error.js';
import type { Client } from '../kube/client.js';
import { describeType, objectKey, parseObjectKey, type KubeObject, type TypeMeta } from '../kube/object.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import type { EventInput, EventRecorder } from './event-recorder.js';
import type { Informer } from './informer.js';
import type { InformerCache, InformerVariant } from './informer-cache.js';
import { PatchHelper } from './patch-helper.js';
import { passesCreate, passesDelete, passesUpdate, type Predicate } from './predicates.js';
import type { RateLimiter } from './rate-limiter.js';
import { TerminalError, type ObjectEvents, type ReconcileContext, type Reconciler, type Result } from './reconciler.js';
import { WorkQueue } from './workqueue.js';

/** Maps an event's object to the keys ("namespace/name") of the objects to reconcile. */
export type KeyMapper<K extends KubeObject> = (obj: K) => readonly string[];

export interface Watch<K extends KubeObject = KubeObject> {
  type: TypeMeta;
  variant?: InformerVariant;
  map: KeyMapper<K>;
  predicates: readonly Predicate<K>[];
  /** Connect only once the kind is served; the controller runs without this watch until then. */
  whenServed?: boolean | undefined;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  forType: TypeMeta;
  reconciler: Reconciler<T>;
  /** Filters for events of the reconciled kind itself. */
  forPredicates?: readonly Predicate[];
  watches: readonly Watch[];
  cache: InformerCache;
  client: Client;
  recorder: EventRecorder;
  log: Logger;
  metrics?: ToolkitMetrics | undefined;
  concurrency?: number;
  rateLimiter?: RateLimiter<string>;
  /** False for kinds without a status subresource. */
  statusSubresource?: boolean;
  /** Skip the automatic patch after reconcile, for reconcilers that write their own object. */
  patchAfterReconcile?: boolean;
  /** Prepare and start only once every required kind is served (the manager waits for them). */
  startWhenServed?: boolean;
}

export class Controller<T extends KubeObject> {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly labels: { controller: string };
  private informer: Informer<T> | undefined;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private workers: Promise<void>[] = [];
  private prepared: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions<T>) {
    this.name = opts.name;
    this.log = opts.log.child({ controller: opts.name });
    this.labels = { controller: opts.name };
    this.queue = new WorkQueue<string>({ name: opts.name, metrics: opts.metrics, ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}) });
    // Series exist from the start, at zero, as controller-runtime does: dashboards and rate() see every
    // controller before its first error.
    const m = opts.metrics;
    if (m) {
      for (const result of ['success', 'error', 'requeue', 'requeue_after']) m.reconcileTotal.inc({ controller: opts.name, result }, 0);
      m.reconcileErrors.inc(this.labels, 0);
      m.terminalReconcileErrors.inc(this.labels, 0);
      m.workqueueAdds.inc({ name: opts.name, controller: opts.name }, 0);
      m.workqueueRetries.inc({ name: opts.name, controller: opts.name }, 0);
      m.workqueueDepth.set({ name: opts.name, controller: opts.name }, 0);
    }
  }

  /** The manager prepares and starts this controller only once `requiredKinds()` are all served. */
  get startsWhenServed(): boolean {
    return this.opts.startWhenServed ?? false;
  }

  /** The kinds this controller cannot run without: the one it reconciles and every watch not marked whenServed. */
  requiredKinds(): TypeMeta[] {
    const kinds = new Map<string, TypeMeta>();
    for (const type of [this.opts.forType, ...this.opts.watches.filter((w) => !w.whenServed).map((w) => w.type)]) {
      kinds.set(`${type.apiVersion}/${type.kind}`, type);
    }
    return [...kinds.values()];
  }

  /** Watches that `prepare` leaves out; the manager connects each through `addWatch` once its kind is served. */
  lateWatches(): readonly Watch[] {
    return this.opts.watches.filter((w) => w.whenServed);
  }

  /** Creates the informers and connects their events to the queue; keys collect until `start`. */
  prepare(): Promise<void> {
    this.prepared ??= this.connect();
    return this.prepared;
  }

  hasSynced(): boolean {
    return this.informers.length > 0 && this.informers.every((i) => i.hasSynced());
  }

  /** Starts the workers once every watched informer has synced. */
  async start(): Promise<void> {
    await this.prepare();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    if (this.queue.isShuttingDown()) return;
    const concurrency = this.opts.concurrency ?? 1;
    this.opts.metrics?.maxConcurrentReconciles.set(this.labels, concurrency);
    this.opts.metrics?.activeWorkers.set(this.labels, 0);
    this.log.info({ concurrency, kind: describeType(this.opts.forType) }, 'started workers');
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  /**
   * Connects a watch whose kind became served after `prepare`. A running controller then reconciles every
   * object again: any of them may have been waiting for that kind, and no event of its own says so.
   */
  async addWatch(w: Watch): Promise<void> {
    await this.prepare();
    const informer = await this.connectWatch(w);
    // Not started yet: the first list of the reconciled kind has queued every key already.
    if (this.workers.length === 0) return;
    await informer.waitForSync();
    for (const obj of this.informer?.store.list() ?? []) this.queue.add(objectKey(obj));
  }

  /** Stops taking events, lets queued and in-flight reconciles finish, then returns. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.queue.shutdownWithDrain();
    await Promise.all(this.workers);
  }

  private async connect(): Promise<void> {
    this.informer = await this.opts.cache.informerFor<T>(this.opts.forType);
    this.informers.push(this.informer as unknown as Informer<KubeObject>);
    this.subscribe(this.informer as unknown as Informer<KubeObject>, (obj) => [objectKey(obj)], this.opts.forPredicates ?? []);
    for (const w of this.opts.watches) if (!w.whenServed) await this.connectWatch(w);
  }

  private async connectWatch(w: Watch): Promise<Informer<KubeObject>> {
    const informer = await this.opts.cache.informerFor(w.type, w.variant);
    this.informers.push(informer);
    this.subscribe(informer, w.map, w.predicates);
    return informer;
  }

  private subscribe(informer: Informer<KubeObject>, map: KeyMapper<KubeObject>, preds: readonly Predicate[]): void {
    const enqueue = (obj: KubeObject): void => {
      for (const key of map(obj)) this.queue.add(key);
    };
    this.unsubscribe.push(
      informer.addEventHandler({
        onAdd: (obj) => {
          if (passesCreate(preds, obj)) enqueue(obj);
        },
        onUpdate: (old, obj) => {
          // A resync delivers old === obj: always reconcile it, predicates are about changes.
          if (old !== obj && !passesUpdate(preds, old, obj)) return;
          // Old keys too (e.g. the owner it moved away from), each once: a second add of a key an idle worker
          // already took would mark it dirty and reconcile it twice.
          const keys = new Set(map(obj));
          if (old !== obj) for (const key of map(old)) keys.add(key);
          for (const key of keys) this.queue.add(key);
        },
        onDelete: (obj) => {
          if (passesDelete(preds, obj)) enqueue(obj);
        },
      }),
    );
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.opts.metrics?.activeWorkers.inc(this.labels);
      try {
        await this.process(key);
      } finally {
        this.opts.metrics?.activeWorkers.dec(this.labels);
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const log = this.log.child({ object: key, reconcileID });
    const started = performance.now();
    let outcome: 'success' | 'error' | 'requeue' | 'requeue_after' = 'success';
    try {
      const result = await this.reconcileKey(key, reconcileID, log);
      if (result.requeueAfter !== undefined && result.requeueAfter > 0) {
        outcome = 'requeue_after';
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfter);
      } else if (result.requeue) {
        outcome = 'requeue';
        this.queue.addRateLimited(key);
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      outcome = 'error';
      this.opts.metrics?.reconcileErrors.inc(this.labels);
      if (err instanceof TerminalError) {
        this.opts.metrics?.terminalReconcileErrors.inc(this.labels);
        this.queue.forget(key);
        log.error({ err }, 'reconcile failed terminally, not retrying');
      } else {
        this.queue.addRateLimited(key);
        // A conflict only means another writer got there first; the retry reads the newer object. Logging it as
        // an error would bury the real failures.
        if (inCauseChain(err, isConflict)) log.debug({ err, retries: this.queue.numRequeues(key) }, 'object changed meanwhile, retrying');
        else log.error({ err, retries: this.queue.numRequeues(key) }, 'reconcile failed, retrying with backoff');
      }
    } finally {
      this.opts.metrics?.reconcileTotal.inc({ controller: this.name, result: outcome });
      this.opts.metrics?.reconcileTime.observe(this.labels, (performance.now() - started) / 1000);
    }
  }

  private async reconcileKey(key: string, reconcileID: string, log: Logger): Promise<Result> {
    const cached = this.informer?.store.get(key);
    const ctx = this.context(key, reconcileID, log, cached);
    if (!cached) {
      return this.opts.reconciler.reconcileMissing ? this.opts.reconciler.reconcileMissing(parseObjectKey(key), ctx) : {};
    }
    // The cache's copy is shared with every other reader: the reconciler gets its own.
    const obj = structuredClone(cached);
    if (this.opts.patchAfterReconcile === false) return this.opts.reconciler.reconcile(obj, ctx);
    const helper = PatchHelper.fromUnchanging(this.opts.client, cached, { statusSubresource: this.opts.statusSubresource ?? true });
    let result: Result | undefined;
    let failure: unknown;
    try {
      result = await this.opts.reconciler.reconcile(obj, ctx);
    } catch (err) {
      failure = err;
    }
    // Patch even after a failure: the conditions a failing reconcile set are how users learn why.
    try {
      const patched = await helper.patch(obj);
      if (patched.writes > 0) log.debug({ writes: patched.writes }, 'patched object');
    } catch (err) {
      // Deleted while we reconciled (its last finalizer gone): nothing is left to patch, and its removal from the
      // cache is the next event.
      if (failure === undefined && inCauseChain(err, isNotFound)) {
        log.debug({ err }, 'object deleted before its patch');
        return result ?? {};
      }
      const wrapped = new Error(`patch ${key}: ${(err as Error).message}`, { cause: err });
      if (failure === undefined) failure = wrapped;
      else log.error({ err: wrapped }, 'patch after failed reconcile also failed');
    }
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('reconcile threw a non-Error value', { cause: failure });
    return result ?? {};
  }

  private context(key: string, reconcileID: string, log: Logger, obj: T | undefined): ReconcileContext {
    const recorder = this.opts.recorder;
    const record = (input: EventInput): void => {
      if (obj) recorder.event(obj, input);
    };
    const events: ObjectEvents = {
      record,
      normal: (reason, action, note) => {
        record({ type: 'Normal', reason, action, note });
      },
      warning: (reason, action, note) => {
        record({ type: 'Warning', reason, action, note });
      },
    };
    return { controller: this.name, reconcileID, key, log, events, client: this.opts.client, cache: this.opts.cache };
  }
}
