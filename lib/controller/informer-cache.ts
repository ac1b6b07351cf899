// One informer per kind (and per metadata-only / selector variant), shared by every controller in the process,
// and the cached reader the client serves reads from. Informers start on first use, like controller-runtime's.
import type { Logger } from 'pino';
import type { CachedReader, ListOptions } from '../kube/client.js';
import { describeType, objectKey, type KubeObject, type ObjectRef, type TypeMeta } from '../kube/object.js';
import { parseLabelSelector, type LabelSelector } from '../kube/label-selector.js';
import type { RestMapper } from '../kube/rest-mapper.js';
import type { Transport } from '../kube/rest-transport.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { Backoff, pause } from './backoff.js';
import { byNamespace, byOwnerUid, NAMESPACE_INDEX, OWNER_UID_INDEX } from './indexers.js';
import { Informer } from './informer.js';
import { RestListWatcher, type ListWatcher } from './list-watcher.js';
import type { IndexFunc } from './object-store.js';

export interface InformerVariant {
  /** Watch PartialObjectMetadata only. */
  metadataOnly?: boolean | undefined;
  /** Only objects matching this label selector are cached. */
  labelSelector?: string | undefined;
}

export interface InformerCacheOptions {
  transport: Transport;
  mapper: RestMapper;
  /** Restrict every namespaced informer to this namespace (the --namespace flag). */
  namespace?: string | undefined;
  log?: Logger | undefined;
  metrics?: ToolkitMetrics | undefined;
  resyncMs?: number | undefined;
  watchIdleTimeoutMs?: number | undefined;
  /** How long a cached read waits for its informer's first list before failing. */
  readSyncTimeoutMs?: number | undefined;
  /** For tests: build list-watchers without REST. */
  listWatcherFactory?: (type: TypeMeta, variant: InformerVariant) => Promise<ListWatcher<KubeObject>>;
}

function variantKey(type: TypeMeta, v: InformerVariant): string {
  return `${type.apiVersion}/${type.kind}|${v.metadataOnly ? 'meta' : 'full'}|${v.labelSelector ?? ''}`;
}

export class InformerCache implements CachedReader {
  private readonly informers = new Map<string, Promise<Informer<KubeObject>>>();
  // The same informers once created, for synchronous readers such as the readiness probe.
  private readonly created = new Map<string, Informer<KubeObject>>();
  private readonly extraIndexers = new Map<string, Map<string, IndexFunc<KubeObject>>>();
  private readonly selectors = new Map<string, LabelSelector>();
  private started = false;
  private stopped = false;
  private readonly stopSignal = new AbortController();

  constructor(private readonly opts: InformerCacheOptions) {}

  get namespace(): string | undefined {
    return this.opts.namespace;
  }

  /** The informer for a kind, created (and started, if the cache runs) on first request. */
  informerFor<T extends KubeObject>(type: TypeMeta, variant: InformerVariant = {}): Promise<Informer<T>> {
    if (this.stopped) return Promise.reject(new Error('informer cache stopped'));
    const key = variantKey(type, variant);
    let pending = this.informers.get(key);
    if (!pending) {
      pending = this.create(type, variant);
      this.informers.set(key, pending);
      pending.then(
        (inf) => this.created.set(key, inf),
        () => this.informers.delete(key),
      );
    }
    return pending as unknown as Promise<Informer<T>>;
  }

  /**
   * The informer for a kind if it has been created, for synchronous readers such as key mappers that read a kind
   * their controller also watches (that watch creates it before any event reaches the mapper).
   */
  createdInformer<T extends KubeObject>(type: TypeMeta, variant: InformerVariant = {}): Informer<T> | undefined {
    return this.created.get(variantKey(type, variant)) as Informer<T> | undefined;
  }

