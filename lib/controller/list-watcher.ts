// The two calls an informer makes: a paginated list (giving the resourceVersion to watch from) and a watch with
// bookmarks. Split out so informer logic is unit-tested against an in-memory fake and runs on REST for real.
import { isGone } from '../kube/api-error.js';
import { METADATA_LIST_ACCEPT, METADATA_ONLY_ACCEPT } from '../kube/client.js';
import type { ApiStatus, KubeList, KubeObject } from '../kube/object.js';
import { resourcePath, type ResourceMapping } from '../kube/rest-mapper.js';
import type { LineStream, Transport } from '../kube/rest-transport.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T | ApiStatus;
}

export interface WatchStream<T> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface ListWatcher<T> {
  list(signal: AbortSignal): Promise<ListResult<T>>;
  watch(resourceVersion: string, signal: AbortSignal): Promise<WatchStream<T>>;
}

export interface RestListWatcherOptions {
  transport: Transport;
  mapping: ResourceMapping;
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** PartialObjectMetadata instead of full objects: a fraction of the memory for kinds we only relate to. */
  metadataOnly?: boolean | undefined;
  pageSize?: number;
}

export class RestListWatcher<T extends KubeObject> implements ListWatcher<T> {
  constructor(private readonly opts: RestListWatcherOptions) {}

  async list(signal: AbortSignal): Promise<ListResult<T>> {
    const { transport, mapping, namespace, labelSelector, fieldSelector } = this.opts;
    for (;;) {
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion: string;
      try {
        do {
          const page = await transport.request<KubeList<T>>({
            method: 'GET',
            path: resourcePath(mapping, { namespace }),
            query: { labelSelector, fieldSelector, limit: this.opts.pageSize ?? 500, continue: continueToken },
            signal,
            timeoutMs: 60_000,
            ...(this.opts.metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
          });
          // List items of built-in kinds come without apiVersion/kind; stamp them so cached objects look like
          // watched ones and can be written back as they are.
          for (const item of page.items) {
            if (!this.opts.metadataOnly) {
              item.apiVersion ??= mapping.apiVersion;
              item.kind ??= mapping.kind;
            }
            items.push(item);
          }
          continueToken = page.metadata.continue;
          resourceVersion = page.metadata.resourceVersion ?? '';
        } while (continueToken);
        return { items, resourceVersion };
      } catch (err) {
        // A continue token outlived etcd's compaction window mid-list: start the whole list again.
        if (continueToken !== undefined && isGone(err)) continue;
        throw err;
      }
    }
  }

  async watch(resourceVersion: string, signal: AbortSignal): Promise<WatchStream<T>> {
    const { transport, mapping, namespace, labelSelector, fieldSelector } = this.opts;
    const lines = await transport.stream({
      method: 'GET',
      path: resourcePath(mapping, { namespace }),
      query: {
        watch: 1,
        resourceVersion,
        allowWatchBookmarks: true,
        // The server ends each watch after 5-10 minutes, staggered, so connections rotate and rebalance.
        timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        labelSelector,
        fieldSelector,
      },
      signal,
      ...(this.opts.metadataOnly ? { accept: METADATA_ONLY_ACCEPT } : {}),
    });
    return parseEvents<T>(lines);
  }
}

function parseEvents<T>(lines: LineStream): WatchStream<T> {
  return {
    close: () => {
      lines.close();
    },
    async *[Symbol.asyncIterator]() {
      for await (const line of lines) yield JSON.parse(line) as WatchEvent<T>;
    },
  };
}
