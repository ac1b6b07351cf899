// The kubeadm ConfigMaps a joining node reads: kube-system/kubeadm-config (ClusterConfiguration: version,
// endpoint, networking) and kube-system/kubelet-config (the KubeletConfiguration every kubelet starts from,
// after the user's JSON patches), each with the Role kubeadm creates so bootstrap tokens and nodes may read it.
import { stringify } from 'yaml';
import { applyJsonPatch, type JsonPatchOp } from './json-patch.js';
import { BOOTSTRAP_TOKEN_GROUP, configMapReader, KUBE_SYSTEM, NODES_GROUP, type Manifest } from './manifest.js';

export interface ClusterFacts {
  clusterName: string;
  kubernetesVersion: string;
  /** host:port the nodes use for the apiserver. */
  controlPlaneEndpoint: string;
  serviceSubnet: string;
  podSubnet: string;
  dnsDomain: string;
  dnsServiceIPs: string[];
  certSANs: string[];
  kubelet?: { configurationJSONPatches?: JsonPatchOp[] | undefined; cgroupfs?: string | undefined } | undefined;
}

export const KUBEADM_CONFIG = 'kubeadm-config';
export const KUBELET_CONFIG = 'kubelet-config';

export function clusterConfiguration(f: ClusterFacts): Record<string, unknown> {
  return {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'ClusterConfiguration',
    clusterName: f.clusterName,
    kubernetesVersion: f.kubernetesVersion,
    controlPlaneEndpoint: f.controlPlaneEndpoint,
    certificatesDir: '/etc/kubernetes/pki',
    imageRepository: 'registry.k8s.io',
    networking: { dnsDomain: f.dnsDomain, podSubnet: f.podSubnet, serviceSubnet: f.serviceSubnet },
    apiServer: { certSANs: f.certSANs },
    dns: {},
    proxy: {},
    etcd: { external: { endpoints: [] } },
  };
}

export function kubeletConfiguration(f: ClusterFacts): Record<string, unknown> {
  const base = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: '0s' },
      x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' },
    },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '0s', cacheUnauthorizedTTL: '0s' } },
    cgroupDriver: f.kubelet?.cgroupfs ?? 'systemd',
    clusterDNS: f.dnsServiceIPs,
    clusterDomain: f.dnsDomain,
    containerRuntimeEndpoint: '',
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    rotateCertificates: true,
    staticPodPath: '/etc/kubernetes/manifests',
    resolvConf: '/run/systemd/resolve/resolv.conf',
  };
  return applyJsonPatch(base, f.kubelet?.configurationJSONPatches ?? []);
}

export function kubeadmConfigObjects(f: ClusterFacts): Manifest[] {
  const readers = [
    { kind: 'Group' as const, name: BOOTSTRAP_TOKEN_GROUP },
    { kind: 'Group' as const, name: NODES_GROUP },
  ];
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: KUBEADM_CONFIG, namespace: KUBE_SYSTEM },
      data: { ClusterConfiguration: stringify(clusterConfiguration(f)) },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: KUBELET_CONFIG, namespace: KUBE_SYSTEM },
      data: { kubelet: stringify(kubeletConfiguration(f)) },
    },
    ...configMapReader(KUBE_SYSTEM, 'kubeadm:nodes-kubeadm-config', [KUBEADM_CONFIG], readers),
    ...configMapReader(KUBE_SYSTEM, 'kubeadm:kubelet-config', [KUBELET_CONFIG], readers),
  ];
}
