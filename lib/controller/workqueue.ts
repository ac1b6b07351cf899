// The queue between informer events and reconcilers. A key waits at most once (repeated adds collapse), is
// never handed to two workers at a time (an add during processing re-queues it after `done`), retries with
// rate-limited backoff, and on shutdown the queued keys are still handed out until none remain.
import type { ToolkitMetrics } from '../observability/metrics.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions<K> {
  /** Metric label; the controller name. */
  name: string;
  rateLimiter?: RateLimiter<K>;
  clock?: Clock;
  metrics?: ToolkitMetrics | undefined;
}

export class WorkQueue<K = string> {
  readonly name: string;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly clock: Clock;
  private readonly metrics: ToolkitMetrics | undefined;
  private readonly labels: { name: string; controller: string };

  private queue: K[] = [];
  private head = 0;
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Map<K, number>();
  private readonly queuedAt = new Map<K, number>();
  private readonly delayed = new Map<K, { at: number; timer: TimerHandle }>();
  private readonly getters: ((key: K | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly untrack: () => void;

  constructor(opts: WorkQueueOptions<K>) {
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
    this.metrics = opts.metrics;
    this.labels = { name: opts.name, controller: opts.name };
    this.untrack = this.metrics?.trackQueue(this) ?? (() => undefined);
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.metrics?.workqueueAdds.inc(this.labels);
    if (this.processing.has(key)) return; // `done` puts it back, so one key never runs twice at once
    this.enqueue(key);
  }

  /** Adds the key once `ms` has passed; an earlier pending delay for the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Adds the key after the rate limiter's delay: per-key backoff, bounded overall by the token bucket. */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.metrics?.workqueueRetries.inc(this.labels);
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the key's backoff after a success. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Waits for a key; undefined once the queue is shut down and empty. */
  get(): Promise<K | undefined> {
    const key = this.dequeue();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile, it is queued again now. */
  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.workqueueWorkDuration.observe(this.labels, (this.clock.now() - started) / 1000);
    if (this.dirty.has(key)) this.enqueue(key);
    this.checkDrained();
  }

  len(): number {
    return this.queue.length - this.head;
  }

  /** Number of keys with a pending delayed add. */
  delayedLen(): number {
    return this.delayed.size;
  }

  /** Nothing queued, delayed or in flight. */
  isIdle(): boolean {
    return this.len() === 0 && this.processing.size === 0 && this.delayed.size === 0;
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting adds and drops pending delays; queued keys are still handed out. */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    // Only idle getters wait, and they only wait when the queue is empty: release them all.
    for (const resolve of this.getters.splice(0)) resolve(undefined);
    this.untrack();
    this.checkDrained();
  }

  /** Shuts down and resolves once every queued and in-flight key has been processed. */
  shutdownWithDrain(): Promise<void> {
    this.shutdown();
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const started of this.processing.values()) total += now - started;
    return total / 1000;
  }

  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let longest = 0;
    for (const started of this.processing.values()) longest = Math.max(longest, now - started);
    return longest / 1000;
  }

  private enqueue(key: K): void {
    this.queuedAt.set(key, this.clock.now());
    const getter = this.getters.shift();
    if (getter) {
      this.queue.push(key);
      getter(this.dequeue());
      return;
    }
    this.queue.push(key);
    this.metrics?.workqueueDepth.set(this.labels, this.len());
  }

  private dequeue(): K | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head] as K;
    this.head++;
    // Compact occasionally so a long-lived queue does not keep every key it ever held.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    const queued = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (this.metrics) {
      this.metrics.workqueueDepth.set(this.labels, this.len());
      if (queued !== undefined) this.metrics.workqueueQueueDuration.observe(this.labels, (now - queued) / 1000);
    }
    return key;
  }

  private isDrained(): boolean {
    return this.shuttingDown && this.len() === 0 && this.processing.size === 0;
  }

  private checkDrained(): void {
    if (!this.isDrained()) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
