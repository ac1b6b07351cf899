// What the kube-proxy image's command line and KubeProxyConfiguration mean to the service proxy run on a tenant
// node (kube-proxy.ts): the kubeconfig to connect with, the Node whose addresses NodePorts listen on, and where
// the userspace proxy differs from kube-proxy's modes. Pure, so the parsing has table tests.
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Node } from '../../node-object.js';

export interface KubeProxyFlags {
  config: string | undefined;
  hostnameOverride: string | undefined;
  kubeconfig: string | undefined;
}

// Flags that change nothing here: log verbosity, and the proxy mode (always the userspace proxy).
const IGNORED_FLAGS = new Set(['v', 'proxy-mode', 'logging-format']);

/** kube-proxy's flags as kubeadm's DaemonSet and hand-written manifests give them; anything else is refused. */
export function parseKubeProxyFlags(args: readonly string[]): KubeProxyFlags {
  const flags: KubeProxyFlags = { config: undefined, hostnameOverride: undefined, kubeconfig: undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`kube-proxy: unexpected argument "${arg}"`);
    const name = m[1] ?? '';
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new Error(`kube-proxy: flag --${name} needs a value`);
    if (name === 'config') flags.config = value;
    else if (name === 'hostname-override') flags.hostnameOverride = value;
    else if (name === 'kubeconfig') flags.kubeconfig = value;
    else if (!IGNORED_FLAGS.has(name)) {
      throw new Error(`kube-proxy: flag --${name} is not supported by kvcloud's service proxy (it takes --config, --hostname-override, --kubeconfig)`);
    }
  }
  return flags;
}

export interface KubeProxySettings {
  /** Absolute path of the kubeconfig; undefined means the in-cluster ServiceAccount. */
  kubeconfig: string | undefined;
  /** The Node name to read addresses from. */
  nodeName: string;
}

interface KubeProxyConfiguration {
  apiVersion?: string;
  kind?: string;
  clientConnection?: { kubeconfig?: string };
  hostnameOverride?: string;
}

/**
 * Combines flags and the configuration file as kube-proxy does: the file's kubeconfig over --kubeconfig (relative
 * to the file), --hostname-override over the file's (kubeadm passes the Node name that way), then `hostname`.
 */
export function kubeProxySettings(flags: KubeProxyFlags, configText: string | undefined, hostname: string): KubeProxySettings {
  let config: KubeProxyConfiguration = {};
  if (configText !== undefined) {
    const parsed = parse(configText) as unknown;
    if (typeof parsed !== 'object' || parsed === null) throw new Error(`kube-proxy: ${flags.config ?? 'config'} is not a KubeProxyConfiguration`);
    config = parsed;
    if (config.kind !== 'KubeProxyConfiguration') {
      throw new Error(`kube-proxy: ${flags.config ?? 'config'} holds kind "${config.kind ?? ''}", expected KubeProxyConfiguration`);
    }
  }
  const fromFile = config.clientConnection?.kubeconfig;
  const kubeconfig = fromFile ? resolve(dirname(flags.config ?? '/'), fromFile) : flags.kubeconfig;
  const nodeName = (flags.hostnameOverride ?? config.hostnameOverride ?? hostname).trim().toLowerCase();
  if (nodeName === '') throw new Error('kube-proxy: no node name (--hostname-override is empty)');
  return { kubeconfig, nodeName };
}

/** Where NodePorts listen: the Node's IPv4 InternalIPs, as kube-proxy's default nodePortAddresses "primary". */
export function nodePortAddresses(node: Node): string[] {
  const ips = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && /^\d+\.\d+\.\d+\.\d+$/.test(a.address)).map((a) => a.address);
  if (ips.length === 0) throw new Error(`kube-proxy: Node ${node.metadata.name ?? ''} has no IPv4 InternalIP to serve NodePorts on`);
  return ips;
}

interface KubeconfigUser {
  name?: string;
  user?: { token?: string; tokenFile?: string; 'token-file'?: string };
}

/**
 * The kubeconfig with each user's token file read into `token`: kubeadm's kube-proxy kubeconfig names the
 * ServiceAccount token as `tokenFile` (client-go's key), which client-node does not read.
 */
export function withTokenFilesRead(kubeconfigText: string, readToken: (path: string) => string): Record<string, unknown> {
  const parsed = parse(kubeconfigText) as unknown;
  if (typeof parsed !== 'object' || parsed === null) throw new Error('kube-proxy: the kubeconfig is not a YAML mapping');
  const config = parsed as { users?: KubeconfigUser[] };
  for (const entry of config.users ?? []) {
    const user = entry.user;
    const file = user?.tokenFile ?? user?.['token-file'];
    if (!user || user.token !== undefined || file === undefined) continue;
    user.token = readToken(file).trim();
    delete user.tokenFile;
    delete user['token-file'];
  }
  return config;
}
