// Connections to clusters other than the management cluster: each tenant through its `<cluster>-kubeconfig`
// Secret (key `value`), each external infra cluster through a kubeconfig Secret (key `kubeconfig`, optional
// `namespace`). A connection is made on first use, health-checked, rebuilt when its Secret's content changes
// (rotation), and closed when its Cluster goes away or it stays unhealthy.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { SECRET_TYPE } from '../apis/core.js';
import type { Client } from './client.js';
import { kubeConfigSourceFromString, type KubeConfigSource } from './kubeconfig-source.js';
import type { KubeObject, ObjectRef } from './object.js';

export interface ClusterConnection {
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** Builds a connection from a kubeconfig; `namespace` is the infra Secret's optional default namespace. */
export type ConnectFn<C extends ClusterConnection> = (kubeConfig: KubeConfigSource, info: { key: string; namespace: string | undefined }) => Promise<C>;

export interface ClusterAccessCacheOptions<C extends ClusterConnection> {
  /** Management-cluster client used to read the kubeconfig Secrets. */
  client: Client;
  connect: ConnectFn<C>;
  log?: Logger | undefined;
  healthCheckIntervalMs?: number;
  /** Consecutive failed health checks before the connection is dropped (and rebuilt on next use). */
  failureThreshold?: number;
}

export interface Secret extends KubeObject {
  data?: Record<string, string>;
}
export const TENANT_KUBECONFIG_KEY = 'value';
export const INFRA_KUBECONFIG_KEY = 'kubeconfig';
export const INFRA_NAMESPACE_KEY = 'namespace';

export function tenantKubeconfigSecretName(clusterName: string): string {
  return `${clusterName}-kubeconfig`;
}

interface Entry<C> {
  fingerprint: string;
  connection: Promise<C>;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

function decode(secret: Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export class ClusterAccessCache<C extends ClusterConnection> {
  private readonly entries = new Map<string, Entry<C>>();
  private closed = false;

  constructor(private readonly opts: ClusterAccessCacheOptions<C>) {}

  /** The connection to the tenant cluster of a Cluster API Cluster. */
  tenant(cluster: ObjectRef): Promise<C> {
    const secretRef = { namespace: cluster.namespace, name: tenantKubeconfigSecretName(cluster.name) };
    return this.get(`tenant:${cluster.namespace ?? ''}/${cluster.name}`, secretRef, (secret) => {
      const kubeconfig = decode(secret, TENANT_KUBECONFIG_KEY);
      return kubeconfig === undefined ? undefined : { kubeconfig, namespace: undefined };
    }, TENANT_KUBECONFIG_KEY);
  }

  /** The connection to an external infrastructure cluster named by a kubeconfig Secret. */
  infra(secretRef: ObjectRef): Promise<C> {
    return this.get(`infra:${secretRef.namespace ?? ''}/${secretRef.name}`, secretRef, (secret) => {
      const kubeconfig = decode(secret, INFRA_KUBECONFIG_KEY);
      return kubeconfig === undefined ? undefined : { kubeconfig, namespace: decode(secret, INFRA_NAMESPACE_KEY) };
    }, INFRA_KUBECONFIG_KEY);
  }

  /**
   * The connection through any kubeconfig Secret, `dataKey` naming the key that holds the kubeconfig (e.g. a hosted
   * control plane's own `<name>-admin-kubeconfig`, key `admin.conf`).
   */
  kubeconfigSecret(secretRef: ObjectRef, dataKey: string): Promise<C> {
    return this.get(`secret:${secretRef.namespace ?? ''}/${secretRef.name}#${dataKey}`, secretRef, (secret) => {
      const kubeconfig = decode(secret, dataKey);
      return kubeconfig === undefined ? undefined : { kubeconfig, namespace: undefined };
    }, dataKey);
  }

  forgetKubeconfigSecret(secretRef: ObjectRef, dataKey: string): Promise<void> {
    return this.drop(`secret:${secretRef.namespace ?? ''}/${secretRef.name}#${dataKey}`, 'kubeconfig secret removed');
  }

  /** Drops the tenant connection of a Cluster that is going away. */
  forgetTenant(cluster: ObjectRef): Promise<void> {
    return this.drop(`tenant:${cluster.namespace ?? ''}/${cluster.name}`, 'cluster removed');
  }

  forgetInfra(secretRef: ObjectRef): Promise<void> {
    return this.drop(`infra:${secretRef.namespace ?? ''}/${secretRef.name}`, 'infra secret removed');
  }

  /** Keys of the connections currently held, for tests and debugging. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.keys()].map((key) => this.drop(key, 'shutting down')));
  }

  private async get(
    key: string,
    secretRef: ObjectRef,
    read: (secret: Secret) => { kubeconfig: string; namespace: string | undefined } | undefined,
    dataKey: string,
  ): Promise<C> {
    if (this.closed) throw new Error('cluster access cache closed');
    const secret = await this.opts.client.get<Secret>(SECRET_TYPE, secretRef);
    const source = `Secret ${secretRef.namespace ?? ''}/${secretRef.name}`;
    if (!secret) throw new Error(`${source} not found`);
    const content = read(secret);
    if (!content) throw new Error(`${source} has no "${dataKey}" key`);
    const fingerprint = createHash('sha256').update(content.kubeconfig).update('\0').update(content.namespace ?? '').digest('hex');
    const existing = this.entries.get(key);
    if (existing?.fingerprint === fingerprint) return existing.connection;
    if (existing) await this.drop(key, 'kubeconfig changed');

    const kubeConfig = await kubeConfigSourceFromString(content.kubeconfig, source);
    const entry: Entry<C> = {
      fingerprint,
      connection: this.opts.connect(kubeConfig, { key, namespace: content.namespace }),
      failures: 0,
      timer: undefined,
    };
    this.entries.set(key, entry);
    try {
      await entry.connection;
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw new Error(`connect to cluster via ${source}: ${(err as Error).message}`, { cause: err });
    }
    entry.timer = setInterval(() => void this.check(key, entry), this.opts.healthCheckIntervalMs ?? 10_000);
    entry.timer.unref();
    this.opts.log?.info({ cluster: key }, 'connected to cluster');
    return entry.connection;
  }

  private async check(key: string, entry: Entry<C>): Promise<void> {
    const ok = await entry.connection.then((c) => c.healthy()).catch(() => false);
    if (this.entries.get(key) !== entry) return;
    entry.failures = ok ? 0 : entry.failures + 1;
    if (entry.failures >= (this.opts.failureThreshold ?? 3)) await this.drop(key, 'health checks failed');
  }

  private async drop(key: string, reason: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    clearInterval(entry.timer);
    this.opts.log?.info({ cluster: key, reason }, 'closed cluster connection');
    await entry.connection.then((c) => c.close()).catch(() => undefined);
  }
}
