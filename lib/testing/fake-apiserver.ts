// An in-memory apiserver behind the Transport interface, for unit tests of clients, patch helpers, leader
// election and reconcilers: it keeps resourceVersions and generations, enforces optimistic locking and status
// subresources, honours finalizers, releases the fields a server-side apply stops sending, serves watches from
// any resourceVersion it has written, and logs every request so tests can count writes.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ApiError } from '../kube/api-error.js';
import { parseLabelSelector } from '../kube/label-selector.js';
import { applyMergePatch } from '../kube/merge-patch.js';
import { metaTime } from '../kube/meta-time.js';
import { groupOf, objectKey, type KubeObject } from '../kube/object.js';
import type { ResourceMapping } from '../kube/rest-mapper.js';
import type { LineStream, RestRequest, Transport } from '../kube/rest-transport.js';

export interface FakeResource extends ResourceMapping {
  statusSubresource?: boolean;
}

interface Target {
  resource: FakeResource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export type Stored = KubeObject & { status?: unknown; spec?: unknown } & Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

interface Injected {
  match: (req: RestRequest) => boolean;
  error: ApiError;
}

export class FakeApiServer implements Transport {
  readonly host = 'fake.invalid:443';
  readonly requests: RecordedRequest[] = [];
  private readonly resources: FakeResource[] = [];
  private readonly objects = new Map<string, Map<string, Stored>>();
  private revision = 1000;
  private readonly injected: Injected[] = [];
  /** What each field manager last applied to an object, by "uid manager": the fields that manager owns. */
  private readonly applied = new Map<string, unknown>();
  /** Called after every successful write, e.g. to let a test race a second writer in. */
  afterWrite: ((obj: KubeObject) => void) | undefined;
  // Every change, in order, so a watch from any resourceVersion replays what it missed; tests are short.
  private readonly history: { bucket: string; event: WatchLine }[] = [];
  private readonly watches = new Set<FakeWatchStream>();

  /** Serves a kind from now on; called after a test started, it stands for a CRD installed late. */
  serve(resource: FakeResource): this {
    this.resources.push(resource);
    this.objects.set(this.bucket(resource), new Map());
    return this;
  }

  /** Makes the next request matching `match` fail with `status`. */
  failNext(match: (req: RestRequest) => boolean, status: number, reason = 'InternalError'): void {
    this.injected.push({ match, error: new ApiError(status, 'FAKE', '', { code: status, reason, message: 'injected failure' }) });
  }

  /** Writes counted the way rest_client_requests_total would: every non-GET request. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** Direct access for test setup and assertions; bypasses request logging. */
  seed<T extends KubeObject>(obj: T): T {
    const resource = this.resourceFor(obj);
    const stored = this.stamp(structuredClone(obj) as unknown as Stored, undefined);
    stored.metadata.generation ??= 1;
    const store = this.store(resource);
    this.emit(store.has(objectKey(stored)) ? 'MODIFIED' : 'ADDED', stored);
    store.set(objectKey(stored), stored);
    return structuredClone(stored) as unknown as T;
  }

  peek(apiVersion: string, kind: string, key: string): Stored | undefined {
    const resource = this.resources.find((r) => r.apiVersion === apiVersion && r.kind === kind);
    const obj = resource ? this.store(resource).get(key) : undefined;
    return obj ? structuredClone(obj) : undefined;
  }

  close(): void {
    // Nothing to release.
  }