  /** Adds an index to a kind's full-object informer (existing or future). */
  async addIndex<T extends KubeObject>(type: TypeMeta, name: string, fn: IndexFunc<T>): Promise<void> {
    const typeKey = `${type.apiVersion}/${type.kind}`;
    let extra = this.extraIndexers.get(typeKey);
    if (!extra) this.extraIndexers.set(typeKey, (extra = new Map<string, IndexFunc<KubeObject>>()));
    extra.set(name, fn as IndexFunc<KubeObject>);
    const existing = this.informers.get(variantKey(type, {}));
    if (existing) (await existing).store.addIndexer(name, fn as IndexFunc<KubeObject>);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const pending of this.informers.values()) void pending.then((inf) => { inf.start(); }, () => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    const all = await Promise.allSettled([...this.informers.values()]);
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())));
  }

  /** True once every informer created so far has completed its first list. */
  async hasSynced(): Promise<boolean> {
    const all = await Promise.allSettled(this.informers.values());
    return all.every((r) => r.status === 'fulfilled' && r.value.hasSynced());
  }

  /** Synchronous view of sync state for probes; informers still being created count as not synced. */
  syncedNow(): { synced: boolean; waitingFor: string[] } {
    const waitingFor: string[] = [];
    for (const key of this.informers.keys()) {
      const inf = this.created.get(key);
      if (!inf?.hasSynced()) waitingFor.push(key.split('|')[0] ?? key);
    }
    return { synced: this.started && waitingFor.length === 0, waitingFor };
  }

  async waitForSync(): Promise<void> {
    const all = await Promise.all(this.informers.values());
    await Promise.all(all.map((inf) => inf.waitForSync()));
  }

  async get<T extends KubeObject>(type: TypeMeta, ref: ObjectRef): Promise<T | undefined> {
    const informer = await this.readyInformer<T>(type);
    const obj = informer.store.get(objectKey(ref));
    // Callers may mutate what they get; the cached copy must stay what the apiserver said.
    return obj ? structuredClone(obj) : undefined;
  }

  async list<T extends KubeObject>(type: TypeMeta, opts: ListOptions = {}): Promise<T[]> {
    const informer = await this.readyInformer<T>(type);
    const candidates = opts.namespace ? informer.store.byIndex(NAMESPACE_INDEX, opts.namespace) : informer.store.list();
    const selector = opts.labelSelector ? this.selector(opts.labelSelector) : undefined;
    return candidates.filter((o) => !selector || selector.matches(o.metadata.labels)).map((o) => structuredClone(o));
  }

  /** Objects filed under an index value, e.g. children by owner UID. */
  async byIndex<T extends KubeObject>(type: TypeMeta, index: string, value: string): Promise<T[]> {
    const informer = await this.readyInformer<T>(type);
    return informer.store.byIndex(index, value).map((o) => structuredClone(o));
  }

  private async readyInformer<T extends KubeObject>(type: TypeMeta): Promise<Informer<T>> {
    if (!this.started) throw new Error(`cache not started; cannot read ${describeType(type)}`);
    const informer = await this.informerFor<T>(type);
    if (informer.hasSynced()) return informer;
    // A kind we may not list (RBAC) never syncs; a read must fail, and be retried with backoff, not hang a worker.
    const limit = this.opts.readSyncTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`cache for ${describeType(type)} has not synced after ${limit}ms; can we list and watch it?`));
      }, limit);
    });
    try {
      await Promise.race([informer.waitForSync(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return informer;
  }

  private selector(source: string): LabelSelector {
    let s = this.selectors.get(source);
    if (!s) this.selectors.set(source, (s = parseLabelSelector(source)));
    return s;
  }

  private async create(type: TypeMeta, variant: InformerVariant): Promise<Informer<KubeObject>> {
    const listWatcher = this.opts.listWatcherFactory
      ? await this.opts.listWatcherFactory(type, variant)
      : await this.restListWatcher(type, variant);
    const extra = variant.metadataOnly || variant.labelSelector ? undefined : this.extraIndexers.get(`${type.apiVersion}/${type.kind}`);
    const informer = new Informer<KubeObject>({
      listWatcher,
      resource: describeType(type) + (variant.metadataOnly ? '(metadata)' : ''),
      indexers: { [OWNER_UID_INDEX]: byOwnerUid, [NAMESPACE_INDEX]: byNamespace, ...Object.fromEntries(extra ?? []) },
      log: this.opts.log,
      metrics: this.opts.metrics,
      resyncMs: this.opts.resyncMs,
      watchIdleTimeoutMs: this.opts.watchIdleTimeoutMs,
    });
    if (this.started && !this.stopped) informer.start();
    return informer;
  }

  // Discovery is retried with backoff rather than failing the informer: an unreachable apiserver or a CRD that
  // is installed after us only delays readiness, as it would for a list that failed.
  private async restListWatcher(type: TypeMeta, variant: InformerVariant): Promise<ListWatcher<KubeObject>> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    let mapping;
    for (;;) {
      try {
        mapping = await this.opts.mapper.mappingFor(type);
        break;
      } catch (err) {
        if (this.stopSignal.signal.aborted) throw new Error('informer cache stopped', { cause: err });
        const delay = backoff.next();
        this.opts.log?.warn({ resource: describeType(type), err: (err as Error).message, retryInMs: Math.round(delay) }, 'cannot map kind yet');
        await pause(delay, this.stopSignal.signal);
      }
    }
    return new RestListWatcher<KubeObject>({
      transport: this.opts.transport,
      mapping,
      namespace: mapping.namespaced ? this.opts.namespace : undefined,
      labelSelector: variant.labelSelector,
      metadataOnly: variant.metadataOnly,
    });
  }
}
