// Copies every key under a prefix from one etcd to another, for a DataStore migration. Pages are read at the
// revision of the first page, so the copy is one consistent snapshot even if something still writes to the
// source. The target prefix is emptied first: a copy interrupted by a crash is simply done again from scratch,
// and keys left there by an earlier tenant of the same schema cannot survive into the migrated cluster.
// Keys attached to an etcd lease (the apiserver's Events and its own endpoint leases) are not copied: a lease id
// means nothing in another etcd, and both kinds are short-lived records the tenant writes again by itself.
import { prefixRangeEnd } from './etcd-driver.js';

/** The two KV calls a copy needs, as EtcdClient.kv makes them (and a fake can, in unit tests). */
export interface KVCaller {
  kv(method: 'Range' | 'Put' | 'DeleteRange', req: object): Promise<unknown>;
}

interface RangeResponse {
  header: { revision: string };
  kvs: { key: Buffer; value: Buffer; lease: string }[];
  more: boolean;
}

export interface CopyResult {
  /** Keys written to the target. */
  copied: number;
  /** Keys left behind because they hang on an etcd lease. */
  skippedLeased: number;
  /** The source revision the copy is a snapshot of. */
  revision: string;
}

export async function copyPrefix(source: KVCaller, target: KVCaller, prefix: string, pageSize = 500): Promise<CopyResult> {
  const end = prefixRangeEnd(prefix);
  await target.kv('DeleteRange', { key: Buffer.from(prefix), range_end: end });
  let from = Buffer.from(prefix);
  let revision: string | undefined;
  let copied = 0;
  let skippedLeased = 0;
  for (;;) {
    const page = (await source.kv('Range', { key: from, range_end: end, limit: pageSize, ...(revision ? { revision } : {}) })) as RangeResponse;
    revision ??= page.header.revision;
    for (const kv of page.kvs) {
      if (kv.lease !== '0' && kv.lease !== '') {
        skippedLeased++;
        continue;
      }
      await target.kv('Put', { key: kv.key, value: kv.value });
      copied++;
    }
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || !last) return { copied, skippedLeased, revision };
    from = Buffer.concat([Buffer.from(last.key), Buffer.from([0])]); // the smallest key after the last one read
  }
}
