// Keeps an ObjectStore equal to the apiserver's view of one kind: list, then watch from the list's
// resourceVersion with bookmarks, relist after 410 Gone, reconnect with capped backoff after any other failure,
// and tear down a watch that has gone silent. Reads keep being served from the store while disconnected.
import type { Logger } from 'pino';
import { ApiError, isGone } from '../kube/api-error.js';
import { objectKey, type ApiStatus, type KubeObject } from '../kube/object.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { Backoff, pause, type BackoffOptions } from './backoff.js';
import type { ListWatcher, WatchEvent } from './list-watcher.js';
import { ObjectStore, type IndexFunc } from './object-store.js';

export interface EventHandler<T> {
  /** `initial` is true for objects delivered by the first list (or replayed to a late handler). */
  onAdd?(obj: T, initial: boolean): void;
  /** Also called with old === obj on periodic resync. */
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  listWatcher: ListWatcher<T>;
  /** Name for logs and metrics, e.g. "ConfigMap.v1". */
  resource: string;
  indexers?: Record<string, IndexFunc<T>>;
  log?: Logger | undefined;
  metrics?: ToolkitMetrics | undefined;
  /**
   * A watch that delivers nothing (not even a bookmark) for this long is assumed stalled and replaced. The
   * apiserver sends bookmarks about once a minute, so the default leaves room for two missed ones.
   */
  watchIdleTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Re-deliver every object as an update this often (0: never), a safety net for missed external changes. */
  resyncMs?: number;
}

export type WatchEndReason = 'closed' | 'error' | 'watchdog' | 'gone';

export interface InformerStats {
  /** Full lists made, the first included. */
  lists: number;
  /** Lists forced by 410 Gone. */
  relistsAfterGone: number;
  watchStarts: number;
  watchEnds: Record<WatchEndReason, number>;
  resourceVersion: string;
}

class WatchdogFired extends Error {
  constructor(ms: number) {
    super(`watch delivered nothing for ${ms}ms`);
  }
}

export class Informer<T extends KubeObject> {
  readonly store: ObjectStore<T>;
  readonly resource: string;
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly backoff: Backoff;
  private readonly idleMs: number;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly stats_: InformerStats = {
    lists: 0,
    relistsAfterGone: 0,
    watchStarts: 0,
    watchEnds: { closed: 0, error: 0, watchdog: 0, gone: 0 },
    resourceVersion: '',
  };

  constructor(private readonly opts: InformerOptions<T>) {
    this.store = new ObjectStore<T>(opts.indexers);
    this.resource = opts.resource;
    this.backoff = new Backoff(opts.backoff);
    this.idleMs = opts.watchIdleTimeoutMs ?? 150_000;
  }

  get stats(): Readonly<InformerStats> {
    return this.stats_;
  }

