// The informer's in-memory copy of one kind, keyed "namespace/name", with secondary indexes (owner UID, label
// value, anything a controller needs) kept up to date on every change.
import { objectKey, type KubeObject } from '../kube/object.js';

/** Returns the index values an object is filed under; an empty list files it nowhere. */
export type IndexFunc<T> = (obj: T) => readonly string[];

export interface ReplaceResult<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

export class ObjectStore<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  // index name -> index value -> keys
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  /** Adds an index and files every object already held; re-adding a name replaces that index. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [key, obj] of this.objects) this.file(index, fn, key, obj);
  }

  hasIndexer(name: string): boolean {
    return this.indexers.has(name);
  }

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index named "${name}"; register it before reading it`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Stores the object and returns the version it replaced, if any. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    if (old) this.unfileAll(key, old);
    this.objects.set(key, obj);
    this.fileAll(key, obj);
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.unfileAll(key, old);
    this.objects.delete(key);
    return old;
  }

  /** Swaps in a full list (after a relist) and reports what changed relative to what we held. */
  replace(items: readonly T[]): ReplaceResult<T> {
    const result: ReplaceResult<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.upsert(obj);
      if (!old) result.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) result.updated.push({ old, obj });
    }
    for (const key of [...this.objects.keys()]) {
      if (seen.has(key)) continue;
      const old = this.remove(key);
      if (old) result.deleted.push(old);
    }
    return result;
  }

  private file(index: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const value of fn(obj)) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private index(name: string): Map<string, Set<string>> {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index named "${name}"`);
    return index;
  }

  private fileAll(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) this.file(this.index(name), fn, key, obj);
  }

  private unfileAll(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.index(name);
      for (const value of fn(obj)) {
        const keys = index.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  }
}
