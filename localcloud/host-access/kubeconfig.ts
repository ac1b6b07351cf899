// Kubeconfigs for the host shell. The apiservers of the local cloud listen on addresses that exist only inside its
// network namespace; the host reaches them through a forwarded port on 127.0.0.1 (forward.ts). The copy handed to
// the user points at that port and names the original address as `tls-server-name`, so kubectl still verifies the
// serving certificate against the address it was issued for, and no certificate needs 127.0.0.1 among its SANs.
import { parse, stringify } from 'yaml';

interface NamedCluster {
  name: string;
  cluster: { server: string; 'tls-server-name'?: string; [key: string]: unknown };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string } }[];
  clusters?: NamedCluster[];
  [key: string]: unknown;
}

export interface ApiServerAddress {
  host: string;
  port: number;
}

function currentCluster(config: KubeconfigFile, source: string): NamedCluster {
  const contextName = config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName) ?? (contextName === undefined && config.contexts?.length === 1 ? config.contexts[0] : undefined);
  if (!context) throw new Error(`${source}: no current context${contextName ? ` "${contextName}"` : ''}`);
  const cluster = config.clusters?.find((c) => c.name === context.context.cluster);
  if (!cluster?.cluster.server) throw new Error(`${source}: context "${context.name}" names cluster "${context.context.cluster}", which has no server`);
  return cluster;
}

function parseKubeconfig(text: string, source: string): KubeconfigFile {
  const config = parse(text) as KubeconfigFile | null;
  if (config === null || typeof config !== 'object') throw new Error(`${source}: not a kubeconfig`);
  return config;
}

/** Where the current context's apiserver listens: host (IPv6 without brackets) and port (443 when not given). */
export function apiServerAddress(kubeconfig: string, source = 'kubeconfig'): ApiServerAddress {
  const server = currentCluster(parseKubeconfig(kubeconfig, source), source).cluster.server;
  let url: URL;
  try {
    url = new URL(server);
  } catch (err) {
    throw new Error(`${source}: server "${server}" is not a URL`, { cause: err });
  }
  if (url.protocol !== 'https:') throw new Error(`${source}: server "${server}" is not https`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 443 : Number(url.port) };
}

/**
 * The kubeconfig with its current context's server moved to https://127.0.0.1:<port>, verifying the serving
 * certificate for the original host (an explicit tls-server-name is kept). Everything else is unchanged.
 */
export function hostKubeconfig(kubeconfig: string, port: number, source = 'kubeconfig'): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${source}: forwarded port ${String(port)} is not a TCP port`);
  const config = parseKubeconfig(kubeconfig, source);
  const { host } = apiServerAddress(kubeconfig, source);
  const cluster = currentCluster(config, source).cluster;
  cluster['tls-server-name'] ??= host;
  cluster.server = `https://127.0.0.1:${String(port)}`;
  return stringify(config);
}
