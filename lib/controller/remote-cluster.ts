// A connection to another cluster with its own transport, informer cache and client: what the cluster access
// cache hands out for tenants and infra clusters, so remote reads are cached exactly like management reads.
import type { Logger } from 'pino';
import { Client } from '../kube/client.js';
import type { ClusterConnection } from '../kube/cluster-access-cache.js';
import type { KubeConfigSource } from '../kube/kubeconfig-source.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { RestTransport } from '../kube/rest-transport.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { InformerCache } from './informer-cache.js';

export interface RemoteCluster extends ClusterConnection {
  readonly client: Client;
  readonly cache: InformerCache;
  /** The default namespace from an infra kubeconfig Secret, if it names one. */
  readonly namespace: string | undefined;
}

export interface RemoteClusterOptions {
  fieldManager: string;
  namespace?: string | undefined;
  log?: Logger | undefined;
  metrics?: ToolkitMetrics | undefined;
}

export async function connectRemoteCluster(kubeConfig: KubeConfigSource, opts: RemoteClusterOptions): Promise<RemoteCluster> {
  const transport = await RestTransport.fromKubeConfig(kubeConfig, { metrics: opts.metrics, userAgent: opts.fieldManager, requestTimeoutMs: 15_000 });
  const mapper = new RestMapper(transport);
  const cache = new InformerCache({ transport, mapper, log: opts.log, metrics: opts.metrics });
  cache.start();
  const client = new Client({ transport, mapper, fieldManager: opts.fieldManager, cache });
  return {
    client,
    cache,
    namespace: opts.namespace,
    async healthy() {
      // /version is readable by every authenticated user, so it checks reachability without needing RBAC.
      await transport.request({ method: 'GET', path: '/version', timeoutMs: 5_000 });
      return true;
    },
    async close() {
      await cache.stop();
      transport.close();
    },
  };
}