  /** A watch of a collection: the changes after `resourceVersion`, then each one as it happens. */
  stream(req: RestRequest): Promise<LineStream> {
    this.requests.push({ method: req.method, path: req.path, contentType: req.contentType, body: req.body });
    if (!req.query?.watch) return Promise.reject(new Error(`fake apiserver: only watches stream, not ${req.path}`));
    let target: Target;
    try {
      target = this.parse(req.path);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const names = nameSelector(req.query.fieldSelector);
    const watch = new FakeWatchStream(this.bucket(target.resource), target.namespace, names, () => this.watches.delete(watch));
    const since = Number(req.query.resourceVersion ?? 0);
    for (const { bucket, event } of this.history) if (Number(event.object.metadata.resourceVersion) > since) watch.offer(bucket, event);
    this.watches.add(watch);
    req.signal?.addEventListener('abort', () => { watch.close(); }, { once: true });
    return Promise.resolve(watch);
  }

  request<T>(req: RestRequest): Promise<T> {
    this.requests.push({ method: req.method, path: req.path, contentType: req.contentType, body: req.body });
    const i = this.injected.findIndex((f) => f.match(req));
    if (i >= 0) {
      const [failure] = this.injected.splice(i, 1);
      return Promise.reject(failure?.error ?? new Error('injected'));
    }
    try {
      return Promise.resolve(structuredClone(this.handle(req)) as T);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private handle(req: RestRequest): unknown {
    const discovery = this.discovery(req.path);
    if (discovery) return discovery;
    const target = this.parse(req.path);
    const fail = (status: number, reason: string, message: string): never => {
      throw new ApiError(status, req.method, req.path, { code: status, reason, message });
    };
    const store = this.store(target.resource);
    const key = target.name === undefined ? undefined : target.namespace ? `${target.namespace}/${target.name}` : target.name;
    const existing = key === undefined ? undefined : store.get(key);
    switch (req.method) {
      case 'GET': {
        if (key !== undefined) return existing ?? fail(404, 'NotFound', `${target.resource.resource} "${target.name ?? ''}" not found`);
        const selector = typeof req.query?.labelSelector === 'string' ? parseLabelSelector(req.query.labelSelector) : undefined;
        const name = nameSelector(req.query?.fieldSelector);
        const items = [...store.values()].filter(
          (o) => (!target.namespace || o.metadata.namespace === target.namespace) && (!selector || selector.matches(o.metadata.labels)) && (name === undefined || o.metadata.name === name),
        );
        return { apiVersion: target.resource.apiVersion, kind: `${target.resource.kind}List`, metadata: { resourceVersion: String(this.revision) }, items };
      }
      case 'POST': {
        const obj = structuredClone(req.body) as Stored;
        obj.metadata.namespace = target.namespace ?? obj.metadata.namespace;
        if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomUUID().slice(0, 5)}`;
        const newKey = objectKey(obj);
        if (store.has(newKey)) fail(409, 'AlreadyExists', `${target.resource.resource} "${obj.metadata.name ?? ''}" already exists`);
        if (target.resource.statusSubresource) delete obj.status;
        obj.metadata.generation = 1;
        return this.save(store, this.stamp(obj, undefined));
      }
      case 'PUT': {
        if (!existing) return fail(404, 'NotFound', `${target.name ?? ''} not found`);
        const incoming = structuredClone(req.body) as Stored;
        this.checkVersion(existing, incoming.metadata.resourceVersion, fail);
        return this.write(store, existing, this.merge(target, existing, incoming));
      }
      case 'PATCH': {
        const contentType = req.contentType ?? '';
        if (contentType.startsWith('application/apply-patch')) return this.apply(target, store, existing, req, fail);
        if (!existing) return fail(404, 'NotFound', `${target.name ?? ''} not found`);
        let patched: Stored;
        if (contentType === 'application/json-patch+json') {
          patched = applyJsonPatch(existing, req.body as JsonPatchOp[], fail);
        } else {
          const patch = req.body as { metadata?: { resourceVersion?: string } };
          this.checkVersion(existing, patch.metadata?.resourceVersion, fail);
          patched = applyMergePatch(existing, req.body) as Stored;
        }
        return this.write(store, existing, this.merge(target, existing, patched));
      }
      case 'DELETE': {
        if (!existing || key === undefined) return fail(404, 'NotFound', `${target.name ?? ''} not found`);
        if ((existing.metadata.finalizers ?? []).length > 0) {
          if (existing.metadata.deletionTimestamp) return existing;
          const deleting = structuredClone(existing);
          deleting.metadata.deletionTimestamp = metaTime();
          return this.save(store, this.stamp(deleting, existing));
        }
        this.remove(store, existing);
        return { kind: 'Status', status: 'Success' };
      }
    }
  }

  // Server-side apply, as far as field ownership goes: a field this manager applied before and no longer sends is
  // removed, unless another writer has changed it since (it is theirs then); lists are atomic.
  private apply(target: Target, store: Map<string, Stored>, existing: Stored | undefined, req: RestRequest, fail: (s: number, r: string, m: string) => never): unknown {
    const body = structuredClone(req.body) as Stored;
    const manager = String(req.query?.fieldManager ?? '');
    let saved: unknown;
    if (!existing) {
      body.metadata.namespace = target.namespace;
      body.metadata.generation = 1;
      saved = this.save(store, this.stamp(body, undefined));
    } else {
      this.checkVersion(existing, body.metadata.resourceVersion, fail);
      const previous = this.applied.get(`${existing.metadata.uid ?? ''} ${manager}`);
      const base = previous === undefined ? existing : (releaseFields(existing, previous, body) as Stored);
      saved = this.write(store, existing, this.merge(target, existing, applyMergePatch(base, body) as Stored));
    }
    this.applied.set(`${(saved as Stored).metadata.uid ?? ''} ${manager}`, body);
    return saved;
  }

  // What a write may change depends on where it went: the status subresource changes only status, the main
  // resource everything but status (when the kind has a status subresource).
  private merge(target: Target, existing: Stored, incoming: Stored): Stored {
    const result = structuredClone(incoming);
    result.metadata = { ...incoming.metadata };
    for (const field of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp'] as const) {
      if (existing.metadata[field] === undefined) Reflect.deleteProperty(result.metadata, field);
      else Reflect.set(result.metadata, field, existing.metadata[field]);
    }
    if (target.subresource === 'status') {
      const onlyStatus = structuredClone(existing);
      onlyStatus.status = incoming.status;
      return onlyStatus;
    }
    if (target.resource.statusSubresource) {
      if (existing.status === undefined) delete result.status;
      else result.status = existing.status;
    }
    return result;
  }

  private write(store: Map<string, Stored>, existing: Stored, next: Stored): Stored | { kind: 'Status' } {
    if (isDeepStrictEqual(withoutVersion(existing), withoutVersion(next))) return existing; // a no-op write keeps its version
    const specChanged = !isDeepStrictEqual(withoutMetaAndStatus(existing), withoutMetaAndStatus(next));
    if (specChanged) next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    const saved = this.save(store, this.stamp(next, existing));
    if (saved.metadata.deletionTimestamp && (saved.metadata.finalizers ?? []).length === 0) this.remove(store, saved);
    return saved;
  }

  private save(store: Map<string, Stored>, obj: Stored): Stored {
    this.emit(store.has(objectKey(obj)) ? 'MODIFIED' : 'ADDED', obj);
    store.set(objectKey(obj), obj);
    this.afterWrite?.(structuredClone(obj));
    return obj;
  }

  private remove(store: Map<string, Stored>, obj: Stored): void {
    store.delete(objectKey(obj));
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(++this.revision);
    this.emit('DELETED', gone);
  }

  private emit(type: WatchLine['type'], obj: Stored): void {
    const bucket = this.bucket(this.resourceFor(obj));
    const event = { type, object: structuredClone(obj) };
    this.history.push({ bucket, event });
    for (const w of this.watches) w.offer(bucket, event);
  }

  private stamp(obj: Stored, existing: Stored | undefined): Stored {
    obj.metadata.resourceVersion = String(++this.revision);
    obj.metadata.uid = existing?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? obj.metadata.creationTimestamp ?? metaTime();
    const resource = this.resourceFor(obj);
    obj.apiVersion = resource.apiVersion;
    obj.kind = resource.kind;
    return obj;
  }

  private checkVersion(existing: Stored, wanted: string | undefined, fail: (s: number, r: string, m: string) => never): void {
    if (wanted !== undefined && wanted !== existing.metadata.resourceVersion) {
      fail(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    }
  }

  private discovery(path: string): unknown {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return undefined;
    const apiVersion = m[1] ?? `${m[2] ?? ''}/${m[3] ?? ''}`;
    const resources = this.resources.filter((r) => r.apiVersion === apiVersion);
    if (resources.length === 0) throw new ApiError(404, 'GET', path, { code: 404, reason: 'NotFound' });
    return { groupVersion: apiVersion, resources: resources.map((r) => ({ name: r.resource, kind: r.kind, namespaced: r.namespaced })) };
  }

  private parse(path: string): Target {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(path);
    if (!m) throw new Error(`fake apiserver: cannot route ${path}`);
    const apiVersion = m[1] ? `${m[1]}/${m[2] ?? ''}` : 'v1';
    const parts = (m[3] ?? '').split('/').map(decodeURIComponent);
    let namespace: string | undefined;
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      namespace = parts[1];
      parts.splice(0, 2);
    }
    const resource = this.resources.find((r) => r.apiVersion === apiVersion && r.resource === parts[0]);
    if (!resource) throw new ApiError(404, 'GET', path, { code: 404, reason: 'NotFound', message: 'no such resource' });
    return { resource, namespace, name: parts[1], subresource: parts[2] };
  }

  private resourceFor(obj: KubeObject): FakeResource {
    const r = this.resources.find((x) => x.apiVersion === obj.apiVersion && x.kind === obj.kind);
    if (!r) throw new Error(`fake apiserver: ${obj.apiVersion ?? '?'} ${obj.kind ?? '?'} is not served`);
    return r;
  }

  private bucket(r: ResourceMapping): string {
    return `${groupOf(r.apiVersion)}/${r.resource}`;
  }

  private store(r: ResourceMapping): Map<string, Stored> {
    const s = this.objects.get(this.bucket(r));
    if (!s) throw new Error(`fake apiserver: ${r.resource} is not served`);
    return s;
  }
}

interface WatchLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Stored;
}

// One open watch: the events of one collection (of one namespace, if asked), as the JSON lines an apiserver sends.
class FakeWatchStream implements LineStream {
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly bucket: string,
    private readonly namespace: string | undefined,
    private readonly name: string | undefined,
    private readonly onClose: () => void,
  ) {}

  offer(bucket: string, event: WatchLine): void {
    if (this.closed || bucket !== this.bucket || (this.namespace !== undefined && event.object.metadata.namespace !== this.namespace)) return;
    if (this.name !== undefined && event.object.metadata.name !== this.name) return;
    this.lines.push(JSON.stringify(event));
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const next = this.lines.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** The name a `metadata.name=<name>` field selector asks for; other field selectors are not served (ignored). */
function nameSelector(selector: unknown): string | undefined {
  return typeof selector === 'string' ? /^metadata\.name=([^,]+)$/.exec(selector)?.[1] : undefined;
}

function withoutVersion(obj: Stored): unknown {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
}

function withoutMetaAndStatus(obj: Stored): unknown {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

/** `live` without the fields that were in `before` and are not in `now`, where live still has `before`'s value. */
function releaseFields(live: unknown, before: unknown, now: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(live) || !isObject(before)) return live;
  const result = { ...live };
  for (const [key, value] of Object.entries(before)) {
    const kept = isObject(now) ? now[key] : undefined;
    if (kept === undefined) {
      if (isDeepStrictEqual(result[key], value)) Reflect.deleteProperty(result, key);
    } else {
      result[key] = releaseFields(result[key], value, kept);
    }
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

// Enough of RFC 6902 for tests: add, replace, remove and test on object members and array indexes. An op that does
// not apply fails the whole patch with the apiserver's 422 and json-patch's wording, which callers match on.
function applyJsonPatch(doc: Stored, ops: JsonPatchOp[], fail: (status: number, reason: string, message: string) => never): Stored {
  const result = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const segments = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop() ?? '';
    let parent: unknown = result;
    for (const s of segments) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[s] : undefined;
    if (parent === null || typeof parent !== 'object') return fail(422, 'Invalid', `${op.op} operation does not apply: doc is missing path: ${op.path}`);
    if (op.op === 'test') {
      const current = (parent as Record<string, unknown>)[last];
      if (current === undefined) return fail(422, 'Invalid', `test operation does not apply: is missing path: ${op.path}`);
      if (!isDeepStrictEqual(current, op.value)) return fail(422, 'Invalid', `testing value ${op.path} failed: test failed`);
    } else if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'add') parent.splice(index, 0, op.value);
      else parent[index] = op.value;
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op === 'remove') Reflect.deleteProperty(obj, last);
      else obj[last] = op.value;
    }
  }
  return result as unknown as Stored;
}
