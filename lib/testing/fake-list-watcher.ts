// An in-memory apiserver for one kind, for unit tests of informers and controllers: tests change objects,
// inject 410s, errors and silent watches, and see exactly what an informer does about each.
import { objectKey, type ApiStatus, type KubeObject } from '../kube/object.js';
import { ApiError } from '../kube/api-error.js';
import type { ListResult, ListWatcher, WatchEvent, WatchStream } from '../controller/list-watcher.js';

class FakeWatch<T> implements WatchStream<T> {
  private readonly buffered: WatchEvent<T>[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;

  constructor(readonly fromResourceVersion: string) {}

  push(event: WatchEvent<T>): void {
    this.buffered.push(event);
    this.wake?.();
  }

  fail(err: Error): void {
    this.failure = err;
    this.wake?.();
  }

  close(): void {
    this.ended = true;
    this.wake?.();
  }

  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    for (;;) {
      const next = this.buffered.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

export class FakeListWatcher<T extends KubeObject> implements ListWatcher<T> {
  private readonly objects = new Map<string, T>();
  private revision = 100;
  readonly watches: FakeWatch<T>[] = [];
  lists = 0;
  /** Errors the next list calls throw, in order. */
  readonly listFailures: Error[] = [];
  /** Errors the next watch calls throw, in order (e.g. ApiError 410). */
  readonly watchFailures: Error[] = [];
  /** When set, new watches deliver nothing until a test pushes to them. */
  silent = false;
  private readonly watchOpened: (() => void)[] = [];

  list(_signal: AbortSignal): Promise<ListResult<T>> {
    this.lists++;
    const failure = this.listFailures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve({ items: [...this.objects.values()].map((o) => structuredClone(o)), resourceVersion: String(this.revision) });
  }

  watch(resourceVersion: string, signal: AbortSignal): Promise<WatchStream<T>> {
    const failure = this.watchFailures.shift();
    if (failure) return Promise.reject(failure);
    const w = new FakeWatch<T>(resourceVersion);
    signal.addEventListener('abort', () => { w.close(); }, { once: true });
    this.watches.push(w);
    for (const resolve of this.watchOpened.splice(0)) resolve();
    return Promise.resolve(w);
  }

  /** The newest watch that is still open. */
  get current(): FakeWatch<T> | undefined {
    const last = this.watches.at(-1);
    return last && !last.closed ? last : undefined;
  }

  /** Resolves when the number of watches opened reaches `n`. */
  async watchesOpened(n: number): Promise<void> {
    while (this.watches.length < n) await new Promise<void>((resolve) => this.watchOpened.push(resolve));
  }

  upsert(obj: T, opts: { quiet?: boolean } = {}): T {
    const key = objectKey(obj);
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, stored);
    if (!opts.quiet) this.current?.push({ type, object: structuredClone(stored) });
    return stored;
  }

  delete(key: string, opts: { quiet?: boolean } = {}): void {
    const old = this.objects.get(key);
    if (!old) return;
    this.objects.delete(key);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.revision);
    if (!opts.quiet) this.current?.push({ type: 'DELETED', object: gone });
  }

  /** Stores an object exactly as given (e.g. as a FakeApiServer wrote it) and delivers it to the watch. */
  observe(obj: T, type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'MODIFIED'): void {
    const key = objectKey(obj);
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, structuredClone(obj));
    this.revision = Math.max(this.revision, Number(obj.metadata.resourceVersion ?? 0));
    this.current?.push({ type, object: structuredClone(obj) });
  }

  bookmark(): void {
    this.current?.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(++this.revision) } } as T });
  }

  /** Ends the current watch with an ERROR event carrying 410, as the apiserver does for a compacted version. */
  expire(): void {
    const status: ApiStatus = { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' };
    this.current?.push({ type: 'ERROR', object: status });
  }

  static gone(): ApiError {
    return new ApiError(410, 'GET', '/fake', { code: 410, reason: 'Gone' });
  }
}
