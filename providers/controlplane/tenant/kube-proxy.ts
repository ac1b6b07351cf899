// The kube-proxy addon as kubeadm installs it: ServiceAccount bound to system:node-proxier, the kube-proxy
// ConfigMap (KubeProxyConfiguration plus an in-cluster kubeconfig pointing at the tenant endpoint), the Role
// letting joining nodes read it, and the DaemonSet.
import { stringify } from 'yaml';
import { BOOTSTRAP_TOKEN_GROUP, clusterRoleBinding, configMapReader, KUBE_SYSTEM, type Manifest } from './manifest.js';

export interface KubeProxyFacts {
  /** https://host:port of the tenant apiserver as nodes reach it. */
  server: string;
  clusterCIDR: string;
  kubernetesVersion: string;
  imageRepository?: string | undefined;
  imageTag?: string | undefined;
}

export function kubeProxyObjects(f: KubeProxyFacts): Manifest[] {
  const labels = { 'k8s-app': 'kube-proxy' };
  const image = `${f.imageRepository ?? 'registry.k8s.io'}/kube-proxy:${f.imageTag ?? f.kubernetesVersion}`;
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    bindAddress: '0.0.0.0',
    clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
    clusterCIDR: f.clusterCIDR,
    mode: 'iptables',
  };
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default', cluster: { server: f.server, 'certificate-authority': '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' } }],
    contexts: [{ name: 'default', context: { cluster: 'default', namespace: 'default', user: 'default' } }],
    'current-context': 'default',
    users: [{ name: 'default', user: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } }],
  };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kube-proxy', namespace: KUBE_SYSTEM } },
    clusterRoleBinding('kubeadm:node-proxier', 'system:node-proxier', [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: KUBE_SYSTEM }]),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-proxy', namespace: KUBE_SYSTEM, labels: { app: 'kube-proxy' } },
      data: { 'config.conf': stringify(config), 'kubeconfig.conf': stringify(kubeconfig) },
    },
    ...configMapReader(KUBE_SYSTEM, 'kube-proxy', ['kube-proxy'], [{ kind: 'Group', name: BOOTSTRAP_TOKEN_GROUP }]),
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-proxy', namespace: KUBE_SYSTEM, labels },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'kube-proxy',
            priorityClassName: 'system-node-critical',
            hostNetwork: true,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: 'kube-proxy',
                image,
                command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'kube-proxy', mountPath: '/var/lib/kube-proxy' },
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'kube-proxy', configMap: { name: 'kube-proxy' } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
            ],
          },
        },
      },
    },
  ];
}
