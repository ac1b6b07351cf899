// The CCM's connection to the infra (management) cluster: the cloud-config's kubeconfig or the Pod's own
// ServiceAccount, one namespace, and an informer cache scoped to it, so a namespaced Role is all the CCM needs.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { InformerCache } from '../lib/controller/informer-cache.js';
import { Client } from '../lib/kube/client.js';
import { loadKubeConfig } from '../lib/kube/kubeconfig.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import type { ToolkitMetrics } from '../lib/observability/metrics.js';
import type { CloudConfig } from './config/cloud-config.js';

export interface InfraCluster {
  readonly client: Client;
  readonly cache: InformerCache;
  readonly namespace: string;
  close(): Promise<void>;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function infraKubeConfig(config: CloudConfig): KubeConfig {
  if (config.kubeconfig) return loadKubeConfig(config.kubeconfig);
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

export async function connectInfraCluster(config: CloudConfig, opts: { fieldManager: string; log: Logger; metrics: ToolkitMetrics }): Promise<InfraCluster> {
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = infraKubeConfig(config);
  } catch (err) {
    throw new Error(`cloud-config kubeconfig ${config.kubeconfig || '(in-cluster)'}: ${(err as Error).message}`, { cause: err });
  }
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  // Empty strings mean unset here, as in upstream's Go config.
  const namespace = [config.namespace, contextNamespace, config.kubeconfig ? undefined : inClusterNamespace()].find((n) => n !== undefined && n !== '');
  if (!namespace) throw new Error('cloud-config: no namespace, and the infra kubeconfig context names none; set namespace');
  const transport = await RestTransport.fromKubeConfig(kubeConfig, { metrics: opts.metrics, userAgent: opts.fieldManager, requestTimeoutMs: 15_000 });
  const mapper = new RestMapper(transport);
  const cache = new InformerCache({ transport, mapper, namespace, log: opts.log.child({ cluster: 'infra' }), metrics: opts.metrics });
  cache.start();
  return {
    client: new Client({ transport, mapper, fieldManager: opts.fieldManager, cache }),
    cache,
    namespace,
    async close() {
      await cache.stop();
      transport.close();
    },
  };
}
