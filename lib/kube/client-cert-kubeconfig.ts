// A kubeconfig with one cluster, one client-certificate user and one context, as kubeadm writes them: what a
// tenant control plane's Secrets and the test harness's clusters hand to kubectl and every Kubernetes component.
import { parse, stringify } from 'yaml';

export interface KubeconfigParams {
  clusterName: string;
  server: string;
  caPem: string;
  user: string;
  certPem: string;
  keyPem: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function renderKubeconfig(p: KubeconfigParams): string {
  const context = `${p.user}@${p.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: p.clusterName, cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) } }],
    users: [{ name: p.user, user: { 'client-certificate-data': b64(p.certPem), 'client-key-data': b64(p.keyPem) } }],
    contexts: [{ name: context, context: { cluster: p.clusterName, user: p.user } }],
    'current-context': context,
  });
}

export interface ParsedKubeconfig {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server?: string; 'certificate-authority-data'?: string } }[];
  users?: { name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

/** The current context's server, CA and client credentials; throws on a kubeconfig this module would not write. */
export function parseKubeconfig(text: string): ParsedKubeconfig {
  const raw = parse(text) as RawKubeconfig | null;
  const ctx = raw?.contexts?.find((c) => c.name === raw['current-context'])?.context;
  const cluster = raw?.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = raw?.users?.find((u) => u.name === ctx?.user)?.user;
  const decode = (s: string | undefined, what: string) => {
    if (!s) throw new Error(`kubeconfig lacks ${what}`);
    return Buffer.from(s, 'base64').toString('utf8');
  };
  if (!cluster?.server) throw new Error('kubeconfig lacks the current context server');
  return {
    server: cluster.server,
    caPem: decode(cluster['certificate-authority-data'], 'certificate-authority-data'),
    certPem: decode(user?.['client-certificate-data'], 'client-certificate-data'),
    keyPem: decode(user?.['client-key-data'], 'client-key-data'),
  };
}
