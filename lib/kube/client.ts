// The one client controllers use: reads from the informer cache unless told to go direct, writes as merge
// patch, JSON patch or server-side apply under our field manager, status through the status subresource.
import { isNotFound } from './api-error.js';
import { objectKey, typeMetaOf, type KubeList, type KubeObject, type ObjectRef, type TypeMeta } from './object.js';
import { resourcePath, type ResourceMapping, type RestMapper } from './rest-mapper.js';
import type { Transport } from './rest-transport.js';

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  /** Honoured by direct lists only; the cache has no field indexes for arbitrary fields. */
  fieldSelector?: string | undefined;
}

export interface ReadOptions {
  /** Bypass the cache and ask the apiserver: for read-after-write and for kinds we do not watch. */
  direct?: boolean;
  /** Ask only for metadata (PartialObjectMetadata); direct reads only. */
  metadataOnly?: boolean;
}

/** What the informer cache offers the client; lib/controller implements it. */
export interface CachedReader {
  get<T extends KubeObject>(type: TypeMeta, ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject>(type: TypeMeta, opts: ListOptions): Promise<T[]>;
}

export interface WriteOptions {
  subresource?: 'status' | (string & {});
  dryRun?: boolean;
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields another manager owns; controllers own their fields, so default true. */
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  /** Delete only this incarnation / version of the object. */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export const METADATA_ONLY_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

export interface ClientOptions {
  transport: Transport;
  mapper: RestMapper;
  /** Server-side apply field manager and the manager recorded for our patches, e.g. "kvcloud-infrastructure". */
  fieldManager: string;
  cache?: CachedReader | undefined;
}

export class Client {
  readonly transport: Transport;
  readonly mapper: RestMapper;
  readonly fieldManager: string;
  private readonly cache: CachedReader | undefined;

  constructor(opts: ClientOptions) {
    this.transport = opts.transport;
    this.mapper = opts.mapper;
    this.fieldManager = opts.fieldManager;
    this.cache = opts.cache;
  }

  /** The same connection with reads served from `cache`. */
  withCache(cache: CachedReader): Client {
    return new Client({ transport: this.transport, mapper: this.mapper, fieldManager: this.fieldManager, cache });
  }

  /** Returns undefined when the object does not exist. */
  async get<T extends KubeObject>(type: TypeMeta, ref: ObjectRef, opts: ReadOptions = {}): Promise<T | undefined> {
    if (this.cache && !opts.direct && !opts.metadataOnly) return this.cache.get<T>(type, ref);
    const mapping = await this.mapper.mappingFor(type);
    try {
      return await this.transport.request<T>({
        method: 'GET',
        path: resourcePath(mapping, ref),
        ...(opts.metadataOnly ? { accept: METADATA_ONLY_ACCEPT } : {}),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(type: TypeMeta, opts: ListOptions & ReadOptions = {}): Promise<T[]> {
    if (this.cache && !opts.direct && !opts.metadataOnly && !opts.fieldSelector) return this.cache.list<T>(type, opts);
    const mapping = await this.mapper.mappingFor(type);
    const items: T[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.transport.request<KubeList<T>>({
        method: 'GET',
        path: resourcePath(mapping, { namespace: opts.namespace }),
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: 500, continue: continueToken },
        ...(opts.metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
      });
      items.push(...page.items);
      continueToken = page.metadata.continue;
    } while (continueToken);
    return items;
  }

  async create<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const mapping = await this.mappingOf(obj);
    return this.transport.request<T>({
      method: 'POST',
      path: resourcePath(mapping, { namespace: obj.metadata.namespace }, opts.subresource),
      query: this.writeQuery(opts),
      body: obj,
    });
  }

  /** PUT with the object's resourceVersion: fails with 409 when someone else wrote in between. */
  async update<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const mapping = await this.mappingOf(obj);
    return this.transport.request<T>({
      method: 'PUT',
      path: resourcePath(mapping, this.refOf(obj), opts.subresource),
      query: this.writeQuery(opts),
      body: obj,
    });
  }

  async mergePatch<T extends KubeObject>(type: TypeMeta, ref: ObjectRef, patch: object, opts: WriteOptions = {}): Promise<T> {
    return this.patch<T>(type, ref, patch, 'application/merge-patch+json', opts);
  }

  async jsonPatch<T extends KubeObject>(
    type: TypeMeta,
    ref: ObjectRef,
    ops: JsonPatchOperation[],
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.patch<T>(type, ref, ops, 'application/json-patch+json', opts);
  }

  /** Server-side apply: `obj` holds exactly the fields we own; fields we stop sending are released. */
  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const mapping = await this.mappingOf(obj);
    return this.transport.request<T>({
      method: 'PATCH',
      path: resourcePath(mapping, this.refOf(obj), opts.subresource),
      query: { ...this.writeQuery(opts), force: opts.force ?? true },
      contentType: 'application/apply-patch+yaml',
      body: obj,
    });
  }

  /** Returns false when the object was already gone. */
  async delete(type: TypeMeta, ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const mapping = await this.mapper.mappingFor(type);
    try {
      await this.transport.request({
        method: 'DELETE',
        path: resourcePath(mapping, ref),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', ...opts },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async patch<T extends KubeObject>(
    type: TypeMeta,
    ref: ObjectRef,
    body: unknown,
    contentType: string,
    opts: WriteOptions,
  ): Promise<T> {
    const mapping = await this.mapper.mappingFor(type);
    return this.transport.request<T>({
      method: 'PATCH',
      path: resourcePath(mapping, ref, opts.subresource),
      query: this.writeQuery(opts),
      contentType,
      body,
    });
  }

  private mappingOf(obj: KubeObject): Promise<ResourceMapping> {
    return this.mapper.mappingFor(typeMetaOf(obj));
  }

  private refOf(obj: KubeObject): ObjectRef {
    if (!obj.metadata.name) throw new Error(`object ${objectKey(obj)} has no name`);
    return { namespace: obj.metadata.namespace, name: obj.metadata.name };
  }

  private writeQuery(opts: WriteOptions): Record<string, string | undefined> {
    return { fieldManager: this.fieldManager, dryRun: opts.dryRun ? 'All' : undefined };
  }
}
