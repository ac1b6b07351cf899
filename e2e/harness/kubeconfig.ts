// Client-certificate kubeconfigs for the harness's clusters, in the file format kubectl and every
// Kubernetes component read.
import { stringify } from 'yaml';

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