  /** Registers a handler; if the informer already synced, the handler first gets every stored object as an add. */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced) for (const obj of this.store.list()) this.call(() => handler.onAdd?.(obj, true));
    return () => this.handlers.delete(handler);
  }

  start(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.running;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  isStopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Resolves once the first list has been stored (or the informer stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let needList = true;
    let listReason: 'initial' | 'gone' | 'error' = 'initial';
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.listAndReplace(listReason);
          needList = false;
          this.backoff.reset();
        }
        const ended = await this.watchOnce();
        this.countWatchEnd(ended.reason);
        if (ended.reason === 'gone') {
          needList = true;
          listReason = 'gone';
          this.stats_.relistsAfterGone++;
          this.opts.log?.info({ resource: this.resource }, 'watch expired (410), relisting');
          continue;
        }
        // A watch that ends at once without news is a failure in disguise (e.g. a proxy dropping us): back off.
        if (!ended.productive) await pause(this.backoff.next(), signal);
      } catch (err) {
        if (this.isStopped()) break;
        if (isGone(err)) {
          needList = true;
          listReason = 'gone';
          this.stats_.relistsAfterGone++;
          this.countWatchEnd('gone');
          continue;
        }
        if (needList) listReason = listReason === 'initial' ? 'initial' : 'error';
        else this.countWatchEnd('error');
        const delay = this.backoff.next();
        this.opts.log?.warn({ resource: this.resource, err: describe(err), retryInMs: Math.round(delay) }, 'informer request failed');
        await pause(delay, signal);
      }
    }
  }

  private async listAndReplace(reason: 'initial' | 'gone' | 'error'): Promise<void> {
    const list = await this.opts.listWatcher.list(this.abort.signal);
    if (this.abort.signal.aborted) return;
    this.stats_.lists++;
    this.opts.metrics?.informerLists.inc({ resource: this.resource, reason });
    this.stats_.resourceVersion = list.resourceVersion;
    const wasSynced = this.synced;
    const changes = this.store.replace(list.items);
    for (const obj of changes.added) this.emitAdd(obj, !wasSynced);
    for (const { old, obj } of changes.updated) this.emitUpdate(old, obj);
    for (const obj of changes.deleted) this.emitDelete(obj);
    if (!wasSynced) this.markSynced();
    this.opts.log?.debug({ resource: this.resource, reason, items: list.items.length }, 'listed');
  }

  private markSynced(): void {
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    const every = this.opts.resyncMs ?? 0;
    if (every > 0) {
      this.resyncTimer = setInterval(() => {
        for (const obj of this.store.list()) this.emitUpdate(obj, obj);
      }, every);
      this.resyncTimer.unref();
    }
  }

  private async watchOnce(): Promise<{ reason: WatchEndReason; productive: boolean }> {
    const signal = this.abort.signal;
    const stream = await this.opts.listWatcher.watch(this.stats_.resourceVersion, signal);
    this.stats_.watchStarts++;
    let productive = false;
    // Written by the timer callback, so flow analysis cannot see it change: keep it in an object.
    const silent = { fired: false };
    const watchdog = setTimeout(() => {
      silent.fired = true;
      stream.close();
    }, this.idleMs);
    watchdog.unref();
    try {
      for await (const event of stream) {
        watchdog.refresh();
        productive = true;
        this.backoff.reset();
        if (event.type === 'ERROR') {
          const status = event.object as ApiStatus;
          if (status.code === 410) return { reason: 'gone', productive };
          throw new ApiError(status.code ?? 500, 'WATCH', this.resource, status);
        }
        this.apply(event);
      }
      if (silent.fired) throw new WatchdogFired(this.idleMs);
      return { reason: 'closed', productive };
    } catch (err) {
      if (silent.fired) {
        this.opts.log?.warn({ resource: this.resource, idleMs: this.idleMs }, 'watch went silent, reconnecting');
        return { reason: 'watchdog', productive: true };
      }
      throw err;
    } finally {
      clearTimeout(watchdog);
      stream.close();
    }
  }

  private apply(event: WatchEvent<T>): void {
    const obj = event.object as T;
    this.opts.metrics?.informerEvents.inc({ resource: this.resource, type: event.type });
    if (obj.metadata.resourceVersion) this.stats_.resourceVersion = obj.metadata.resourceVersion;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.store.upsert(obj);
        if (old) this.emitUpdate(old, obj);
        else this.emitAdd(obj, false);
        return;
      }
      case 'DELETED': {
        const old = this.store.remove(objectKey(obj));
        this.emitDelete(old ?? obj);
        return;
      }
      default:
        return; // BOOKMARK: only the resourceVersion moves
    }
  }

  private countWatchEnd(reason: WatchEndReason): void {
    this.stats_.watchEnds[reason]++;
    this.opts.metrics?.informerWatchRestarts.inc({ resource: this.resource, reason });
  }

  private emitAdd(obj: T, initial: boolean): void {
    for (const h of this.handlers) this.call(() => h.onAdd?.(obj, initial));
  }

  private emitUpdate(old: T, obj: T): void {
    for (const h of this.handlers) this.call(() => h.onUpdate?.(old, obj));
  }

  private emitDelete(obj: T): void {
    for (const h of this.handlers) this.call(() => h.onDelete?.(obj));
  }

  // A faulty handler must not stop the informer that every other controller shares.
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log?.error({ resource: this.resource, err: describe(err) }, 'event handler threw');
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
