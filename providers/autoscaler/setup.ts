// Wires the externalgrpc server into a toolkit Manager: its flags, the CloudProvider over the manager's cached
// client, Events and metrics registry, and the server as a leader-only runnable whose readiness says whether this
// replica serves, so a Service in front of several replicas reaches the one that may write; and the controller of
// the per-Cluster cluster-autoscaler Deployments.
import { readFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import type { FlagValue } from '../../lib/controller/manager-flags.js';
import type { Manager } from '../../lib/controller/manager.js';
import { MACHINE_TYPE } from '../../lib/apis/cluster-api.js';
import { CloudProvider, MACHINE_PROVIDER_ID_INDEX, machineProviderIDs } from './cloud-provider.js';
import { setupClusterAutoscalerController } from './cluster-autoscaler-controller.js';
import { DEFAULT_CLUSTER_AUTOSCALER_IMAGE, type ClusterAutoscalerSettings } from './cluster-autoscaler-objects.js';
import { AutoscalerMetrics } from './metrics.js';
import { startServer, type RunningServer, type ServerTLS } from './server.js';

export const AUTOSCALER_OPTIONS = {
  'grpc-bind-address': { type: 'string', default: ':8086' },
  'tls-cert-file': { type: 'string' },
  'tls-private-key-file': { type: 'string' },
  'client-ca-file': { type: 'string' },
  insecure: { type: 'boolean' },
  cluster: { type: 'string', multiple: true },
  // The per-Cluster cluster-autoscaler Deployments (CLUSTER_AUTOSCALER_ANNOTATION): their image and extra flags.
  'cluster-autoscaler-image': { type: 'string', default: DEFAULT_CLUSTER_AUTOSCALER_IMAGE },
  'cluster-autoscaler-arg': { type: 'string', multiple: true },
} as const satisfies ParseArgsOptionsConfig;

export interface AutoscalerConfig {
  /** "host:port" for grpc-js; ":8086" listens on every address. */
  address: string;
  tlsFiles: { cert: string; key: string; clientCA: string } | undefined;
  /** Cluster names whose MachineDeployments may be node groups; all when undefined. */
  clusters: string[] | undefined;
  clusterAutoscaler: ClusterAutoscalerSettings;
}

/** The autoscaler's own flags; mutual TLS unless --insecure says otherwise, never by omission. */
export function autoscalerConfig(values: Record<string, FlagValue>): AutoscalerConfig {
  const text = (name: string): string | undefined => (typeof values[name] === 'string' ? values[name] : undefined);
  const address = text('grpc-bind-address') ?? ':8086';
  const files = { cert: text('tls-cert-file'), key: text('tls-private-key-file'), clientCA: text('client-ca-file') };
  const given = Object.values(files).filter((f) => f !== undefined).length;
  if (values.insecure === true) {
    if (given > 0) throw new Error('--insecure and the TLS file flags exclude each other');
  } else if (given < 3) {
    throw new Error('the externalgrpc server needs --tls-cert-file, --tls-private-key-file and --client-ca-file (or --insecure for a local test)');
  }
  const list = (name: string): string[] => {
    const v = values[name];
    return Array.isArray(v) ? v.filter((c): c is string => typeof c === 'string' && c !== '') : [];
  };
  const clusters = list('cluster');
  return {
    address: address.startsWith(':') ? `0.0.0.0${address}` : address,
    tlsFiles: files.cert && files.key && files.clientCA ? { cert: files.cert, key: files.key, clientCA: files.clientCA } : undefined,
    clusters: clusters.length > 0 ? clusters : undefined,
    clusterAutoscaler: { image: text('cluster-autoscaler-image') ?? DEFAULT_CLUSTER_AUTOSCALER_IMAGE, extraArgs: list('cluster-autoscaler-arg') },
  };
}

export interface AutoscalerHandle {
  /** The port the server listens on once this replica serves. */
  port(): number | undefined;
}

export async function setupAutoscaler(manager: Manager, config: AutoscalerConfig): Promise<AutoscalerHandle> {
  let tls: ServerTLS | undefined;
  if (config.tlsFiles) {
    // Read once here so a missing or unreadable file stops the start with its name; the server reads them again as
    // they change.
    const { cert, key, clientCA } = config.tlsFiles;
    await Promise.all([readFile(cert), readFile(key), readFile(clientCA)]);
    tls = { certFile: cert, keyFile: key, clientCAFile: clientCA };
  }
  const metrics = new AutoscalerMetrics(manager.metrics.registry);
  const log = manager.log.child({ component: 'externalgrpc' });
  await manager.cache.addIndex(MACHINE_TYPE, MACHINE_PROVIDER_ID_INDEX, machineProviderIDs);
  const provider = new CloudProvider({ client: manager.client, index: manager.cache, recorder: manager.recorder, metrics, log, scope: { namespace: manager.cache.namespace, clusters: config.clusters } });
  let server: RunningServer | undefined;
  manager.add({
    name: 'externalgrpc-server',
    needLeaderElection: true,
    start: async () => {
      server = await startServer({ address: config.address, tls, provider, metrics, log });
    },
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
  });
  setupClusterAutoscalerController(manager, config.clusterAutoscaler);
  manager.addReadyCheck({ name: 'externalgrpc', check: () => (server ? undefined : 'not serving externalgrpc (not the leader yet)') });
  return { port: () => server?.port };
}
