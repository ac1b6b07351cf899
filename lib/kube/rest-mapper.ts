// Maps apiVersion+kind to its REST resource (plural name, namespaced or not) through discovery, one group
// version at a time and only when first needed, so a controller pays for the kinds it uses and nothing else.
import { ApiError, isNotFound } from './api-error.js';
import { groupOf, versionOf, type TypeMeta } from './object.js';
import type { Transport } from './rest-transport.js';

export interface ResourceMapping {
  apiVersion: string;
  kind: string;
  /** Plural resource name, e.g. "configmaps". */
  resource: string;
  namespaced: boolean;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Returns the REST path of a collection, an object, or an object's subresource. */
export function resourcePath(
  mapping: ResourceMapping,
  ref: { namespace?: string | undefined; name?: string | undefined } = {},
  subresource?: string,
): string {
  const group = groupOf(mapping.apiVersion);
  let path = group ? `/apis/${group}/${versionOf(mapping.apiVersion)}` : `/api/${mapping.apiVersion}`;
  if (mapping.namespaced && ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${mapping.resource}`;
  if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

export class RestMapper {
  private readonly mappings = new Map<string, ResourceMapping>();
  // One discovery request per group version in flight; concurrent lookups share it.
  private readonly fetched = new Map<string, Promise<void>>();

  constructor(private readonly transport: Transport) {}

  /** Adds a mapping without discovery: for tests and for kinds whose RBAC forbids discovery. */
  register(mapping: ResourceMapping): void {
    this.mappings.set(`${mapping.apiVersion}/${mapping.kind}`, mapping);
  }

  async mappingFor(type: TypeMeta): Promise<ResourceMapping> {
    const key = `${type.apiVersion}/${type.kind}`;
    const known = this.mappings.get(key);
    if (known) return known;
    await this.discover(type.apiVersion, false);
    const afterFirst = this.mappings.get(key);
    if (afterFirst) return afterFirst;
    // A CRD installed after our first look: ask once more before giving up.
    await this.discover(type.apiVersion, true);
    const found = this.mappings.get(key);
    if (!found) throw new Error(`no resource for kind ${type.kind} in ${type.apiVersion}; is its CRD installed?`);
    return found;
  }

  /**
   * Whether discovery lists the kind now. A group version the apiserver does not serve is a plain no; any other
   * discovery failure is thrown, so an apiserver that is briefly unreachable is never taken for a missing CRD.
   */
  async isServed(type: TypeMeta): Promise<boolean> {
    const key = `${type.apiVersion}/${type.kind}`;
    if (this.mappings.has(key)) return true;
    await this.discover(type.apiVersion, true);
    return this.mappings.has(key);
  }

  private discover(apiVersion: string, refresh: boolean): Promise<void> {
    const existing = this.fetched.get(apiVersion);
    if (existing && !refresh) return existing;
    const path = groupOf(apiVersion) ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const pending = this.transport
      .request<{ resources?: ApiResource[] }>({ method: 'GET', path })
      .then(
        (list) => {
          for (const r of list.resources ?? []) {
            if (r.name.includes('/')) continue; // subresources such as deployments/status
            this.register({ apiVersion, kind: r.kind, resource: r.name, namespaced: r.namespaced });
          }
        },
        (err: unknown) => {
          this.fetched.delete(apiVersion);
          if (isNotFound(err)) return; // the group version is not served (yet); mappingFor reports the kind
          throw err instanceof ApiError ? err : new Error(`discover ${apiVersion}`, { cause: err });
        },
      );
    this.fetched.set(apiVersion, pending);
    return pending;
  }
}
