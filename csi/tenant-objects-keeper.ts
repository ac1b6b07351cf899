// Keeps the driver's tenant objects (tenant-objects.ts) applied for as long as the controller runs, not only at its
// start: one watch on each object, by its exact name, and a server-side apply under our field manager whenever one is
// missing (a tenant admin deleted the default StorageClass) or no longer holds what we apply. What the live object
// already holds is never sent again, so steady state writes nothing, a restart included. The apply is not forced: a
// field a tenant admin has taken over (the default-class annotation, say) stays theirs, and that object is left.
import type { Logger } from 'pino';
import { Backoff, pause } from '../lib/controller/backoff.js';
import { Informer } from '../lib/controller/informer.js';
import { RestListWatcher } from '../lib/controller/list-watcher.js';
import { ItemExponentialRateLimiter } from '../lib/controller/rate-limiter.js';
import { WorkQueue } from '../lib/controller/workqueue.js';
import { isConflict } from '../lib/kube/api-error.js';
import { applyIfChanged } from '../lib/kube/applied-hash.js';
import type { Client } from '../lib/kube/client.js';
import { objectKey, typeMetaOf, type KubeObject, type ObjectRef, type TypeMeta } from '../lib/kube/object.js';
import type { ToolkitMetrics } from '../lib/observability/metrics.js';

export interface TenantObjectsKeeperOptions {
  tenant: Client;
  /** In the order they are first applied: the Namespace before what lives in it. */
  objects: readonly KubeObject[];
  log: Logger;
  metrics?: ToolkitMetrics | undefined;
  /** First retry delay while the tenant cannot take an object (its apiserver still coming up); doubled up to maxDelayMs. */
  delayMs?: number;
  maxDelayMs?: number;
}

/** What the keeper did with one object. */
export type KeepOutcome = 'unchanged' | 'applied' | 'left';

const idOf = (type: TypeMeta, ref: ObjectRef): string => `${type.kind} ${type.apiVersion} ${objectKey(ref)}`;
const refOf = (o: KubeObject): ObjectRef => ({ namespace: o.metadata.namespace, name: o.metadata.name ?? '' });
const named = (o: KubeObject): string => `${o.kind ?? ''} ${objectKey(o)}`;

export class TenantObjectsKeeper {
  private readonly objects = new Map<string, KubeObject>();
  private readonly watches = new Map<string, Informer<KubeObject>>();
  private readonly queue: WorkQueue;
  private readonly abort = new AbortController();
  /** The tenant client reading live objects from the watches, so a check costs no request. */
  private readonly watched: Client;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: TenantObjectsKeeperOptions) {
    // Status is never ours (an apply ignores it); a manifest's empty one (CRDs often carry it) would only ever differ.
    for (const { status: _status, ...obj } of opts.objects as (KubeObject & { status?: unknown })[]) this.objects.set(idOf(typeMetaOf(obj), refOf(obj)), obj);
    this.queue = new WorkQueue({ name: 'csi-tenant-objects', metrics: opts.metrics, rateLimiter: new ItemExponentialRateLimiter(opts.delayMs ?? 1_000, opts.maxDelayMs ?? 30_000) });
    this.watched = opts.tenant.withCache({
      get: <T extends KubeObject>(type: TypeMeta, ref: ObjectRef) => Promise.resolve(this.watches.get(idOf(type, ref))?.store.get(objectKey(ref)) as T | undefined),
      list: () => Promise.reject(new Error('the tenant objects keeper reads single objects only')),
    });
  }

  /** Starts in the background; `firstPass` resolves once every object has been applied (or left) once. */
  start(): { firstPass: Promise<void> } {
    this.running ??= this.run();
    return { firstPass: this.running };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.shutdown();
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
  }

  /**
   * Applies `obj` unless its live copy already holds it. A 409 means a tenant admin owns a field we would set:
   * their choice stands, so the object is left (until it changes again), never forced and never retried in a loop.
   */
  async keep(obj: KubeObject): Promise<KeepOutcome> {
    try {
      const { wrote, created } = await applyIfChanged(this.watched, obj, { force: false });
      if (wrote) this.opts.log.info({ object: named(obj), created }, created ? 'applied a missing tenant object' : 'applied a tenant object that had drifted');
      return wrote ? 'applied' : 'unchanged';
    } catch (err) {
      if (!isConflict(err)) throw new Error(`apply ${named(obj)} in the tenant: ${(err as Error).message}`, { cause: err });
      this.opts.log.warn({ object: named(obj), err: (err as Error).message }, 'left a tenant object whose fields another manager owns');
      return 'left';
    }
  }

  // In order, each object watched and applied before the next (a namespaced object needs its Namespace, an object of
  // a CRD's kind that CRD), retrying with backoff; then the watches' events keep them.
  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const outcomes: Record<KeepOutcome, number> = { unchanged: 0, applied: 0, left: 0 };
    for (const [id, obj] of this.objects) {
      const backoff = new Backoff({ initialMs: this.opts.delayMs ?? 1_000, maxMs: this.opts.maxDelayMs ?? 30_000 });
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await this.watch(id, obj);
          if (this.stopped()) return; // stopped while its watch was still syncing: write nothing more
          outcomes[await this.keep(obj)]++;
          break;
        } catch (err) {
          const delay = backoff.next();
          this.opts.log.warn({ object: named(obj), err: (err as Error).message, attempt, retryInMs: Math.round(delay) }, 'tenant object not applied yet');
          await pause(delay, signal);
        }
      }
    }
    if (signal.aborted) return;
    this.opts.log.info({ objects: this.objects.size, ...outcomes }, 'applied the tenant objects; keeping them applied');
    void this.work();
  }

  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Watches exactly this object (a field selector on its name) and queues it on every change, deletion included. */
  private async watch(id: string, obj: KubeObject): Promise<void> {
    if (this.watches.has(id)) return;
    const mapping = await this.opts.tenant.mapper.mappingFor(typeMetaOf(obj));
    if (this.stopped()) return;
    const informer = new Informer<KubeObject>({
      listWatcher: new RestListWatcher({
        transport: this.opts.tenant.transport,
        mapping,
        namespace: mapping.namespaced ? obj.metadata.namespace : undefined,
        fieldSelector: `metadata.name=${obj.metadata.name ?? ''}`,
      }),
      resource: id,
      log: this.opts.log,
      metrics: this.opts.metrics,
    });
    const changed = (): void => {
      this.queue.add(id);
    };
    informer.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    this.watches.set(id, informer);
    informer.start();
    await informer.waitForSync();
  }

  private async work(): Promise<void> {
    for (;;) {
      const id = await this.queue.get();
      if (id === undefined) return;
      const obj = this.objects.get(id);
      try {
        if (obj) await this.keep(obj);
        this.queue.forget(id);
      } catch (err) {
        this.opts.log.warn({ object: id, err: (err as Error).message }, 'tenant object not applied; retrying');
        this.queue.addRateLimited(id);
      } finally {
        this.queue.done(id);
      }
    }
  }
}
