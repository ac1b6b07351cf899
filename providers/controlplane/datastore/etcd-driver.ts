// The etcd DataStore driver: each tenant gets the key prefix /<schema>/ and an etcd user (authenticated by the
// CN of its client certificate, so it has no password) whose one role may read and write only that prefix.
// Every step tolerates having been done before, so a crash between steps is repaired by the next reconcile.
// Isolation is real only when the etcd has auth enabled (with a root user, as Kamaji's etcd charts do):
// `authEnabled()` lets the DataStore reconciler say so.
import { EtcdClient, EtcdError, type EtcdClientOptions } from './etcd-client.js';

export interface TenantStorage {
  /** The etcd user: the CN of the tenant apiserver's etcd client certificate. */
  user: string;
  /** Names the prefix /<schema>/ and the role that grants it. */
  schema: string;
}

/** The tenant apiserver's --etcd-prefix, and the start of the range its role may touch. */
export function tenantPrefix(schema: string): string {
  return `/${schema}/`;
}

/** The first key after every key that starts with `prefix` (etcd's "range_end" for a prefix). */
export function prefixRangeEnd(prefix: string | Buffer): Buffer {
  const end = Buffer.from(prefix); // a copy: the caller's buffer stays untouched
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] ?? 0;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: the range runs to the end of the keyspace
}

const ALREADY_EXISTS = /already exists/;
const NOT_FOUND = /not found/;

function ignoring(pattern: RegExp): (err: unknown) => undefined {
  return (err) => {
    if (err instanceof EtcdError && pattern.test(err.details)) return undefined;
    throw err;
  };
}

export interface TenantGrant {
  /** The roles the user holds. */
  roles: string[];
  /** Whether the tenant's role grants exactly its prefix range. */
  prefixGranted: boolean;
}

export class EtcdDriver {
  private readonly client: EtcdClient;

  constructor(opts: EtcdClientOptions) {
    this.client = new EtcdClient(opts);
  }

  async authEnabled(): Promise<boolean> {
    const res = (await this.client.auth('AuthStatus', {})) as { enabled: boolean };
    return res.enabled;
  }

  /** Creates (or completes) the user, the role and its grant on the tenant's prefix. */
  async ensureTenant(t: TenantStorage): Promise<void> {
    const prefix = Buffer.from(tenantPrefix(t.schema));
    await this.client.auth('UserAdd', { name: t.user, password: '', options: { no_password: true } }).catch(ignoring(ALREADY_EXISTS));
    await this.client.auth('RoleAdd', { name: t.schema }).catch(ignoring(ALREADY_EXISTS));
    const grant = await this.grantOf(t);
    if (!grant.prefixGranted) {
      await this.client.auth('RoleGrantPermission', {
        name: t.schema,
        perm: { permType: 'READWRITE', key: prefix, range_end: prefixRangeEnd(tenantPrefix(t.schema)) },
      });
    }
    if (!grant.roles.includes(t.schema)) await this.client.auth('UserGrantRole', { user: t.user, role: t.schema });
  }

  /** Whether the user, its role and the role's grant on the prefix are all there: two reads, no write. */
  async tenantIntact(t: TenantStorage): Promise<boolean> {
    const grant = await this.grantOf(t);
    return grant.prefixGranted && grant.roles.includes(t.schema);
  }

  /** What etcd holds for the tenant; undefined when its user does not exist. */
  async grantOf(t: TenantStorage): Promise<TenantGrant> {
    const user = (await this.client.auth('UserGet', { name: t.user }).catch(ignoring(NOT_FOUND))) as { roles: string[] } | undefined;
    const role = (await this.client.auth('RoleGet', { role: t.schema }).catch(ignoring(NOT_FOUND))) as
      | { perm: { permType: string; key: Buffer; range_end: Buffer }[] }
      | undefined;
    const prefix = tenantPrefix(t.schema);
    const end = prefixRangeEnd(prefix);
    const prefixGranted = (role?.perm ?? []).some(
      (p) => p.permType === 'READWRITE' && Buffer.from(p.key).toString() === prefix && Buffer.from(p.range_end).equals(end),
    );
    return { roles: user?.roles ?? [], prefixGranted };
  }

  /**
   * Removes the user and role; with `deleteData`, every key under the prefix too. Access goes first: the tenant's
   * apiserver may still be running and would otherwise write new keys behind the deletion.
   */
  async removeTenant(t: TenantStorage, opts: { deleteData: boolean }): Promise<{ deletedKeys: number }> {
    await this.client.auth('UserDelete', { name: t.user }).catch(ignoring(NOT_FOUND));
    await this.client.auth('RoleDelete', { role: t.schema }).catch(ignoring(NOT_FOUND));
    return { deletedKeys: opts.deleteData ? await this.deletePrefix(tenantPrefix(t.schema)) : 0 };
  }

  async deletePrefix(prefix: string): Promise<number> {
    const res = (await this.client.kv('DeleteRange', { key: Buffer.from(prefix), range_end: prefixRangeEnd(prefix) })) as { deleted: string };
    return Number(res.deleted);
  }

  async countPrefix(prefix: string): Promise<number> {
    const res = (await this.client.kv('Range', { key: Buffer.from(prefix), range_end: prefixRangeEnd(prefix), count_only: true })) as { count: string };
    return Number(res.count);
  }

  /** The raw KV calls, for copying a tenant's keys to another DataStore (etcd-copy.ts). */
  get kv(): EtcdClient {
    return this.client;
  }

  close(): void {
    this.client.close();
  }
}
