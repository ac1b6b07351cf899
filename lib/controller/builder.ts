// Declares a controller the way controller-runtime's builder does: the kind it reconciles, the kinds it owns,
// other kinds it watches through a mapping, and the predicates that filter their events.
import type { Logger } from 'pino';
import type { Client } from '../kube/client.js';
import { groupOf, type KubeObject, type TypeMeta } from '../kube/object.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { Controller, type KeyMapper, type Watch } from './controller.js';
import type { EventRecorder } from './event-recorder.js';
import type { InformerCache } from './informer-cache.js';
import type { Predicate } from './predicates.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Reconciler } from './reconciler.js';

export interface ControllerDeps {
  cache: InformerCache;
  client: Client;
  recorder: EventRecorder;
  log: Logger;
  metrics?: ToolkitMetrics | undefined;
  /** Default worker count (the --concurrency flag). */
  concurrency?: number;
  /** Receives the built controller; the manager starts and stops it. */
  register?: (controller: Controller<KubeObject>) => void;
}

export interface WatchOptions<K extends KubeObject> {
  predicates?: readonly Predicate<K>[];
  /** Watch only metadata, for kinds whose spec and status this controller never reads. */
  metadataOnly?: boolean;
  /**
   * For a kind that may be installed after the process starts (an optional CRD): the controller runs without
   * this watch until the kind is served, then connects it and reconciles all its objects again.
   */
  whenServed?: boolean;
}

/** Maps a child to its controlling owner of `ownerType`, by API group and kind. */
export function controllerOwnerKeys(ownerType: TypeMeta): KeyMapper<KubeObject> {
  const group = groupOf(ownerType.apiVersion);
  return (obj) => {
    const ref = obj.metadata.ownerReferences?.find((r) => r.controller === true);
    if (ref?.kind !== ownerType.kind || groupOf(ref.apiVersion) !== group) return [];
    return [obj.metadata.namespace ? `${obj.metadata.namespace}/${ref.name}` : ref.name];
  };
}

export class ControllerBuilder<T extends KubeObject> {
  private forType: TypeMeta | undefined;
  private forPredicates: readonly Predicate[] = [];
  private readonly watchList: Watch[] = [];
  private concurrency: number | undefined;
  private rateLimiter: RateLimiter<string> | undefined;
  private statusSubresource = true;
  private patchAfterReconcile = true;
  private waitForKinds = false;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly name: string,
  ) {}

  /** The kind this controller reconciles; its events enqueue the object itself. */
  for(type: TypeMeta, opts: { predicates?: readonly Predicate<T>[] } = {}): this {
    this.forType = type;
    this.forPredicates = (opts.predicates ?? []);
    return this;
  }

  /** A kind this controller creates and controls: child events enqueue the controlling owner. */
  owns(type: TypeMeta, opts: WatchOptions<KubeObject> = {}): this {
    if (!this.forType) throw new Error(`controller ${this.name}: call for() before owns()`);
    this.watchList.push({
      type,
      variant: { metadataOnly: opts.metadataOnly },
      map: controllerOwnerKeys(this.forType),
      predicates: opts.predicates ?? [],
      whenServed: opts.whenServed,
    });
    return this;
  }

  /** Any other kind, mapped to the keys to reconcile (e.g. a Cluster to all its machines). */
  watches<K extends KubeObject>(type: TypeMeta, map: KeyMapper<K>, opts: WatchOptions<K> = {}): this {
    this.watchList.push({
      type,
      variant: { metadataOnly: opts.metadataOnly },
      map: map as KeyMapper<KubeObject>,
      predicates: (opts.predicates ?? []),
      whenServed: opts.whenServed,
    });
    return this;
  }

  withConcurrency(workers: number): this {
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`controller ${this.name}: concurrency must be >= 1`);
    this.concurrency = workers;
    return this;
  }

  withRateLimiter(limiter: RateLimiter<string>): this {
    this.rateLimiter = limiter;
    return this;
  }

  /** For kinds without a status subresource: status is patched together with spec. */
  withoutStatusSubresource(): this {
    this.statusSubresource = false;
    return this;
  }

  /** For reconcilers that write their own object and want no automatic patch. */
  withoutAutomaticPatch(): this {
    this.patchAfterReconcile = false;
    return this;
  }

  /**
   * For a controller of kinds that may be installed after the process starts (e.g. Cluster API's): the manager
   * leaves it out, and out of readiness, until everything it reconciles and watches is served, then starts it.
   */
  startWhenServed(): this {
    this.waitForKinds = true;
    return this;
  }

  complete(reconciler: Reconciler<T>): Controller<T> {
    if (!this.forType) throw new Error(`controller ${this.name}: for() is required`);
    const controller = new Controller<T>({
      name: this.name,
      forType: this.forType,
      forPredicates: this.forPredicates,
      reconciler,
      watches: this.watchList,
      cache: this.deps.cache,
      client: this.deps.client,
      recorder: this.deps.recorder,
      log: this.deps.log,
      metrics: this.deps.metrics,
      concurrency: this.concurrency ?? this.deps.concurrency ?? 1,
      statusSubresource: this.statusSubresource,
      patchAfterReconcile: this.patchAfterReconcile,
      startWhenServed: this.waitForKinds,
      ...(this.rateLimiter ? { rateLimiter: this.rateLimiter } : {}),
    });
    this.deps.register?.(controller as unknown as Controller<KubeObject>);
    return controller;
  }
}
